-- The township (乡镇) above its schools, and its villages (村). The township's child-welfare supervisor
-- (儿童督导员) reaches every child of its schools; a village's child director (儿童主任) the children whose home
-- is in the village. A school may belong to no township (every school before this migration): it works as
-- before, with nobody above it.
CREATE TABLE townships (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE villages (
    id           INTEGER PRIMARY KEY,
    township_id  INTEGER NOT NULL REFERENCES townships (id),
    name         TEXT NOT NULL,
    UNIQUE (township_id, name)
);

-- NULL: a school under no township, a child whose village is not recorded (nobody's director reaches them).
ALTER TABLE schools ADD COLUMN township_id INTEGER REFERENCES townships (id);
CREATE INDEX schools_township ON schools (township_id) WHERE township_id IS NOT NULL;
ALTER TABLE children ADD COLUMN village_id INTEGER REFERENCES villages (id);
CREATE INDEX children_village ON children (village_id) WHERE village_id IS NOT NULL;

-- A supervisor's or a director's role is for a township or a village, not a school, so roles and invitations
-- are rebuilt: SQLite can change neither a CHECK nor a NOT NULL in place. Every row and id is copied as it is.
-- Which place a role needs is checked here too, so a role can never be for no place at all.
CREATE TABLE roles_new (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people (id),
    role         TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'proxy', 'parent', 'guardian', 'supervisor',
                                               'director')),
    school_id    INTEGER REFERENCES schools (id),
    class_id     INTEGER REFERENCES classes (id),
    child_id     INTEGER REFERENCES children (id) ON DELETE CASCADE,
    relation     TEXT,
    granted_by   INTEGER REFERENCES people (id),
    granted_at   TEXT NOT NULL,
    revoked_at   TEXT,
    revoked_by   INTEGER REFERENCES people (id),
    township_id  INTEGER REFERENCES townships (id),
    village_id   INTEGER REFERENCES villages (id),
    CHECK (CASE role WHEN 'supervisor' THEN township_id IS NOT NULL
                     WHEN 'director' THEN village_id IS NOT NULL
                     ELSE school_id IS NOT NULL END)
);
INSERT INTO roles_new (id, person_id, role, school_id, class_id, child_id, relation, granted_by, granted_at,
                       revoked_at, revoked_by)
    SELECT id, person_id, role, school_id, class_id, child_id, relation, granted_by, granted_at, revoked_at,
           revoked_by FROM roles;
DROP TABLE roles;
ALTER TABLE roles_new RENAME TO roles;
-- The indexes of 0002 and 0008 went with the old table.
CREATE INDEX roles_person ON roles (person_id) WHERE revoked_at IS NULL;
CREATE INDEX roles_child ON roles (child_id) WHERE revoked_at IS NULL;
CREATE INDEX roles_role_class ON roles (role, class_id) WHERE revoked_at IS NULL;
CREATE INDEX roles_role_school ON roles (role, school_id) WHERE revoked_at IS NULL;
-- "Who reaches this child" (storage.people.grants_for_child) gains a branch each for the township's supervisors
-- and the village's director; each needs its own index, as the branches of 0008 do.
CREATE INDEX roles_role_township ON roles (role, township_id) WHERE revoked_at IS NULL;
CREATE INDEX roles_role_village ON roles (role, village_id) WHERE revoked_at IS NULL;

CREATE TABLE invitations_new (
    id           INTEGER PRIMARY KEY,
    code_hash    TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'proxy', 'parent', 'guardian', 'supervisor',
                                               'director')),
    school_id    INTEGER REFERENCES schools (id),
    class_id     INTEGER REFERENCES classes (id),
    child_id     INTEGER REFERENCES children (id) ON DELETE CASCADE,
    relation     TEXT,
    created_by   INTEGER REFERENCES people (id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    used_by      INTEGER REFERENCES people (id),
    revoked_at   TEXT,
    revoked_by   INTEGER REFERENCES people (id),
    township_id  INTEGER REFERENCES townships (id),
    village_id   INTEGER REFERENCES villages (id),
    CHECK (CASE role WHEN 'supervisor' THEN township_id IS NOT NULL
                     WHEN 'director' THEN village_id IS NOT NULL
                     ELSE school_id IS NOT NULL END)
);
INSERT INTO invitations_new (id, code_hash, role, school_id, class_id, child_id, relation, created_by, created_at,
                             expires_at, used_at, used_by, revoked_at, revoked_by)
    SELECT id, code_hash, role, school_id, class_id, child_id, relation, created_by, created_at, expires_at,
           used_at, used_by, revoked_at, revoked_by FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
