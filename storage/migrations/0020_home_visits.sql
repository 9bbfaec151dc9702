-- 家访: a home visit becomes a seventh kind of care entry, 'visit'. Unlike the other kinds it is staff-only unless
-- its author marks it for the family, so each entry now says whether the family may read it (for_family): the
-- timeline, /mydata and deliveries filter on it in SQL rather than on a field inside the JSON body. Every entry
-- written before is one the family could read, hence the default 1.
-- SQLite cannot change a CHECK in place, so care_entries is rebuilt as in 0018; its media and deliveries are
-- rebuilt with it, because dropping the old care_entries while they still point at it would cascade and delete
-- them. Every row and id is copied as it is; children go before their parent.
CREATE TABLE care_entries_new (
    id           INTEGER PRIMARY KEY,
    child_id     INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    author_id    INTEGER REFERENCES people (id),
    author_role  TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('update', 'score', 'goodnews', 'summary', 'talk', 'letter', 'visit')),
    occurred_on  TEXT NOT NULL,           -- the local date it is about: the test's, the talk's, the visit's, or today
    period       TEXT,                    -- 'YYYY-MM': the month a summary covers
    body         TEXT NOT NULL,           -- JSON: the kind's fields (bot.musts.forms)
    created_at   TEXT NOT NULL,           -- UTC
    for_family   INTEGER NOT NULL DEFAULT 1 CHECK (for_family IN (0, 1))  -- 0: staff only (a visit not shared)
);
INSERT INTO care_entries_new (id, child_id, author_id, author_role, kind, occurred_on, period, body, created_at)
    SELECT id, child_id, author_id, author_role, kind, occurred_on, period, body, created_at FROM care_entries;

CREATE TABLE care_media_new (
    id              INTEGER PRIMARY KEY,
    entry_id        INTEGER NOT NULL REFERENCES care_entries_new (id) ON DELETE CASCADE,
    child_id        INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('photo', 'voice')),
    file_id         TEXT NOT NULL,
    file_unique_id  TEXT NOT NULL,
    size            INTEGER,
    stored_path     TEXT,
    fetch_attempts  INTEGER NOT NULL DEFAULT 0,
    fetch_error     TEXT,
    fetch_after     TEXT,                 -- UTC; a failed copy waits longer after each try
    UNIQUE (child_id, file_unique_id)
);
INSERT INTO care_media_new (id, entry_id, child_id, position, kind, file_id, file_unique_id, size, stored_path,
                            fetch_attempts, fetch_error, fetch_after)
    SELECT id, entry_id, child_id, position, kind, file_id, file_unique_id, size, stored_path, fetch_attempts,
           fetch_error, fetch_after FROM care_media;

CREATE TABLE care_deliveries_new (
    id               INTEGER PRIMARY KEY,
    entry_id         INTEGER NOT NULL REFERENCES care_entries_new (id) ON DELETE CASCADE,
    recipient_id     INTEGER NOT NULL REFERENCES people (id),
    acknowledged_at  TEXT,
    UNIQUE (entry_id, recipient_id)
);
INSERT INTO care_deliveries_new (id, entry_id, recipient_id, acknowledged_at)
    SELECT id, entry_id, recipient_id, acknowledged_at FROM care_deliveries;

DROP TABLE care_media;
DROP TABLE care_deliveries;
DROP TABLE care_entries;
-- Renaming the parent also renames the references to it in the new media and deliveries tables.
ALTER TABLE care_entries_new RENAME TO care_entries;
ALTER TABLE care_media_new RENAME TO care_media;
ALTER TABLE care_deliveries_new RENAME TO care_deliveries;
-- The indexes of 0005 (recreated by 0018) went with the old tables.
CREATE INDEX care_entries_child ON care_entries (child_id, occurred_on, id);
CREATE INDEX care_media_entry ON care_media (entry_id, position);
CREATE INDEX care_media_unfetched ON care_media (id) WHERE stored_path IS NULL;
