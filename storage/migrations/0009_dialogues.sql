-- What each person is in the middle of (relay mode, /newchild, a record edit, /import, a care form, naming a
-- calendar task): one row per person, so a restart or a crash continues it exactly where it was. A dialogue
-- about a child goes with the child's record when it is erased; one about a person goes with the person.
CREATE TABLE dialogues (
    person_id   INTEGER PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    child_id    INTEGER REFERENCES children(id) ON DELETE CASCADE,
    ttl_seconds INTEGER NOT NULL,
    expires_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX dialogues_child ON dialogues (child_id) WHERE child_id IS NOT NULL;
