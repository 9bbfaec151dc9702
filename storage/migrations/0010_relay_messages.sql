-- Which outbox rows carry each relay (the header above a sticker, the copy, the rest of a long caption), written
-- with them in the relay's transaction. The sender writes on each row the message it became
-- (outbox.external_message_id, indexed by 0004), so a reply to any of them finds its relay through this map.
CREATE TABLE relay_messages (
    outbox_id  INTEGER PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    relay_id   INTEGER NOT NULL REFERENCES relays (id) ON DELETE CASCADE
);
CREATE INDEX relay_messages_relay ON relay_messages (relay_id);

-- Relays stored before: their rows were found by the dedupe key "relay:<relay id>:<part>", read once more here.
INSERT OR IGNORE INTO relay_messages (outbox_id, relay_id)
SELECT o.id, r.id FROM outbox o
JOIN relays r ON r.id = CAST(substr(o.dedupe_key, 7, instr(substr(o.dedupe_key, 7), ':') - 1) AS INTEGER)
WHERE o.dedupe_key LIKE 'relay:%';

-- relays.outbox_id (the last row of each relay) is no longer written nor read.
DROP INDEX relays_outbox;

-- The same message handed over twice (its update handled again after a crash) is relayed once.
CREATE INDEX relays_source ON relays (source_chat, source_message_id);
