-- Everyone who reaches a child (its own carers, its class teacher, its school's admins) is asked for on every
-- reminder and message about the child. Without these, that question read the whole roles table: with
-- 100,000 children, 30 ms each and minutes at a busy minute (bench/video.py). Each OR branch of the query
-- repeats `revoked_at IS NULL` so that SQLite may use these partial indexes for it.
CREATE INDEX roles_role_class ON roles (role, class_id) WHERE revoked_at IS NULL;
CREATE INDEX roles_role_school ON roles (role, school_id) WHERE revoked_at IS NULL;
