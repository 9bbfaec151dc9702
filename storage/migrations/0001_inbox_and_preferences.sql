-- Every update received from a channel, stored before its offset is confirmed, so none is lost.
-- The payload is cleared once handled: the row stays only to recognise a redelivered update.
CREATE TABLE inbox (
    update_id    INTEGER PRIMARY KEY,
    payload      TEXT,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    received_at  TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX inbox_pending ON inbox (update_id) WHERE state = 'pending';

-- What a person chose for themselves: interface language and time zone.
CREATE TABLE user_preferences (
    user_id     INTEGER PRIMARY KEY,
    locale      TEXT,
    timezone    TEXT,
    updated_at  TEXT NOT NULL
);
