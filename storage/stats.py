"""The counts behind /stats (bot.stats), one aggregate query each over the children of a place, and the frozen
snapshots of them (stats_snapshots). A place is a WHERE clause on `children c` (`Where`): the queries never load
the children one by one, so a county of tens of thousands of children costs a handful of statements."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class Where:
    """The children of a place: `sql` is a condition on `children c`, with its parameters."""

    sql: str
    params: tuple = ()


@dataclass(frozen=True)
class Carer:
    """One proxy parent's active pairing with one child of the place."""

    person_id: int
    name: str
    child_id: int
    started: str            # the child's care began (the first pairing, else the record): what is owed


@dataclass(frozen=True)
class CareFact:
    child_id: int
    kind: str
    created_at: str
    occurred_on: str
    period: str | None
    photos: int
    for_family: bool


@dataclass(frozen=True)
class Snapshot:
    scope: str
    place: int
    period: str
    figures: str            # JSON
    taken_at: str


def where(scope: str, place: int) -> Where:
    """The children of a class, a school, a village, a township, or (any other scope) the county: every child."""
    if scope == "class":
        return Where("c.class_id = ?", (place,))
    if scope == "school":
        return Where("c.school_id = ?", (place,))
    if scope == "village":
        return Where("c.village_id = ?", (place,))
    if scope == "township":
        return Where("c.school_id IN (SELECT id FROM schools WHERE township_id = ?)", (place,))
    return Where("c.id > ?", (0,))


def _ids(where: Where) -> tuple[str, tuple]:
    return f"SELECT c.id FROM children c WHERE {where.sql}", where.params


