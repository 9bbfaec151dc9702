-- 委托照护书面告知 (《未成年人保护法》 Art. 23): parents working away tell the school and the village committee in
-- writing who cares for the child. Each row is one parent's or guardian's confirmation of the notice as generated
-- from the record at that moment: `fields` keeps the values confirmed (JSON), so the copy the class teacher and the
-- village's child director open is the one confirmed, and `fields_hash` tells at a glance whether the record still
-- says the same (a changed record needs a new confirmation). Erasing the child erases its notices.
CREATE TABLE entrusted_notices (
    id            INTEGER PRIMARY KEY,
    child_id      INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    person_id     INTEGER NOT NULL REFERENCES people (id),
    role          TEXT NOT NULL,          -- parent | guardian: in which role it was confirmed
    confirmed_at  TEXT NOT NULL,          -- UTC
    fields_hash   TEXT NOT NULL,          -- bot.records.entrusted.fields_hash of `fields`
    fields        TEXT NOT NULL           -- JSON: field key → stored value, as confirmed
);
CREATE INDEX entrusted_notices_child ON entrusted_notices (child_id, id);
