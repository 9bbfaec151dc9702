-- Tombstones of erased children, by id only (nothing else of the record: an id says nothing about a child). A
-- backup taken before an erasure still holds the child; a restore re-applies every tombstone newer than it (from
-- here and from <backups>/erasures.log, which outlives the machine), so a restore cannot bring the child back.
-- Ids can be used again by a child added later (children.id is a plain rowid), so a tombstone erases a restored
-- row only if that row was created before the erasure.
CREATE TABLE erasures (
    child_id   INTEGER NOT NULL,
    erased_at  TEXT NOT NULL,            -- UTC, bot.clock.stamp
    PRIMARY KEY (child_id, erased_at)
);
