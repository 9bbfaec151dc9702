-- Deadlines (issue 12). A reminder has a window rather than one instant: it may arrive from `earliest_at` to
-- `latest_at`, and is aimed at `due_at` when the outbox has room (bot.deadlines, bot.video.slots). Existing
-- rows get the windows bot.video.slots gives: a third of the offset early (at most 2 h), a sixth late (at
-- most 1 h, never after the call's start); the question after a call, up to an hour late.
ALTER TABLE video_reminders ADD COLUMN earliest_at TEXT;
ALTER TABLE video_reminders ADD COLUMN latest_at TEXT;

UPDATE video_reminders SET
    earliest_at = strftime('%Y-%m-%dT%H:%M:%f', due_at, '-' || MIN(offset_s / 3, 7200) || ' seconds') || '+00:00',
    latest_at = strftime('%Y-%m-%dT%H:%M:%f', due_at, '+' || MIN(offset_s / 6, 3600) || ' seconds') || '+00:00'
WHERE kind = 'before';
UPDATE video_reminders SET earliest_at = due_at,
    latest_at = strftime('%Y-%m-%dT%H:%M:%f', due_at, '+3600 seconds') || '+00:00'
WHERE kind = 'followup';

-- The dispatcher looks at what is still to hand over, by when it may go at the earliest.
CREATE INDEX video_reminders_window ON video_reminders (earliest_at) WHERE state = 'pending';

-- The outbox serves its reminders lane earliest-deadline-first; a row sent after `due_by` is recorded late.
ALTER TABLE outbox ADD COLUMN due_by TEXT;
ALTER TABLE outbox ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
