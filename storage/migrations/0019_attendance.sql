-- Keeping children in school (控辍保学, issue 15): the school calendar that says which days are school days, the
-- daily roll call, the family's answer to an unexplained absence, the suspected-dropout case with its ladder of
-- people told, each attempt to persuade the family (劝返), and the county education bureau's contact per township.
-- Days are local dates in the school's zone, 'YYYY-MM-DD'; moments are bot.clock.stamp, as everywhere.

-- Terms (学期): outside a term no day is a school day. Within one, Monday to Friday are, except the days marked
-- off (holidays), and a weekend day marked 'school' is one (调休 make-up days).
CREATE TABLE school_terms (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL REFERENCES schools (id),
    starts_on   TEXT NOT NULL,
    ends_on     TEXT NOT NULL,
    CHECK (starts_on <= ends_on),
    UNIQUE (school_id, starts_on)
);

CREATE TABLE school_day_overrides (
    school_id   INTEGER NOT NULL REFERENCES schools (id),
    day         TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('off', 'school')),
    note        TEXT NOT NULL DEFAULT '',
    set_by      INTEGER REFERENCES people (id),
    set_at      TEXT NOT NULL,
    PRIMARY KEY (school_id, day)
);

-- A class's roll for a day: taken once (a later correction changes the absences, not this row); the teacher who
-- has not taken it by the reminder time is reminded once (reminded_at, on a row without taken_at).
CREATE TABLE attendance_rolls (
    class_id     INTEGER NOT NULL REFERENCES classes (id),
    day          TEXT NOT NULL,
    taken_by     INTEGER REFERENCES people (id),
    taken_at     TEXT,
    reminded_at  TEXT,
    PRIMARY KEY (class_id, day)
);

-- One row per child absent on a day. `reason` is the school's word (the teacher's, or the family's answer once
-- it comes: it fills the reason); the family's own answer is kept beside it. Two teachers marking the same child
-- at once meet the UNIQUE: one row, the later press changes it.
CREATE TABLE absences (
    id             INTEGER PRIMARY KEY,
    child_id       INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    class_id       INTEGER NOT NULL REFERENCES classes (id),
    day            TEXT NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('sick', 'personal', 'none', 'unknown')),
    marked_by      INTEGER REFERENCES people (id),
    marked_at      TEXT NOT NULL,
    family_reason  TEXT CHECK (family_reason IN ('sick', 'personal', 'other')),
    family_note    TEXT NOT NULL DEFAULT '',
    family_by      INTEGER REFERENCES people (id),
    family_at      TEXT,
    UNIQUE (child_id, day)
);
CREATE INDEX absences_day ON absences (day);

-- A child absent without reason: the case of the ladder (step: 1 the school's admins told, 2 a joint visit with
-- the village child director asked for, 3 suspected dropout: the township's supervisor and the county contact
-- told). It is where the child was when it opened (school, township), like a safety report. 'returned' is
-- watched until watch_until: a new unexplained absence reopens it; after that it is closed.
CREATE TABLE dropout_cases (
    id                   INTEGER PRIMARY KEY,
    child_id             INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    school_id            INTEGER NOT NULL REFERENCES schools (id),
    township_id          INTEGER REFERENCES townships (id),
    first_absent_on      TEXT NOT NULL,
    whereabouts_unknown  INTEGER NOT NULL DEFAULT 0,
    state                TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'suspected', 'returned', 'closed')),
    step                 INTEGER NOT NULL DEFAULT 0,
    step_at              TEXT,
    suspected_on         TEXT,
    returned_on          TEXT,
    watch_until          TEXT,
    reported_at          TEXT,          -- the written report (辍学学生情况报告表) first produced
    opened_at            TEXT NOT NULL,
    closed_at            TEXT
);
CREATE UNIQUE INDEX dropout_cases_one_open ON dropout_cases (child_id) WHERE state <> 'closed';

-- Each attempt to bring the child back (劝返), as the 2024 notice asks: when, who went, how, the parents'
-- attitude, the result, the next step and when.
CREATE TABLE persuasion_attempts (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES dropout_cases (id) ON DELETE CASCADE,
    on_day       TEXT NOT NULL,
    people       TEXT NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('visit', 'call', 'video')),
    attitude     TEXT NOT NULL CHECK (attitude IN ('supportive', 'hesitant', 'refusing', 'unreachable')),
    result       TEXT NOT NULL DEFAULT '',
    next_step    TEXT NOT NULL DEFAULT '',
    next_on      TEXT,
    recorded_by  INTEGER REFERENCES people (id),
    recorded_at  TEXT NOT NULL
);

-- The county education bureau's contact for a township's schools: a person the bot can reach (set from the
-- command line by the operator), told of every suspected dropout. Not a role: they use no command.
CREATE TABLE county_contacts (
    township_id  INTEGER PRIMARY KEY REFERENCES townships (id),
    person_id    INTEGER NOT NULL REFERENCES people (id),
    set_at       TEXT NOT NULL
);

-- The class teacher's follow-up task gains a second reason: an unexplained absence (call within the hour, a home
-- visit the same day if still unexplained). SQLite cannot change a CHECK in place: the table is rebuilt.
CREATE TABLE care_followups_new (
    id          INTEGER PRIMARY KEY,
    child_id    INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    person_id   INTEGER NOT NULL REFERENCES people (id),
    reason      TEXT NOT NULL CHECK (reason IN ('consent', 'absence')),
    created_at  TEXT NOT NULL,
    done_at     TEXT
);
INSERT INTO care_followups_new (id, child_id, person_id, reason, created_at, done_at)
    SELECT id, child_id, person_id, reason, created_at, done_at FROM care_followups;
DROP TABLE care_followups;
ALTER TABLE care_followups_new RENAME TO care_followups;
CREATE UNIQUE INDEX care_followups_open ON care_followups (child_id, person_id, reason) WHERE done_at IS NULL;
CREATE INDEX care_followups_person ON care_followups (person_id) WHERE done_at IS NULL;
