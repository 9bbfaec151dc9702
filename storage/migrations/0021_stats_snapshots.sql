-- The statistics (/stats) frozen at each quarter's and each year's end, so that a report handed in can be
-- reproduced later, whatever has changed in the records since. One row per place and period: `period` is
-- 'YYYY-Qn' or 'YYYY'; `figures` is the JSON of bot.stats.figures.Figures (counts only, no child's name or id).
CREATE TABLE stats_snapshots (
    id        INTEGER PRIMARY KEY,
    scope     TEXT NOT NULL CHECK (scope IN ('class', 'school', 'village', 'township', 'county')),
    place     INTEGER NOT NULL,
    period    TEXT NOT NULL,
    figures   TEXT NOT NULL,
    taken_at  TEXT NOT NULL,
    UNIQUE (scope, place, period)
);
