-- The weekly family video call (亲情视频): the time a carer proposed and a parent agreed, each call it gives
-- rise to, and the reminders about each call. The database is the schedule: the bot keeps no timers of its
-- own, so a restart or downtime loses nothing. Everything here is erased with the child.

-- A time proposed by one side (the carer, or a parent answering with another time) for the other to accept.
CREATE TABLE video_proposals (
    id           INTEGER PRIMARY KEY,
    child_id     INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    weekday      INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),   -- 0 = Monday
    start        TEXT NOT NULL,            -- 'HH:MM' on the wall clock of `zone`
    minutes      INTEGER NOT NULL,
    zone         TEXT NOT NULL,
    room         TEXT,                     -- the family room (亲情室); NULL: at home, on the family's phone
    side         TEXT NOT NULL CHECK (side IN ('carer', 'family')),   -- who proposed it
    proposed_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    state        TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'accepted', 'countered', 'withdrawn')),
    answered_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    answered_at  TEXT
);
CREATE INDEX video_proposals_child ON video_proposals (child_id, state);

-- The agreed weekly time, one per child. `planned_until` is the start of the latest call written out in
-- video_calls: once it has begun, the scheduler writes out the next one.
CREATE TABLE video_slots (
    id             INTEGER PRIMARY KEY,
    child_id       INTEGER NOT NULL UNIQUE REFERENCES children (id) ON DELETE CASCADE,
    school_id      INTEGER NOT NULL,
    weekday        INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start          TEXT NOT NULL,
    minutes        INTEGER NOT NULL,
    zone           TEXT NOT NULL,
    room           TEXT,
    arranged_by    INTEGER REFERENCES people (id) ON DELETE SET NULL,   -- the carer reminded and asked after
    proposal_id    INTEGER REFERENCES video_proposals (id) ON DELETE SET NULL,
    planned_until  TEXT NOT NULL,          -- UTC
    agreed_at      TEXT NOT NULL
);
CREATE INDEX video_slots_plan ON video_slots (planned_until);
CREATE INDEX video_slots_room ON video_slots (school_id, room) WHERE room IS NOT NULL;

-- One call: a week's occurrence of the slot, or a call moved to another time that week. The outcome is
-- what the carer answered afterwards.
CREATE TABLE video_calls (
    id           INTEGER PRIMARY KEY,
    child_id     INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    slot_id      INTEGER REFERENCES video_slots (id) ON DELETE SET NULL,
    starts_at    TEXT NOT NULL,            -- UTC
    minutes      INTEGER NOT NULL,
    zone         TEXT NOT NULL,
    room         TEXT,
    moved_from   INTEGER REFERENCES video_calls (id) ON DELETE SET NULL,
    outcome      TEXT CHECK (outcome IN ('done', 'missed', 'moved', 'cancelled')),
    reason       TEXT,                     -- a missed call: busy, network, unwell, other
    recorded_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    recorded_at  TEXT,
    UNIQUE (child_id, starts_at)
);
CREATE INDEX video_calls_child ON video_calls (child_id, starts_at);

-- What to send about a call and when: reminders before it, the question after it. A row is 'pending' until
-- the scheduler either hands its messages to the outbox ('sent') or finds it too late to help ('skipped'),
-- in the same transaction, so a restart can neither lose it nor send it twice.
CREATE TABLE video_reminders (
    id        INTEGER PRIMARY KEY,
    call_id   INTEGER NOT NULL REFERENCES video_calls (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('before', 'followup')),
    offset_s  INTEGER NOT NULL DEFAULT 0,  -- seconds before the start; 0 for the followup
    due_at    TEXT NOT NULL,               -- UTC
    state     TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'skipped', 'cancelled')),
    done_at   TEXT,
    UNIQUE (call_id, kind, offset_s)
);
CREATE INDEX video_reminders_due ON video_reminders (due_at) WHERE state = 'pending';
