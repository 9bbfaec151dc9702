"""Safety reports (强制报告) and requests for help (求助): the report, who was told and acknowledged, what was done.

    async with db.transaction() as conn:
        reports = repo.within(conn)
        report_id = await reports.create(NewReport(draft, "report", actor.person_id, school_id, None, now, False))
        await reports.tell(report_id, [Told(person_id, "admin", 1)], now)

The dataclasses the service hands to the handlers (Submitted, Acked, CaseView, CaseLine) are here too, so the
contract between them (SAFETY_API.md) is one file of plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.clock import stamp, unstamp
from storage.db import Repository

REPORT, HELP = "report", "help"
REPORTED, ACCEPTED, HELPING, CLOSED = "reported", "accepted", "helping", "closed"
STATES = (REPORTED, ACCEPTED, HELPING, CLOSED)
# Events of a case (safety_events.kind).
STATE, FEEDBACK, NOTE, VISIT, CLOSE_REQUEST, CLOSED_EVENT, ADDED = (
    "state", "feedback", "note", "visit", "close_request", "closed", "added")


@dataclass(frozen=True)
class ReportDraft:
    """What the reporter answered; every answer time-stamped by the service."""

    child_id: int
    situations: tuple[str, ...]               # codes from bot.safety.situations.SITUATIONS (at least one)
    danger_now: bool
    found_at: datetime                        # when it was found (aware)
    place: str = ""                           # where
    description: str = ""                     # what happened (text)
    media: tuple[tuple[str, str], ...] = ()   # (kind, Telegram file_id): "photo" / "voice"
    police_called_at: datetime | None = None  # the police report: when
    police_station: str = ""
    police_receipt: str = ""                  # receipt or incident number
    not_yet_reason: str = ""                  # why not yet reported to the police


@dataclass(frozen=True)
class NewReport:
    """A report to store: the draft, and what the service decided about it."""

    draft: ReportDraft
    kind: str             # REPORT or HELP
    reporter_id: int
    school_id: int
    township_id: int | None
    reported_at: str      # bot.clock.stamp
    late_police: bool


@dataclass(frozen=True)
class Report:
    """A stored report. Moments are stamps (bot.clock.stamp)."""

    id: int
    child_id: int
    school_id: int
    township_id: int | None
    kind: str
    reporter_id: int
    situations: tuple[str, ...]
    danger_now: bool
    found_at: str
    place: str
    description: str
    police_called_at: str | None
    police_station: str
    police_receipt: str
    not_yet_reason: str
    late_police: bool
    reported_at: str
    state: str
    accepted_at: str | None
    feedback_at: str | None
    feedback_note: str
    feedback_reminded_at: str | None
    level: int
    level_at: str
    retold_at: str | None
    close_requested_by: int | None
    close_requested_at: str | None
    close_reason: str
    closed_by: int | None
    closed_at: str | None
    media: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Told:
    """Someone to tell about a report: as which role, at which level (0: added by a supervisor)."""

    person_id: int
    role: str
    level: int
    added_by: int | None = None


@dataclass(frozen=True)
class Recipient:
    person_id: int
    role: str
    level: int
    told_at: str
    retold_at: str | None
    acked_at: str | None
    added_by: int | None


@dataclass(frozen=True)
class NewEvent:
    report_id: int
    at: str
    person_id: int | None
    kind: str
    state: str | None = None
    note: str = ""
    visited_on: date | None = None
    outcome: str = ""


@dataclass(frozen=True)
class Event:
    id: int
    at: str
    person_id: int | None
    kind: str
    state: str | None
    note: str
    visited_on: date | None
    outcome: str


# -- what the service hands back (bot.safety.service) -----------------------------------------------------------

@dataclass(frozen=True)
class Submitted:
    report_id: int
    kind: str                 # REPORT or HELP
    told: list[str]           # the names of the people told
    late_police: bool         # more than an hour between finding and the police report (or none yet)


@dataclass(frozen=True)
class Acked:
    report_id: int
    by_name: str
    reporter_told: bool


@dataclass(frozen=True)
class CaseRecipient:
    """Someone told about the case (or added to it), for the case view. Moments are aware datetimes (UTC)."""

    person_id: int
    name: str
    role: str                 # bot.access.policy role
    level: int                # 1, 2; 0: added by a supervisor
    told_at: datetime
    retold_at: datetime | None
    acked_at: datetime | None


@dataclass(frozen=True)
class CaseEvent:
    at: datetime
    by_name: str
    kind: str                 # STATE, FEEDBACK, NOTE, VISIT, CLOSE_REQUEST, CLOSED_EVENT, ADDED
    state: str | None = None  # the new state (STATE)
    note: str = ""
    visited_on: date | None = None
    outcome: str = ""


@dataclass(frozen=True)
class CaseView:
    """One case as its reader may see it. Moments are aware datetimes (UTC): the handler shows them in the reader's
    zone. `reporter_name` is None where the reader may not know who reported; `handler`: the reader handles the
    case (told or added), else they are its reporter, who sees their own answers, the state, who acknowledged and
    the police feedback, but not the handlers' notes."""

    report_id: int
    kind: str
    child_id: int
    child_name: str
    class_name: str
    situations: tuple[str, ...]
    danger_now: bool
    found_at: datetime
    place: str
    description: str
    media: tuple[tuple[str, str], ...]
    police_called_at: datetime | None
    police_station: str
    police_receipt: str
    not_yet_reason: str
    late_police: bool
    reported_at: datetime
    state: str
    accepted_at: datetime | None
    feedback_at: datetime | None
    feedback_note: str
    reporter_name: str | None
    recipients: list[CaseRecipient]
    events: list[CaseEvent]
    overdue: tuple[str, ...]          # bot.safety.service OVERDUE codes
    close_requested_by: str | None    # a name, while a request to close waits for a second person
    close_reason: str
    closed_at: datetime | None
    handler: bool
    mine: bool                        # the reader reported it
    level: int = 1


