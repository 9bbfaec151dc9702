-- Everything the bot sends to someone other than the person it is answering waits here until it is
-- delivered or known undeliverable; rows are written in the same transaction as the change that causes them.
CREATE TABLE outbox (
    id                   INTEGER PRIMARY KEY,
    dedupe_key           TEXT NOT NULL UNIQUE,
    channel              TEXT NOT NULL,
    recipient            TEXT NOT NULL,           -- the chat on that channel
    person_id            INTEGER,                 -- the recipient, when a known person (quiet hours, language)
    kind                 TEXT NOT NULL,           -- text, copy, media …: what the transport does
    payload              TEXT NOT NULL,           -- JSON for the transport
    urgent               INTEGER NOT NULL DEFAULT 0,
    state                TEXT NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'leased', 'sent', 'undeliverable', 'parked')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    not_before           TEXT NOT NULL,           -- UTC; quiet hours, backoff and flood waits move it
    created_at           TEXT NOT NULL,
    sent_at              TEXT,
    external_message_id  TEXT,                    -- the channel's id of what was delivered
    error                TEXT,                    -- the class of the last failure, never content
    notify_person_id     INTEGER,                 -- who is told when it cannot be delivered
    child_id             INTEGER REFERENCES children (id) ON DELETE CASCADE
);
CREATE INDEX outbox_due ON outbox (not_before, id) WHERE state = 'pending';
CREATE INDEX outbox_state ON outbox (state);
-- Each recipient's messages go out in order: the sender looks only at the oldest pending one per recipient.
CREATE INDEX outbox_queue ON outbox (recipient, urgent, id) WHERE state = 'pending';

-- Whether a person can be reached on a channel: blocked the bot, never started it, or fine.
CREATE TABLE reachability (
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    reachable    INTEGER NOT NULL,
    reason       TEXT,
    changed_at   TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);

-- Quiet hours, in the person's own time zone (user_preferences.timezone).
ALTER TABLE user_preferences ADD COLUMN quiet_start TEXT;  -- 'HH:MM', NULL: the default
ALTER TABLE user_preferences ADD COLUMN quiet_end TEXT;
ALTER TABLE user_preferences ADD COLUMN quiet_off INTEGER NOT NULL DEFAULT 0;

-- Relayed messages between a child's parents and carers: each original, where it went, and whether it
-- was acknowledged. Replies find their way back through delivered_outbox_id; kept with the child's record.
CREATE TABLE relays (
    id                  INTEGER PRIMARY KEY,
    child_id            INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    author_id           INTEGER NOT NULL REFERENCES people (id),
    recipient_id        INTEGER NOT NULL REFERENCES people (id),
    source_chat         TEXT NOT NULL,
    source_message_id   TEXT NOT NULL,
    content_kind        TEXT NOT NULL,
    text                TEXT,
    file_id             TEXT,
    in_reply_to         INTEGER REFERENCES relays (id) ON DELETE SET NULL,
    outbox_id           INTEGER REFERENCES outbox (id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL,
    acknowledged_at     TEXT
);
CREATE INDEX relays_child ON relays (child_id, id);
CREATE INDEX relays_outbox ON relays (outbox_id);
