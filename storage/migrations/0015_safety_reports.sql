-- Safety reports (强制报告) and requests for help (求助): when a child is found harmed or in danger, the reporter
-- calls 110 and the bot makes sure the right people know, acknowledge and act, with every time recorded
-- (bot.safety.service). A report belongs to its child: an erased record takes its reports with it, but the
-- erasure of a child with an open case is held (legal retention), so only closed cases can go that way.
CREATE TABLE safety_reports (
    id                   INTEGER PRIMARY KEY,
    child_id             INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    -- Where the child was when reported: who is told, and whose ledger the case is in, do not move with a
    -- later change of class or school.
    school_id            INTEGER NOT NULL REFERENCES schools (id),
    township_id          INTEGER REFERENCES townships (id),
    kind                 TEXT NOT NULL CHECK (kind IN ('report', 'help')),
    reporter_id          INTEGER NOT NULL REFERENCES people (id),
    situations           TEXT NOT NULL,           -- codes of bot.safety.situations, comma-separated
    danger_now           INTEGER NOT NULL,
    found_at             TEXT NOT NULL,           -- bot.clock.stamp, as every moment here
    place                TEXT NOT NULL DEFAULT '',
    description          TEXT NOT NULL DEFAULT '',
    police_called_at     TEXT,
    police_station       TEXT NOT NULL DEFAULT '',
    police_receipt       TEXT NOT NULL DEFAULT '',
    not_yet_reason       TEXT NOT NULL DEFAULT '',
    -- More than an hour between finding and the call to the police (or no call an hour after): the law says
    -- "immediately", so the ledger shows it.
    late_police          INTEGER NOT NULL DEFAULT 0,
    reported_at          TEXT NOT NULL,
    state                TEXT NOT NULL DEFAULT 'reported'
                         CHECK (state IN ('reported', 'accepted', 'helping', 'closed')),
    accepted_at          TEXT,
    -- The police tell the reporting unit within 3 days of accepting a case (2020 opinion); without feedback
    -- 72 hours after acceptance the reporter and the school's admins are reminded to ask, once.
    feedback_at          TEXT,
    feedback_note        TEXT NOT NULL DEFAULT '',
    feedback_reminded_at TEXT,
    -- Escalation: the highest level told (1: the school, the class teacher, the township's supervisor and the
    -- village's director; 2: every admin of the township), when, and whether that level was told again.
    level                INTEGER NOT NULL DEFAULT 1,
    level_at             TEXT NOT NULL,
    retold_at            TEXT,
    -- Closing needs a reason and a second person: the request and the confirmation are by different people.
    close_requested_by   INTEGER REFERENCES people (id),
    close_requested_at   TEXT,
    close_reason         TEXT NOT NULL DEFAULT '',
    closed_by            INTEGER REFERENCES people (id),
    closed_at            TEXT,
    CHECK (closed_by IS NULL OR closed_by IS NOT close_requested_by)
);
CREATE INDEX safety_reports_child ON safety_reports (child_id);
-- The schedule job looks at open cases only; the ledgers by school and township.
CREATE INDEX safety_reports_open ON safety_reports (state) WHERE state <> 'closed';
CREATE INDEX safety_reports_school ON safety_reports (school_id);
CREATE INDEX safety_reports_township ON safety_reports (township_id) WHERE township_id IS NOT NULL;

-- Photos and voice notes the reporter sent, by the channel's reference, in the order sent.
CREATE TABLE safety_media (
    report_id  INTEGER NOT NULL REFERENCES safety_reports (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    ref        TEXT NOT NULL,
    PRIMARY KEY (report_id, position)
);

-- Everyone told about a report, at which level, and when they acknowledged (收到). These people, the reporter
-- and those a supervisor added (`added_by`) are the only ones who may see the case.
CREATE TABLE safety_recipients (
    report_id  INTEGER NOT NULL REFERENCES safety_reports (id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES people (id),
    role       TEXT NOT NULL,                      -- the role they were told as
    level      INTEGER NOT NULL,                   -- 1, 2; 0 for someone added
    told_at    TEXT NOT NULL,
    retold_at  TEXT,
    acked_at   TEXT,
    added_by   INTEGER REFERENCES people (id),
    PRIMARY KEY (report_id, person_id)
);
CREATE INDEX safety_recipients_person ON safety_recipients (person_id);

-- What happened to the case: state changes, police feedback, notes and follow-up visits, the request to close
-- and its confirmation. Appended, never changed.
CREATE TABLE safety_events (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES safety_reports (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    person_id   INTEGER REFERENCES people (id),
    kind        TEXT NOT NULL CHECK (kind IN ('state', 'feedback', 'note', 'visit', 'close_request', 'closed',
                                              'added')),
    state       TEXT,
    note        TEXT NOT NULL DEFAULT '',
    visited_on  TEXT,                              -- a visit's date (ISO), in the school's zone
    outcome     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX safety_events_report ON safety_events (report_id, id);
