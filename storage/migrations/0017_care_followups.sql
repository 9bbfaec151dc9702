-- A task of the care calendar for one person about one child, outside the school's recurring tasks: when a parent
-- or guardian says no to the data rules or takes their agreement back, the class teacher is asked to talk with the
-- family (issue 14), and it stays on their /calendar until they mark it done. It is about the child, so it goes
-- with the child's record when that is erased. One open task per person and child for each reason, however often
-- the family says no.
CREATE TABLE care_followups (
    id          INTEGER PRIMARY KEY,
    child_id    INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    person_id   INTEGER NOT NULL REFERENCES people (id),
    reason      TEXT NOT NULL CHECK (reason IN ('consent')),
    created_at  TEXT NOT NULL,
    done_at     TEXT
);
CREATE UNIQUE INDEX care_followups_open ON care_followups (child_id, person_id, reason) WHERE done_at IS NULL;
CREATE INDEX care_followups_person ON care_followups (person_id) WHERE done_at IS NULL;
