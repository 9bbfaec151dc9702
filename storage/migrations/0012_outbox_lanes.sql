-- Delivery that sends the right message first, to people still entitled to it (issue 12).
-- lane: 0 safety (never held for quiet hours), 1 interactive (relays, answers, notices caused by a person's
-- action), 2 time-bound reminders, 3 bulk (digests, class-wide notices, calendar tasks); served in that order.
-- held_at: when the sender last found the recipient in their quiet hours and moved not_before to their end; a
-- change of the recipient's preferences after that moment makes the row due again, to be decided afresh.
-- needs_consent: a row about a child that goes to family or a proxy parent only while consent stands.
-- 'withdrawn': the recipient no longer reaches the child, or consent was withdrawn; nobody is told.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt. Dropping the old table deletes
-- through the foreign keys (relay_messages cascades), so that map is kept aside and put back.
CREATE TABLE outbox_new (
    id                   INTEGER PRIMARY KEY,
    dedupe_key           TEXT NOT NULL UNIQUE,
    channel              TEXT NOT NULL,
    recipient            TEXT NOT NULL,
    person_id            INTEGER,
    kind                 TEXT NOT NULL,
    payload              TEXT NOT NULL,
    urgent               INTEGER NOT NULL DEFAULT 0,
    state                TEXT NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'leased', 'sent', 'undeliverable', 'parked', 'withdrawn')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    not_before           TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    sent_at              TEXT,
    external_message_id  TEXT,
    error                TEXT,
    notify_person_id     INTEGER,
    child_id             INTEGER REFERENCES children (id) ON DELETE CASCADE,
    lane                 INTEGER NOT NULL DEFAULT 1 CHECK (lane BETWEEN 0 AND 3),
    held_at              TEXT,
    needs_consent        INTEGER NOT NULL DEFAULT 1
);

INSERT INTO outbox_new (id, dedupe_key, channel, recipient, person_id, kind, payload, urgent, state, attempts,
                        not_before, created_at, sent_at, external_message_id, error, notify_person_id, child_id,
                        lane)
SELECT id, dedupe_key, channel, recipient, person_id, kind, payload, urgent, state, attempts, not_before,
       created_at, sent_at, external_message_id, error, notify_person_id, child_id,
       CASE WHEN dedupe_key GLOB 'video:*' THEN 2
            WHEN dedupe_key GLOB 'cal:*' THEN 3
            WHEN urgent = 1 THEN 0
            ELSE 1 END
FROM outbox;

CREATE TEMP TABLE kept_relay_messages AS SELECT * FROM relay_messages;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
INSERT OR IGNORE INTO relay_messages SELECT * FROM kept_relay_messages;
DROP TABLE kept_relay_messages;

CREATE INDEX outbox_due ON outbox (not_before, id) WHERE state = 'pending';
CREATE INDEX outbox_state ON outbox (state);
-- Within a lane each recipient's messages go out in order: the sender looks at the oldest pending one per
-- recipient, lane and urgency.
CREATE INDEX outbox_queue ON outbox (recipient, channel, lane, urgent, id) WHERE state = 'pending';
CREATE INDEX outbox_delivered ON outbox (recipient, external_message_id) WHERE external_message_id IS NOT NULL;
-- Ending a person's pending rows about a child (a role removed, consent withdrawn).
CREATE INDEX outbox_pending_child ON outbox (child_id, person_id) WHERE state = 'pending';