class StatsRepository(Repository):
    async def records(self, where: Where, required: tuple[str, ...]) -> tuple[int, int]:
        """How many children, and how many of them have every `required` field filled in."""
        ids, params = _ids(where)
        marks = ", ".join("?" for _ in required)
        row = await self._one(
            f"SELECT COUNT(*) AS n, COALESCE(SUM((SELECT COUNT(*) FROM child_fields f WHERE f.child_id = s.id "
            f"AND f.field IN ({marks}) AND f.value != '') = ?), 0) AS complete FROM ({ids}) s",
            (*required, len(required), *params))
        return row["n"], row["complete"]

    async def consented(self, where: Where) -> int:
        """Children with a parent's or guardian's consent and nobody of them objecting (bot.access.consent's rule,
        in one statement): each current parent's or guardian's latest decision counts."""
        ids, params = _ids(where)
        row = await self._one(
            f"SELECT COUNT(*) AS n FROM (SELECT k.child_id, SUM(k.decision = 'given') AS yes, "
            f"SUM(k.decision != 'given') AS no FROM consents k "
            f"WHERE k.child_id IN ({ids}) "
            f"AND k.id = (SELECT MAX(id) FROM consents WHERE child_id = k.child_id AND person_id = k.person_id) "
            f"AND EXISTS (SELECT 1 FROM roles r WHERE r.child_id = k.child_id AND r.person_id = k.person_id "
            f"AND r.role IN ('parent', 'guardian') AND r.revoked_at IS NULL) GROUP BY k.child_id) "
            f"WHERE yes > 0 AND no = 0", params)
        return row["n"]

    async def in_contact(self, where: Where, start: str, end: str) -> int:
        """Children whose parents were in touch between two moments: a video call held, or a message relayed
        (sent) from or to one of the child's parents."""
        ids, params = _ids(where)
        row = await self._one(
            f"SELECT COUNT(*) AS n FROM ({ids}) s WHERE EXISTS (SELECT 1 FROM video_calls v WHERE v.child_id = s.id "
            f"AND v.outcome = 'done' AND v.starts_at >= ? AND v.starts_at < ?) "
            f"OR EXISTS (SELECT 1 FROM relays m WHERE m.child_id = s.id AND m.created_at >= ? AND m.created_at < ? "
            f"AND EXISTS (SELECT 1 FROM roles r WHERE r.child_id = s.id AND r.role = 'parent' "
            f"AND r.person_id IN (m.author_id, m.recipient_id)) "
            f"AND EXISTS (SELECT 1 FROM relay_messages rm JOIN outbox o ON o.id = rm.outbox_id "
            f"WHERE rm.relay_id = m.id AND o.state = 'sent'))",
            (*params, start, end, start, end))
        return row["n"]

    async def calls(self, where: Where, start: str, end: str) -> dict[str, int]:
        """Video calls that were to start in the period, by outcome ('done', 'missed', …; None: not answered)."""
        ids, params = _ids(where)
        rows = await self._all(
            f"SELECT outcome, COUNT(*) AS n FROM video_calls WHERE child_id IN ({ids}) AND starts_at >= ? "
            f"AND starts_at < ? GROUP BY outcome", (*params, start, end))
        return {r["outcome"]: r["n"] for r in rows}

    async def absences(self, where: Where, first_day: str, last_day: str) -> tuple[int, int]:
        """Absences on the days of the period (local dates, inclusive): all, and those without a reason."""
        ids, params = _ids(where)
        row = await self._one(
            f"SELECT COUNT(*) AS n, COALESCE(SUM(reason IN ('none', 'unknown')), 0) AS unexplained FROM absences "
            f"WHERE child_id IN ({ids}) AND day >= ? AND day <= ?", (*params, first_day, last_day))
        return row["n"], row["unexplained"]

    async def dropouts(self, where: Where) -> tuple[int, int]:
        """Open absence cases (控辍保学) now, and those of them suspected of dropping out."""
        ids, params = _ids(where)
        row = await self._one(
            f"SELECT COUNT(*) AS n, COALESCE(SUM(state = 'suspected'), 0) AS suspected FROM dropout_cases "
            f"WHERE child_id IN ({ids}) AND state IN ('open', 'suspected')", params)
        return row["n"], row["suspected"]

    async def open_safety(self, where: Where) -> int:
        ids, params = _ids(where)
        row = await self._one(
            f"SELECT COUNT(*) AS n FROM safety_reports WHERE child_id IN ({ids}) AND state != 'closed'", params)
        return row["n"]

    async def carers(self, where: Where) -> list[Carer]:
        ids, params = _ids(where)
        rows = await self._all(
            f"SELECT r.person_id, p.display_name, r.child_id, COALESCE((SELECT MIN(granted_at) FROM roles q "
            f"WHERE q.child_id = r.child_id AND q.role = 'proxy' AND q.revoked_at IS NULL), "
            f"(SELECT created_at FROM children WHERE id = r.child_id)) AS started "
            f"FROM roles r JOIN people p ON p.id = r.person_id WHERE r.role = 'proxy' AND r.revoked_at IS NULL "
            f"AND r.child_id IN ({ids}) ORDER BY r.person_id, r.child_id", params)
        return [Carer(r["person_id"], r["display_name"], r["child_id"], r["started"]) for r in rows]

    async def care_facts(self, where: Where, since: str, until: str) -> list[CareFact]:
        """The care entries written in a window for the children of the place who have a proxy parent, each with
        its number of photos: what the five-musts tracker counts."""
        ids, params = _ids(where)
        rows = await self._all(
            f"SELECT e.child_id, e.kind, e.created_at, e.occurred_on, e.period, e.for_family, "
            f"(SELECT COUNT(*) FROM care_media m WHERE m.entry_id = e.id AND m.kind = 'photo') AS photos "
            f"FROM care_entries e WHERE e.child_id IN ({ids}) AND e.created_at >= ? AND e.created_at < ? "
            f"AND EXISTS (SELECT 1 FROM roles r WHERE r.child_id = e.child_id AND r.role = 'proxy' "
            f"AND r.revoked_at IS NULL)", (*params, since, until))
        return [CareFact(r["child_id"], r["kind"], r["created_at"], r["occurred_on"], r["period"], r["photos"],
                         bool(r["for_family"])) for r in rows]

    # -- snapshots ------------------------------------------------------------------------------------------------

    async def save(self, snapshot: Snapshot) -> bool:
        """Keep a snapshot; False if the place already has one for the period (the first one stays)."""
        rows = await self._write(
            "INSERT INTO stats_snapshots (scope, place, period, figures, taken_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (scope, place, period) DO NOTHING RETURNING id",
            (snapshot.scope, snapshot.place, snapshot.period, snapshot.figures, snapshot.taken_at))
        return bool(rows)

    async def snapshot(self, scope: str, place: int, period: str) -> Snapshot | None:
        row = await self._one("SELECT * FROM stats_snapshots WHERE scope = ? AND place = ? AND period = ?",
                              (scope, place, period))
        return Snapshot(row["scope"], row["place"], row["period"], row["figures"], row["taken_at"]) if row else None

    async def periods(self, scope: str, place: int) -> list[str]:
        """The periods frozen for a place, the latest first."""
        rows = await self._all("SELECT period FROM stats_snapshots WHERE scope = ? AND place = ? "
                               "ORDER BY period DESC", (scope, place))
        return [r["period"] for r in rows]

    async def taken(self, period: str) -> set[tuple[str, int]]:
        rows = await self._all("SELECT scope, place FROM stats_snapshots WHERE period = ?", (period,))
        return {(r["scope"], r["place"]) for r in rows}

    async def places(self) -> list[tuple[str, int]]:
        """Every class, school, village and township, and the county (0): the places frozen at a period's end."""
        rows = await self._all(
            "SELECT 'class' AS scope, id FROM classes UNION ALL SELECT 'school', id FROM schools "
            "UNION ALL SELECT 'village', id FROM villages UNION ALL SELECT 'township', id FROM townships")
        return [(r["scope"], r["id"]) for r in rows] + [("county", 0)]
