-- What the people caring for a child record and tell the family (the "five musts"): updates on study and
-- daily life, test scores, good news, monthly summaries, and the teacher's or proxy parent's talk records
-- (谈心). Everything here is part of the child's record and is erased with it.
CREATE TABLE care_entries (
    id           INTEGER PRIMARY KEY,
    child_id     INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    author_id    INTEGER REFERENCES people (id),
    author_role  TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('update', 'score', 'goodnews', 'summary', 'talk')),
    occurred_on  TEXT NOT NULL,           -- the local date it is about: the test's, the talk's, or today
    period       TEXT,                    -- 'YYYY-MM': the month a summary covers
    body         TEXT NOT NULL,           -- JSON: the kind's fields (bot.forms)
    created_at   TEXT NOT NULL            -- UTC
);
CREATE INDEX care_entries_child ON care_entries (child_id, occurred_on, id);

-- Photos and voice notes of an entry. Kept by the channel's file id (to send them again) and copied under the
-- data directory (stored_path, relative to it) so the record outlives the channel.
CREATE TABLE care_media (
    id              INTEGER PRIMARY KEY,
    entry_id        INTEGER NOT NULL REFERENCES care_entries (id) ON DELETE CASCADE,
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
    -- The same photo sent twice for a child (an album forwarded again) is stored once.
    UNIQUE (child_id, file_unique_id)
);
CREATE INDEX care_media_entry ON care_media (entry_id, position);
CREATE INDEX care_media_unfetched ON care_media (id) WHERE stored_path IS NULL;

-- Who was sent an entry, and whether they pressed "Received".
CREATE TABLE care_deliveries (
    id               INTEGER PRIMARY KEY,
    entry_id         INTEGER NOT NULL REFERENCES care_entries (id) ON DELETE CASCADE,
    recipient_id     INTEGER NOT NULL REFERENCES people (id),
    acknowledged_at  TEXT,
    UNIQUE (entry_id, recipient_id)
);

-- A form being filled in (one per person): it survives a restart, and an album's photos, which arrive as
-- separate messages, gather in it. Deleted when sent or cancelled.
CREATE TABLE care_drafts (
    person_id   INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    child_id    INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,            -- JSON: fields so far, media, the field awaited, the panel message
    updated_at  TEXT NOT NULL
);