@dataclass(frozen=True)
class CaseLine:
    """One open case in /reports."""

    report_id: int
    kind: str
    child_name: str
    situations: tuple[str, ...]
    state: str
    reported_at: datetime
    overdue: tuple[str, ...]
    mine: bool = False
    acked: bool = False
    close_requested: bool = False
    extra: dict = field(default_factory=dict)


# Someone has acknowledged report `r` (escalation stops then; checked again in the escalation's own transaction,
# so an acknowledgement a moment before it wins).
_ACKED = "EXISTS (SELECT 1 FROM safety_recipients s WHERE s.report_id = r.id AND s.acked_at IS NOT NULL)"


def _report(r, media: tuple[tuple[str, str], ...] = ()) -> Report:
    return Report(
        r["id"], r["child_id"], r["school_id"], r["township_id"], r["kind"], r["reporter_id"],
        tuple(code for code in r["situations"].split(",") if code), bool(r["danger_now"]), r["found_at"],
        r["place"], r["description"], r["police_called_at"], r["police_station"], r["police_receipt"],
        r["not_yet_reason"], bool(r["late_police"]), r["reported_at"], r["state"], r["accepted_at"],
        r["feedback_at"], r["feedback_note"], r["feedback_reminded_at"], r["level"], r["level_at"], r["retold_at"],
        r["close_requested_by"], r["close_requested_at"], r["close_reason"], r["closed_by"], r["closed_at"], media)


def _recipient(r) -> Recipient:
    return Recipient(r["person_id"], r["role"], r["level"], r["told_at"], r["retold_at"], r["acked_at"],
                     r["added_by"])


