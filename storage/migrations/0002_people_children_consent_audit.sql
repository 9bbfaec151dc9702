-- Schools and their classes.
CREATE TABLE schools (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE classes (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL REFERENCES schools (id),
    name        TEXT NOT NULL,
    UNIQUE (school_id, name)
);

-- A person, whatever channel they use; their accounts on channels are identities.
CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    display_name  TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE identities (
    person_id    INTEGER NOT NULL REFERENCES people (id),
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX identities_person ON identities (person_id);

-- A child's record (一人一档): the row holds where the child belongs; the fields hold what is known.
CREATE TABLE children (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL REFERENCES schools (id),
    class_id    INTEGER NOT NULL REFERENCES classes (id),
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES people (id)
);
CREATE INDEX children_class ON children (class_id);

CREATE TABLE child_fields (
    child_id    INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  INTEGER REFERENCES people (id),
    PRIMARY KEY (child_id, field)
);

-- Every change to a field, dated, with who made it ("动态管理").
CREATE TABLE child_field_history (
    id          INTEGER PRIMARY KEY,
    child_id    INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT,
    changed_at  TEXT NOT NULL,
    changed_by  INTEGER REFERENCES people (id)
);
CREATE INDEX child_field_history_child ON child_field_history (child_id, id);

-- Who holds which role. Access ends when revoked_at is set; rows are kept to show who had access when.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people (id),
    role        TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'proxy', 'parent', 'guardian')),
    school_id   INTEGER NOT NULL REFERENCES schools (id),
    class_id    INTEGER REFERENCES classes (id),
    child_id    INTEGER REFERENCES children (id) ON DELETE CASCADE,
    relation    TEXT,
    granted_by  INTEGER REFERENCES people (id),
    granted_at  TEXT NOT NULL,
    revoked_at  TEXT,
    revoked_by  INTEGER REFERENCES people (id)
);
CREATE INDEX roles_person ON roles (person_id) WHERE revoked_at IS NULL;
CREATE INDEX roles_child ON roles (child_id) WHERE revoked_at IS NULL;

-- Invitations: only a hash of the code is kept, so the database alone cannot be used to join.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    code_hash   TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'proxy', 'parent', 'guardian')),
    school_id   INTEGER NOT NULL REFERENCES schools (id),
    class_id    INTEGER REFERENCES classes (id),
    child_id    INTEGER REFERENCES children (id) ON DELETE CASCADE,
    relation    TEXT,
    created_by  INTEGER REFERENCES people (id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     INTEGER REFERENCES people (id),
    revoked_at  TEXT,
    revoked_by  INTEGER REFERENCES people (id)
);

-- A parent's or guardian's decision about a child's record, against a version of the rules.
CREATE TABLE consents (
    id             INTEGER PRIMARY KEY,
    child_id       INTEGER NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    person_id      INTEGER NOT NULL REFERENCES people (id),
    decision       TEXT NOT NULL CHECK (decision IN ('given', 'refused', 'withdrawn')),
    rules_version  TEXT NOT NULL,
    decided_at     TEXT NOT NULL
);
CREATE INDEX consents_child ON consents (child_id, id);

-- A request to erase a child's record; an admin confirms it. Ids only, so it outlives the record.
CREATE TABLE deletion_requests (
    id            INTEGER PRIMARY KEY,
    child_id      INTEGER NOT NULL,
    school_id     INTEGER NOT NULL,
    requested_by  INTEGER NOT NULL,
    requested_at  TEXT NOT NULL,
    decided_by    INTEGER,
    decided_at    TEXT,
    decision      TEXT CHECK (decision IN ('erased', 'declined'))
);

-- Who saw, changed, exported, invited, consented or granted what. Ids and field names only, never
-- values; append-only: the database itself refuses to change or remove a line.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_id   INTEGER,
    child_id   INTEGER,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_child ON audit_log (child_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Facts about the deployment the command line needs without asking Telegram, e.g. the bot's username.
CREATE TABLE settings_kv (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
