-- Class-wide notices (家长会通知, 放假通知): a teacher writes once and every family of the class gets it with a
-- "收到" button (bot.class_notices). Each copy is a receipt row, so the teacher sees which families have read it
-- and can remind the rest, once (`reminded_at`), and a restart loses nothing.
CREATE TABLE class_notices (
    id           INTEGER PRIMARY KEY,
    school_id    INTEGER NOT NULL REFERENCES schools (id),
    class_id     INTEGER NOT NULL REFERENCES classes (id),
    author_id    INTEGER NOT NULL REFERENCES people (id),
    kind         TEXT NOT NULL CHECK (kind IN ('text', 'voice')),
    body         TEXT NOT NULL DEFAULT '',
    voice_ref    TEXT,                 -- the channel's reference of a voice note (a Telegram file_id)
    created_at   TEXT NOT NULL,        -- bot.clock.stamp, as every moment here
    sent_at      TEXT,                 -- NULL: a draft, shown to its author before it goes out
    reminded_at  TEXT
);
CREATE INDEX class_notices_class ON class_notices (class_id, id);

-- One row per family member and child: a parent of two children of the class is sent one copy, and pressing
-- "收到" acknowledges it for both. A child's erasure takes its rows with it.
CREATE TABLE class_notice_receipts (
    notice_id        INTEGER NOT NULL REFERENCES class_notices (id) ON DELETE CASCADE,
    child_id         INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    person_id        INTEGER NOT NULL REFERENCES people (id),
    acknowledged_at  TEXT,
    PRIMARY KEY (notice_id, child_id, person_id)
);
CREATE INDEX class_notice_receipts_person ON class_notice_receipts (person_id, notice_id);