class SafetyRepository(Repository):
    # -- the report -------------------------------------------------------------------------------------------

    async def create(self, new: NewReport) -> int:
        """The report and its media (within the caller's transaction); level 1 is told as of `reported_at`."""
        d = new.draft
        [(report_id,)] = await self._write(
            "INSERT INTO safety_reports (child_id, school_id, township_id, kind, reporter_id, situations, danger_now, "
            "found_at, place, description, police_called_at, police_station, police_receipt, not_yet_reason, "
            "late_police, reported_at, level, level_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) "
            "RETURNING id",
            (d.child_id, new.school_id, new.township_id, new.kind, new.reporter_id, ",".join(d.situations),
             int(d.danger_now), stamp(d.found_at), d.place, d.description,
             stamp(d.police_called_at) if d.police_called_at else None, d.police_station, d.police_receipt,
             d.not_yet_reason, int(new.late_police), new.reported_at, new.reported_at))
        for position, (kind, ref) in enumerate(d.media):
            await self._write("INSERT INTO safety_media (report_id, position, kind, ref) VALUES (?, ?, ?, ?)",
                              (report_id, position, kind, ref))
        return report_id

    async def get(self, report_id: int) -> Report | None:
        row = await self._one("SELECT * FROM safety_reports WHERE id = ?", (report_id,))
        if row is None:
            return None
        media = await self._all("SELECT kind, ref FROM safety_media WHERE report_id = ? ORDER BY position",
                                (report_id,))
        return _report(row, tuple((m["kind"], m["ref"]) for m in media))

    async def of_person(self, person_id: int, *, open_only: bool = True) -> list[Report]:
        """The reports this person reported, was told about or was added to (newest first); whether they may
        still see each is the service's to decide."""
        rows = await self._all(
            "SELECT * FROM safety_reports WHERE (reporter_id = ? OR id IN "
            "(SELECT report_id FROM safety_recipients WHERE person_id = ?))"
            + (" AND state <> 'closed'" if open_only else "") + " ORDER BY reported_at DESC, id DESC",
            (person_id, person_id))
        return [_report(r) for r in rows]

    async def in_schools(self, school_ids: list[int]) -> list[Report]:
        if not school_ids:
            return []
        marks = ", ".join("?" * len(school_ids))
        rows = await self._all(f"SELECT * FROM safety_reports WHERE school_id IN ({marks}) ORDER BY reported_at, id",
                               school_ids)
        return [_report(r) for r in rows]

    async def in_townships(self, township_ids: list[int]) -> list[Report]:
        if not township_ids:
            return []
        marks = ", ".join("?" * len(township_ids))
        rows = await self._all(
            f"SELECT * FROM safety_reports WHERE township_id IN ({marks}) ORDER BY reported_at, id", township_ids)
        return [_report(r) for r in rows]

    async def open_unacknowledged(self) -> list[Report]:
        """Open reports nobody has acknowledged yet that still have a step to come (the top level, 2, told again
        is the last): what the escalation looks at."""
        rows = await self._all(
            "SELECT * FROM safety_reports r WHERE state <> 'closed' AND (retold_at IS NULL OR level < 2) "
            "AND NOT " + _ACKED + " ORDER BY id")
        return [_report(r) for r in rows]

    async def feedback_due(self, accepted_before: str) -> list[Report]:
        """Accepted by the police before `accepted_before`, with no feedback recorded and nobody reminded yet."""
        rows = await self._all(
            "SELECT * FROM safety_reports WHERE state <> 'closed' AND accepted_at IS NOT NULL AND accepted_at <= ? "
            "AND feedback_at IS NULL AND feedback_reminded_at IS NULL ORDER BY id", (accepted_before,))
        return [_report(r) for r in rows]

    async def has_open(self, child_id: int) -> bool:
        row = await self._one("SELECT 1 FROM safety_reports WHERE child_id = ? AND state <> 'closed' LIMIT 1",
                              (child_id,))
        return row is not None

    # -- who was told -----------------------------------------------------------------------------------------

    async def tell(self, report_id: int, told: list[Told], at: str) -> list[int]:
        """Record these people as told (someone told already keeps their first telling); the ids of those new."""
        added = []
        for person in told:
            rows = await self._write(
                "INSERT INTO safety_recipients (report_id, person_id, role, level, told_at, added_by) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (report_id, person_id) DO NOTHING RETURNING person_id",
                (report_id, person.person_id, person.role, person.level, at, person.added_by))
            added += [r[0] for r in rows]
        return added

    async def recipients(self, report_id: int) -> list[Recipient]:
        rows = await self._all("SELECT * FROM safety_recipients WHERE report_id = ? ORDER BY level = 0, level, "
                               "told_at, person_id", (report_id,))
        return [_recipient(r) for r in rows]

    async def recipient(self, report_id: int, person_id: int) -> Recipient | None:
        row = await self._one("SELECT * FROM safety_recipients WHERE report_id = ? AND person_id = ?",
                              (report_id, person_id))
        return _recipient(row) if row else None

    async def acknowledge(self, report_id: int, person_id: int, at: str) -> bool:
        """False if this person had acknowledged already (or was never told)."""
        rows = await self._write(
            "UPDATE safety_recipients SET acked_at = ? WHERE report_id = ? AND person_id = ? AND acked_at IS NULL "
            "RETURNING person_id", (at, report_id, person_id))
        return bool(rows)

    async def mark_retold(self, report_id: int, level: int, at: str) -> bool:
        """The report's current level was told again; False if someone did it first, the level moved on or someone
        acknowledged it meanwhile."""
        rows = await self._write(
            "UPDATE safety_reports AS r SET retold_at = ? WHERE id = ? AND level = ? AND retold_at IS NULL "
            "AND NOT " + _ACKED + " RETURNING id", (at, report_id, level))
        if rows:
            await self._write("UPDATE safety_recipients SET retold_at = ? WHERE report_id = ? AND level = ?",
                              (at, report_id, level))
        return bool(rows)

    async def raise_level(self, report_id: int, level: int, at: str) -> bool:
        """The report goes up to `level` as of `at`; False if it is there already, or someone acknowledged it."""
        rows = await self._write(
            "UPDATE safety_reports AS r SET level = ?, level_at = ?, retold_at = NULL WHERE id = ? AND level < ? "
            "AND NOT " + _ACKED + " RETURNING id", (level, at, report_id, level))
        return bool(rows)

    async def mark_feedback_reminded(self, report_id: int, at: str) -> bool:
        rows = await self._write(
            "UPDATE safety_reports SET feedback_reminded_at = ? WHERE id = ? AND feedback_reminded_at IS NULL "
            "RETURNING id", (at, report_id))
        return bool(rows)

    # -- the case ---------------------------------------------------------------------------------------------

    async def set_state(self, report_id: int, old: str, new: str, at: str) -> bool:
        """Move the case from `old` to `new` (not to closed: that is `close`); False if it was not in `old`."""
        accepted = ", accepted_at = COALESCE(accepted_at, ?)" if new == ACCEPTED else ""
        params = (new, at, report_id, old) if accepted else (new, report_id, old)
        rows = await self._write(f"UPDATE safety_reports SET state = ?{accepted} WHERE id = ? AND state = ? "
                                 "RETURNING id", params)
        return bool(rows)

    async def record_feedback(self, report_id: int, note: str, at: str) -> bool:
        rows = await self._write("UPDATE safety_reports SET feedback_at = ?, feedback_note = ? WHERE id = ? "
                                 "AND state <> 'closed' RETURNING id", (at, note, report_id))
        return bool(rows)

    async def request_close(self, report_id: int, by: int, reason: str, at: str) -> bool:
        rows = await self._write(
            "UPDATE safety_reports SET close_requested_by = ?, close_requested_at = ?, close_reason = ? "
            "WHERE id = ? AND state <> 'closed' RETURNING id", (by, at, reason, report_id))
        return bool(rows)

    async def close(self, report_id: int, requested_by: int, by: int, at: str) -> bool:
        """Close on the request of `requested_by`, confirmed by `by`; False if the request changed meanwhile."""
        rows = await self._write(
            "UPDATE safety_reports SET state = 'closed', closed_by = ?, closed_at = ? WHERE id = ? "
            "AND state <> 'closed' AND close_requested_by = ? AND close_requested_by <> ? RETURNING id",
            (by, at, report_id, requested_by, by))
        return bool(rows)

    async def add_event(self, event: NewEvent) -> int:
        [(event_id,)] = await self._write(
            "INSERT INTO safety_events (report_id, at, person_id, kind, state, note, visited_on, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (event.report_id, event.at, event.person_id, event.kind, event.state, event.note,
             event.visited_on.isoformat() if event.visited_on else None, event.outcome))
        return event_id

    async def events(self, report_id: int) -> list[Event]:
        rows = await self._all("SELECT * FROM safety_events WHERE report_id = ? ORDER BY at, id", (report_id,))
        return [Event(r["id"], r["at"], r["person_id"], r["kind"], r["state"], r["note"],
                      date.fromisoformat(r["visited_on"]) if r["visited_on"] else None, r["outcome"]) for r in rows]


def moment(stored: str | None) -> datetime | None:
    """A stored moment as an aware datetime, or None."""
    return unstamp(stored) if stored else None
