"""Notices, and putting them in the outbox. Knows nothing of Telegram.

A service says what a person should be told as a `Notice`: plain data (who, the text, the buttons as declared
payloads with labels, media by reference, whether it may be saved or forwarded, whether it is urgent). The
outbox finds the person's address, splits the text to the channel's limits, holds it for the recipient's quiet
hours unless urgent, and writes it in the caller's transaction. The renderer in `bot.runtime.telegram` turns a
row into a Telegram message with its keyboard when it is sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosqlite

from bot.clock import Clock, stamp, unstamp
from bot.i18n import DEFAULT_LOCALE, format_datetime, translator
from bot.payloads import Payload
from storage.children import ChildrenRepository
from storage.outbox import OutboxRepository, OutboxRow, Outgoing
from storage.people import PeopleRepository
from storage.preferences import PreferencesRepository

# Lanes, served in this order whenever the limits leave room. Safety alerts are never held for quiet hours;
# interactive: relays, answers and notices caused by a person's action; reminders: time-bound; bulk: digests,
# class-wide notices, calendar tasks.
SAFETY, INTERACTIVE, REMINDERS, BULK = 0, 1, 2, 3
# A message that reaches its reader this long after it was written says when it was written.
WAITED = timedelta(minutes=30)
# Who reaches a child without being its school's staff: such a person gets rows about the child only while
# consent stands (teachers and admins keep working with the record either way, and so do the township's
# supervisors and the village's child director: public child-welfare staff, bot.access.policy.BEFORE_CONSENT).
STAFF_ROLES = ("teacher", "admin", "supervisor", "director")

@dataclass(frozen=True)
class Action:
    """A button under a notice: its label (already in the reader's language) and the payload it carries."""

    label: str
    payload: Payload


@dataclass(frozen=True)
class Media:
    """A photo, voice note, video, audio or document by the channel's reference (a Telegram file_id), or a
    copy of a message the channel holds (`kind="copy"`, `ref="<chat>:<message>"`)."""

    kind: str
    ref: str


@dataclass(frozen=True)
class Notice:
    """What one person is to be told. `key` makes telling them twice harmless (the outbox's dedupe key).
    Media go first (photos together as an album), then the text with its buttons; `caption` puts the text under
    a single medium instead. `protect`: may not be saved or forwarded. `reply_to`: a message in the recipient's
    chat that this answers."""

    key: str
    person_id: int
    text: str = ""
    actions: Sequence[Sequence[Action]] = ()
    media: Sequence[Media] = ()
    caption: bool = False
    protect: bool = False
    urgent: bool = False
    reply_to: str | None = None
    child_id: int | None = None
    notify_person_id: int | None = None
    # Urgent after all if the recipient's quiet hours would hold it until this moment or later (a reminder
    # that would only arrive once its video call has begun).
    deadline: datetime | None = None
    # The end of its window (a reminder): its lane is served soonest `due_by` first, and a row sent after it is
    # recorded as late.
    due_by: datetime | None = None
    lane: int = INTERACTIVE
    # About `child_id`, for family or a proxy parent: sent only while the child's consent stands. False for
    # what a person must hear whatever the consent (the answer to their own request about the record).
    needs_consent: bool = True


def actions_json(rows: Sequence[Sequence[Action]]) -> list[list[dict]]:
    """Buttons as stored in an outbox row: rows of {"label", "data"}; the renderer makes them a keyboard."""
    return [[{"label": a.label, "data": a.payload.pack()} for a in row] for row in rows if row]


TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
DEFAULT_QUIET = (time(22, 0), time(7, 0))


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at a line break if there is one in the second half of the
    piece, else at a space, else (Chinese has no spaces; a very long word) anywhere. Blank pieces are
    dropped: Telegram refuses an empty message."""
    pieces = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    pieces.append(rest)
    kept = [piece for piece in pieces if piece.strip()]
    return kept or [text[:limit]]


def quiet_end(local_now: datetime, start: time, end: time) -> datetime | None:
    """If `local_now` falls in the quiet window [start, end) (which may run past midnight), when it ends,
    in the same zone; else None. The end is built from the local date, so a DST change is respected."""
    now_t = local_now.time().replace(tzinfo=None)
    if start == end:
        return None
    inside = start <= now_t < end if start < end else (now_t >= start or now_t < end)
    if not inside:
        return None
    day = local_now.date() if now_t < end else local_now.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local_now.tzinfo)


def _parse_hhmm(value: str | None, default: time) -> time:
    if not value:
        return default
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class Outbox:
    def __init__(self, repo: OutboxRepository, preferences: PreferencesRepository, clock: Clock,
                 default_timezone: str) -> None:
        self.repo = repo
        self._preferences = preferences
        self._clock = clock
        self._default_tz = default_timezone
        # Set by the runner to the sender's wake(): new mail goes out now, not at the next poll.
        self.wake: Callable[[], None] = lambda: None

    async def quiet_until(self, recipient: str, now: datetime) -> datetime | None:
        """When the recipient's quiet hours end, if they are in them now (their current settings); else None."""
        # Preferences are kept by the numeric id a channel gives a chat; an address without one has none.
        if not recipient.lstrip("-").isdigit():
            return None
        prefs = await self._preferences.get(int(recipient))
        if prefs is not None and prefs.quiet_off:
            return None
        zone_name = (prefs.timezone if prefs else None) or self._default_tz
        try:
            zone = ZoneInfo(zone_name)
        except ZoneInfoNotFoundError:
            zone = ZoneInfo(self._default_tz)
        start = _parse_hhmm(prefs.quiet_start if prefs else None, DEFAULT_QUIET[0])
        end = _parse_hhmm(prefs.quiet_end if prefs else None, DEFAULT_QUIET[1])
        until = quiet_end(now.astimezone(zone), start, end)
        return None if until is None else until.astimezone(timezone.utc)

    async def as_sent(self, row: OutboxRow, now: datetime) -> OutboxRow:
        """Asked by the sender just before a row goes out: a message people wrote that waited (quiet hours, a
        blocked bot) says when it was written, on the reader's clock and in their language, so a message from
        last night is not read as news. Reminders and bulk notices carry their own times."""
        if (row.kind != "text" or row.lane != INTERACTIVE or not row.created_at
                or now - unstamp(row.created_at) < WAITED or not row.recipient.lstrip("-").isdigit()):
            return row
        prefs = await self._preferences.get(int(row.recipient))
        locale = (prefs.locale if prefs else None) or DEFAULT_LOCALE
        zone = (prefs.timezone if prefs else None) or self._default_tz
        note = translator(locale).gettext("(written {time})").format(
            time=format_datetime(unstamp(row.created_at), locale, zone, "short"))
        text = f"{row.payload.get('text', '')}\n{note}"
        return row if len(text) > TEXT_LIMIT else replace(row, payload={**row.payload, "text": text})

    async def person_quiet_until(self, person_id: int, now: datetime) -> datetime | None:
        """The same for a person, where the outbox addresses them."""
        address = await self.repo.address_of(person_id)
        return None if address is None else await self.quiet_until(address[1], now)

    async def held_until(self, row: OutboxRow, now: datetime) -> datetime | None:
        """Asked by the sender just before it chooses a row: when the recipient's quiet hours (as they are set
        now) end, if the row must wait for that. Urgent rows and the safety lane never wait."""
        if row.urgent or row.lane == SAFETY:
            return None
        return await self.quiet_until(row.recipient, now)

    async def add(self, conn: aiosqlite.Connection, items: list[Outgoing]) -> list[int]:
        """Enqueue inside the caller's transaction, so the message exists exactly if the change does. Quiet
        hours are decided when it is sent (held_until), from the recipient's settings at that moment."""
        now = stamp(self._clock.now())
        ids = await OutboxRepository.enqueue(conn, items, [now] * len(items), now)
        self.wake()  # the sender's lease waits for this transaction to commit; a rollback leaves it nothing
        return ids

    async def post(self, conn: aiosqlite.Connection, notices: Sequence[Notice]) -> list[int]:
        """Enqueue notices inside the caller's transaction. A person with no address on any channel is skipped
        (nobody to tell); the ids are those of the rows written."""
        rows: list[Outgoing] = []
        for notice in notices:
            address = await OutboxRepository.address(conn, notice.person_id)
            if address is None:
                continue
            made = self.rows(notice, *address)
            if notice.deadline is not None and not notice.urgent and made:
                until = await self.quiet_until(made[0].recipient, self._clock.now())
                if until is not None and until >= notice.deadline:
                    made = [replace(row, urgent=True) for row in made]
            rows += made
        return await self.add(conn, rows) if rows else []

    @staticmethod
    def rows(notice: Notice, channel: str, recipient: str) -> list[Outgoing]:
        """One notice as outbox rows, in the order they are to arrive."""
        options = {"person_id": notice.person_id, "urgent": notice.urgent, "child_id": notice.child_id,
                   "notify_person_id": notice.notify_person_id, "lane": notice.lane,
                   "needs_consent": notice.needs_consent,
                   "due_by": stamp(notice.due_by) if notice.due_by else None}
        common = {"protect": True} if notice.protect else {}
        quote = {"reply_to": notice.reply_to} if notice.reply_to else {}
        actions = actions_json(notice.actions)
        media = list(notice.media)
        caption = notice.text if notice.caption and len(media) == 1 and len(notice.text) <= CAPTION_LIMIT else None
        rows: list[Outgoing] = []
        albums = [m for m in media if m.kind == "photo"] if len([m for m in media if m.kind == "photo"]) > 1 else []
        if albums:
            rows.append(Outgoing(f"{notice.key}:album", channel, recipient, "media_group",
                                 {"media": [{"type": m.kind, "file_id": m.ref} for m in albums], **common, **quote},
                                 **options))
        for n, item in enumerate(m for m in media if m not in albums):
            payload = {**common, **quote}
            if caption is not None:
                payload["caption"] = caption
                if actions:
                    payload["actions"] = actions
            if item.kind == "copy":
                chat, _, message = item.ref.rpartition(":")
                rows.append(Outgoing(f"{notice.key}:copy{n or ''}", channel, recipient, "copy",
                                     {"from_chat_id": chat, "message_id": message, **payload}, **options))
            else:
                rows.append(Outgoing(f"{notice.key}:{item.kind}{n}", channel, recipient, "media",
                                     {"type": item.kind, "file_id": item.ref, **payload}, **options))
        if notice.text and caption is None:
            extra = {**common, **({} if media else quote), **({"actions": actions} if actions else {})}
            rows += Outbox.texts(notice.key, channel, recipient, notice.text, **extra, **options)
        return rows

    @staticmethod
    def texts(dedupe_key: str, channel: str, recipient: str, text: str, **options) -> list[Outgoing]:
        """A text as one or more rows within the channel's length limit, in order."""
        pieces = split_text(text)
        extra = {k: options.pop(k) for k in ("actions", "reply_to", "protect") if k in options}
        rows = []
        for n, piece in enumerate(pieces):
            payload = {"text": piece}
            if n == len(pieces) - 1:
                payload.update(extra)  # buttons under the last piece
            key = dedupe_key if len(pieces) == 1 else f"{dedupe_key}#{n + 1}"
            rows.append(Outgoing(key, channel, recipient, "text", payload, **options))
        return rows


# -- entitlement: who may still receive what was queued about a child ------------------------------------------

async def reach(people: PeopleRepository, children: ChildrenRepository, person_id: int,
                child_id: int) -> set[str] | None:
    """The roles by which this person reaches this child now (the services' own "who reaches this child"), or
    None if the child is gone."""
    child = await children.get(child_id)
    if child is None:
        return None
    return {g.role for g in await people.grants_for_child(child.id, child.school_id, child.class_id)
            if g.person_id == person_id}


def entitled_by(roles: set[str] | None, *, needs_consent: bool, consented: bool) -> bool:
    """Whether someone reaching a child by `roles` may receive a row about it: staff always, family and proxy
    parents only while consent stands if the row needs it."""
    if not roles:
        return False
    if roles & set(STAFF_ROLES) or not needs_consent:
        return True
    return consented


async def withdraw_unreached(conn: aiosqlite.Connection, person_id: int, now: str) -> int:
    """Inside the transaction that removed a role: end the person's pending rows about every child they no
    longer reach. Returns how many rows ended."""
    outbox = OutboxRepository(None).within(conn)
    people, children = PeopleRepository(None).within(conn), ChildrenRepository(None).within(conn)
    ended = 0
    for child_id in await outbox.pending_children(person_id):
        if not await reach(people, children, person_id, child_id):
            ended += await outbox.withdraw_pending(person_id, child_id, "Withdrawn:role", now)
    return ended


async def withdraw_without_consent(conn: aiosqlite.Connection, child_id: int, now: str) -> int:
    """Inside the transaction that withdrew or refused consent: end the pending rows about the child that need
    consent, for everyone who reaches it only as family or proxy parent."""
    outbox = OutboxRepository(None).within(conn)
    people, children = PeopleRepository(None).within(conn), ChildrenRepository(None).within(conn)
    child = await children.get(child_id)
    if child is None:
        return 0
    roles: dict[int, set[str]] = {}
    for grant in await people.grants_for_child(child.id, child.school_id, child.class_id):
        roles.setdefault(grant.person_id, set()).add(grant.role)
    ended = 0
    for person_id, held in roles.items():
        if not held & set(STAFF_ROLES):
            ended += await outbox.withdraw_pending(person_id, child_id, "Withdrawn:consent", now, consent_only=True)
    return ended
