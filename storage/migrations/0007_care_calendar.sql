-- The teachers' care calendar: recurring tasks a school admin sets for the school (monthly talks, a parent
-- meeting each semester, March: update the records) and the weekly five-musts digest. The database is the
-- schedule: each task's next reminder time is a row, moved on in the transaction that hands the reminders to the
-- outbox, so a restart can neither lose a reminder nor send it twice. Nothing here is about one child.

-- A task, or (kind 'digest', one row, no school) the weekly digest of what the five musts still want.
-- A custom task is a 'draft' while its admin picks when and for whom with buttons; removed tasks stay, so the
-- reminders already sent keep their meaning.
CREATE TABLE calendar_tasks (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL DEFAULT 'task' CHECK (kind IN ('task', 'digest')),
    school_id   INTEGER REFERENCES schools (id),
    preset      TEXT,                     -- a preset's key: its title is shown in each reader's language
    title       TEXT NOT NULL DEFAULT '', -- the title as the admin typed it (a preset's: its message id)
    recurrence  TEXT CHECK (recurrence IN ('monthly', 'semester', 'yearly', 'weekly')),
    month       INTEGER CHECK (month BETWEEN 1 AND 12),   -- yearly tasks only
    -- 1–28 only: CronTrigger skips a month without the day, so "the 31st" would be silent in 30-day months.
    day         INTEGER CHECK (day BETWEEN 1 AND 28),
    audience    TEXT CHECK (audience IN ('teachers', 'proxies', 'both')),
    state       TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'active', 'removed')),
    next_at     TEXT,                     -- UTC: the next reminder, while active (the digest's: set on first run)
    created_by  INTEGER REFERENCES people (id),
    created_at  TEXT NOT NULL,
    changed_by  INTEGER REFERENCES people (id),
    changed_at  TEXT,
    CHECK (kind = 'digest' OR school_id IS NOT NULL)
);
-- The scheduler's one question, every 30 seconds: which active tasks are due.
CREATE INDEX calendar_tasks_due ON calendar_tasks (next_at) WHERE state = 'active';
CREATE INDEX calendar_tasks_school ON calendar_tasks (school_id, state);

INSERT INTO calendar_tasks (kind, recurrence, audience, state, created_at)
VALUES ('digest', 'weekly', 'both', 'active', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));

-- Each time a task came due: its reminders were handed to the outbox ('sent'), or the bot was down too long for
-- them to help ('skipped'). Unique, so one occurrence is handled once whatever happens around it.
CREATE TABLE calendar_occurrences (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES calendar_tasks (id),
    due_at      TEXT NOT NULL,            -- UTC: when it was due, not when it was handled
    state       TEXT NOT NULL CHECK (state IN ('sent', 'skipped')),
    recipients  INTEGER NOT NULL DEFAULT 0,
    handled_at  TEXT NOT NULL,
    UNIQUE (task_id, due_at)
);

-- One person's reminder of one occurrence, and when they pressed "Done".
CREATE TABLE calendar_marks (
    id             INTEGER PRIMARY KEY,
    occurrence_id  INTEGER NOT NULL REFERENCES calendar_occurrences (id),
    person_id      INTEGER NOT NULL REFERENCES people (id),
    done_at        TEXT,
    UNIQUE (occurrence_id, person_id)
);
CREATE INDEX calendar_marks_open ON calendar_marks (person_id) WHERE done_at IS NULL;
