"""What proxy parents and teachers record about a child and send to the family: updates with photos and voice
notes, test scores, good news, monthly summaries, and talk records; the child's growth timeline; and what each
carer still owes (bot.musts.tracker).

A form is a draft in the database (one per person), so a restart loses nothing and an album's photos, which
arrive as separate messages, gather in one place. Sending it writes the entry, its media, one delivery per
family member and their outbox rows in one transaction: either the family gets it or nothing was saved.
Who writes and reads what is bot.access.policy's ENTRY_READ / ENTRY_WRITE. Knows nothing of Telegram.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.musts import tracker as musts
from bot.musts.cards import TIMELINE_VALUE, card, title
from bot.clock import Clock
from bot.access.consent import ConsentService
from bot.musts.forms import (FORMS, KINDS, MAX_PHOTOS, MAX_VOICES, MULTI, SCORE, SUMMARY, TALK, BadValue, FormSpec,
                       chosen_value, missing, next_field, typed_value)
from bot.i18n import N_, translator
from bot.notices import CAPTION_LIMIT, Outbox
from bot.musts.media import MAX_DOWNLOAD_BYTES
from bot.access.people import AlreadyAcknowledged, Actor, NoConsent, NotAllowed
from bot.access.policy import (FACT, FAMILY_ROLES, FULL, PROXY, TEACHER, entry_access, may_write, reaches,
                        roles_for)
from bot.preferences import PreferencesService
from storage.audit import AuditRepository
from storage.care import CareRepository, Entry, Media
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.outbox import Outgoing
from storage.people import PeopleRepository

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ACK = "cack"  # callback data of the "Received" button under a card: cack:<delivery id>
PAGE_SIZE = 4
DRAFT_LIFETIME = timedelta(days=1)

# add_media outcomes
ADDED, DUPLICATE, FULL_UP, TOO_LARGE, NO_MEDIA = "added", "duplicate", "full", "too_large", "no_media"


class CareError(Exception):
    """Bad input a person can cause; the handler answers it. Nothing was stored."""


class NoDraft(CareError):
    pass


class Incomplete(CareError):
    def __init__(self, fields: list[str]) -> None:
        super().__init__("incomplete")
        self.fields = fields  # N_ labels of what is missing; empty: nothing at all was filled in


@dataclass(frozen=True)
class MediaIn:
    kind: str               # "photo" | "voice"
    file_id: str
    unique_id: str
    size: int | None = None
    group: str | None = None  # an album's id: its photos arrive one by one


@dataclass
class Draft:
    person_id: int
    child_id: int
    child_name: str
    kind: str
    fields: dict = field(default_factory=dict)
    media: list[dict] = field(default_factory=list)
    awaiting: str | None = None
    panel: int | None = None    # the message showing the form, edited as the form fills
    group: str | None = None    # the album being received

    @property
    def spec(self) -> FormSpec:
        return FORMS[self.kind]

    @property
    def photos(self) -> int:
        return sum(1 for m in self.media if m["kind"] == "photo")

    @property
    def voices(self) -> int:
        return sum(1 for m in self.media if m["kind"] == "voice")

    def body(self) -> dict:
        return {"fields": self.fields, "media": self.media, "awaiting": self.awaiting,
                "panel": self.panel, "group": self.group}


@dataclass(frozen=True)
class Recipient:
    person_id: int
    name: str
    reachable: bool


@dataclass(frozen=True)
class Submitted:
    entry_id: int
    kind: str
    child_name: str
    recipients: list[Recipient]


@dataclass(frozen=True)
class TimelineItem:
    entry: Entry
    text: str
    photos: int
    voices: int
    received_by: list[str]


@dataclass(frozen=True)
class TimelinePage:
    child_id: int
    child_name: str
    items: list[TimelineItem]
    page: int
    pages: int


@dataclass(frozen=True)
class ChildDue:
    child: ChildRow
    musts: list[musts.Must]


class CareService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository,
                 consent: ConsentService, outbox: Outbox, preferences: PreferencesService, clock: Clock,
                 timezone_name: str, rules: musts.Rules | None = None) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._consent = consent
        self._outbox = outbox
        self._preferences = preferences
        self._clock = clock
        self._tz = ZoneInfo(timezone_name)
        self.rules = rules or musts.Rules()
        self.repo = CareRepository(db)

    def _now(self) -> str:
        return self._clock.now().isoformat(timespec="seconds")

    def today(self) -> date:
        """The school's local date: what "today" means on a form and in the tracker."""
        return self._clock.now().astimezone(self._tz).date()


    # -- whose children ---------------------------------------------------------------------------------

    async def children(self, actor: Actor, kind: str | None = None) -> list[ChildRow]:
        """The children this person may write `kind` for (any entry's reader when None). Before consent too:
        choosing one then says why not."""
        return await self._children.reached_by(actor.grants, FORMS[kind].writers if kind else None)

    async def _writable(self, actor: Actor, child_id: int, kind: str) -> ChildRow:
        child = await self._children.get(child_id)
        if child is None or actor.person_id is None or not roles_for(actor.grants, child.place) & FORMS[kind].writers:
            raise NotAllowed("write")
        consented = await self._consent.consented(child_id)
        if not consented:
            raise NoConsent(child.name)
        if not may_write(actor.grants, child.place, kind, consented=consented):
            raise NotAllowed("write")
        return child

    def _role_for(self, actor: Actor, child: ChildRow, kind: str) -> str:
        roles = roles_for(actor.grants, child.place) & FORMS[kind].writers
        return PROXY if PROXY in roles else next(iter(sorted(roles)))

    # -- the draft --------------------------------------------------------------------------------------

    async def start(self, actor: Actor, child_id: int, kind: str) -> Draft:
        """A new form for the child; any unsent one of this person is replaced."""
        if kind not in KINDS:
            raise NotAllowed("kind")
        child = await self._writable(actor, child_id, kind)
        draft = Draft(actor.person_id, child.id, child.name, kind)
        await self._save(draft)
        return draft

    async def draft(self, actor: Actor) -> Draft | None:
        if actor.person_id is None:
            return None
        row = await self.repo.draft(actor.person_id)
        if row is None:
            return None
        if _moment(row.updated_at) < self._clock.now() - DRAFT_LIFETIME:
            # A form left open for a day is forgotten: otherwise whatever the person types days later would
            # quietly land in its note instead of being answered.
            async with self._db.transaction() as conn:
                await CareRepository.delete_draft(conn, row.person_id)
            return None
        child = await self._children.get(row.child_id)
        b = row.body
        return Draft(row.person_id, row.child_id, child.name if child else "", row.kind, b.get("fields", {}),
                     b.get("media", []), b.get("awaiting"), b.get("panel"), b.get("group"))

    async def _current(self, actor: Actor) -> Draft:
        draft = await self.draft(actor)
        if draft is None:
            raise NoDraft()
        return draft

    async def _save(self, draft: Draft) -> None:
        await self.repo.save_draft(draft.person_id, draft.child_id, draft.kind, draft.body(), self._now())

    async def ask(self, actor: Actor, key: str | None) -> Draft:
        """The field the next typed answer is for (None: the note, where the form has one)."""
        draft = await self._current(actor)
        if key is not None and draft.spec.field(key) is None:
            raise BadValue(N_("That button is no longer valid."))
        draft.awaiting = key
        await self._save(draft)
        return draft

    async def choose(self, actor: Actor, key: str, choice: str) -> Draft:
        """A button's answer. In a MULTI field a press adds or removes the choice."""
        draft = await self._current(actor)
        spec = draft.spec.field(key)
        if spec is None:
            raise BadValue(N_("That button is no longer valid."))
        value = chosen_value(spec, choice, self.today())
        if spec.type == MULTI:
            chosen = list(draft.fields.get(key) or [])
            chosen.remove(value) if value in chosen else chosen.append(value)
            draft.fields[key] = chosen
            draft.awaiting = key  # still choosing; typing adds a topic of one's own
        else:
            draft.fields[key] = value
            draft.awaiting = None
        await self._save(draft)
        return draft

    async def type(self, actor: Actor, text: str) -> Draft:
        """A typed answer: for the field awaited, else the form's note (appended to)."""
        draft = await self._current(actor)
        asked = next_field(draft.spec, draft.fields)
        key = draft.awaiting or (asked.key if asked else None) or draft.spec.note
        spec = draft.spec.field(key) if key else None
        if spec is None:
            raise BadValue(N_("Please use the buttons."))
        value = typed_value(spec, text, self.today())
        if spec.type == MULTI:
            draft.fields[key] = [*(draft.fields.get(key) or []), *value]
        elif key == draft.spec.note and not draft.awaiting and draft.fields.get(key):
            draft.fields[key] = typed_value(spec, f"{draft.fields[key]}\n{value}", self.today())
        else:
            draft.fields[key] = value
        if spec.type != MULTI:
            draft.awaiting = None
        await self._save(draft)
        return draft

    async def add_media(self, actor: Actor, item: MediaIn, caption: str | None = None) -> tuple[Draft, str]:
        """A photo or voice note for the form; its caption joins the note."""
        draft = await self._current(actor)
        if not draft.spec.media or item.kind not in ("photo", "voice"):
            return draft, NO_MEDIA
        if item.size is not None and item.size > MAX_DOWNLOAD_BYTES:
            return draft, TOO_LARGE
        if any(m["unique"] == item.unique_id for m in draft.media) or \
                await self.repo.known_files(draft.child_id, [item.unique_id]):
            return draft, DUPLICATE
        if (item.kind == "photo" and draft.photos >= MAX_PHOTOS) or (item.kind == "voice" and draft.voices >= MAX_VOICES):
            return draft, FULL_UP
        draft.media.append({"kind": item.kind, "file_id": item.file_id, "unique": item.unique_id, "size": item.size})
        if caption and caption.strip() and draft.spec.note:
            note = draft.fields.get(draft.spec.note)
            draft.fields[draft.spec.note] = typed_value(draft.spec.field(draft.spec.note),
                                                        f"{note}\n{caption}" if note else caption, self.today())
        await self._save(draft)
        return draft, ADDED

    async def remember_panel(self, actor: Actor, message_id: int | None, group: str | None) -> None:
        draft = await self.draft(actor)
        if draft is not None:
            draft.panel, draft.group = message_id, group
            await self._save(draft)

    async def discard(self, actor: Actor) -> Draft | None:
        draft = await self.draft(actor)
        if draft is not None:
            async with self._db.transaction() as conn:
                await CareRepository.delete_draft(conn, draft.person_id)
        return draft

    async def month_facts(self, child_id: int, period: str) -> dict:
        """The month in numbers, for a summary: updates, photos, good news and each score."""
        first = date.fromisoformat(f"{period}-01")
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        entries = await self.repo.between(child_id, first.isoformat(), last.isoformat())
        counts = await self.repo.media_counts([e.id for e in entries])
        facts = {"updates": sum(e.kind == "update" for e in entries),
                 "goodnews": sum(e.kind == "goodnews" for e in entries),
                 "photos": sum(counts.get(e.id, {}).get("photo", 0) for e in entries),
                 "scores": [{k: e.body["fields"].get(k, "") for k in ("subject", "score", "test", "date")}
                            for e in entries if e.kind == SCORE]}
        return facts

    # -- sending ----------------------------------------------------------------------------------------

    async def submit(self, actor: Actor) -> Submitted:
        """Store the entry and send it to the child's family, in one transaction; the draft goes."""
        draft = await self._current(actor)
        child = await self._writable(actor, draft.child_id, draft.kind)
        gaps = missing(draft.spec, draft.fields)
        if gaps:
            raise Incomplete([f.label for f in gaps])
        if not draft.fields and not draft.media:
            raise Incomplete([])
        role = self._role_for(actor, child, draft.kind)
        occurred = draft.fields.get("date") or self.today().isoformat()
        period = draft.fields.get("month") if draft.kind == SUMMARY else None
        body = {"fields": draft.fields}
        if period:
            body["facts"] = await self.month_facts(child.id, period)
        author = await self._people.person(actor.person_id)
        author_name = author.display_name if author else ""
        family = await self._family(child, exclude=actor.person_id)
        now = self._now()
        async with self._db.transaction() as conn:
            entry_id = await CareRepository.add_entry(conn, child.id, actor.person_id, role, draft.kind, occurred,
                                                      period, body, now)
            media: list[dict] = []
            for position, item in enumerate(draft.media):
                media_id = await CareRepository.add_media(conn, entry_id, child.id, position, item["kind"],
                                                          item["file_id"], item["unique"], item.get("size"))
                if media_id is not None:  # the same file already in the record is not stored twice
                    media.append(item)
            rows: list[Outgoing] = []
            for person_id, chat, locale in family:
                delivery_id = await CareRepository.add_delivery(conn, entry_id, person_id)
                rows += self._rows(entry_id, delivery_id, draft.kind, child, occurred, period, body, role,
                                   author_name, media, person_id, chat, locale, actor.person_id)
            await CareRepository.delete_draft(conn, actor.person_id)
            await AuditRepository.record(conn, now, actor.person_id, child.id, f"care_{draft.kind}",
                                         f"entry={entry_id} media={len(media)}")
            if rows:
                await self._outbox.add(conn, rows)
        log.info("care entry %s (%s) for child %s by person %s: %s media, %s recipients", entry_id, draft.kind,
                 child.id, actor.person_id, len(media), len(family))
        recipients = []
        for person_id, chat, _locale in family:
            person = await self._people.person(person_id)
            recipients.append(Recipient(person_id, person.display_name if person else "",
                                        await self._outbox.repo.reachable(CHANNEL, chat)))
        return Submitted(entry_id, draft.kind, child.name, recipients)

    async def _family(self, child: ChildRow, exclude: int | None) -> list[tuple[int, str, str]]:
        """The child's parents and guardians the bot can reach: (person id, chat, language)."""
        seen: dict[int, tuple[int, str, str]] = {}
        for grant in await self._people.grants_for_child(child.id, child.school_id, child.class_id):
            if grant.role in FAMILY_ROLES and grant.person_id != exclude and grant.person_id not in seen:
                chat = await self._people.external_id(grant.person_id, CHANNEL)
                if chat is not None:
                    locale = await self._preferences.locale_for(int(chat), None)
                    seen[grant.person_id] = (grant.person_id, chat, locale)
        return list(seen.values())

    def _rows(self, entry_id: int, delivery_id: int, kind: str, child: ChildRow, occurred: str, period: str | None,
              body: dict, role: str, author_name: str, media: list[dict], person_id: int, chat: str, locale: str,
              author_id: int) -> list[Outgoing]:
        """One family member's copy: the photos (an album when several), the voice notes, then the card with
        the "Received" button, so the button sits under everything. A talk record is only announced."""
        _ = translator(locale).gettext
        key = f"care:{entry_id}:{person_id}"
        options = {"person_id": person_id, "notify_person_id": author_id, "child_id": child.id}
        if kind == TALK:
            text = card(_, kind, child.name, occurred, period, body, role, author_name, locale, access=FACT)
            return Outbox.texts(f"{key}:card", CHANNEL, chat, text, **options)
        photos = [m for m in media if m["kind"] == "photo"]
        voices = [m for m in media if m["kind"] == "voice"]
        heading = title(_, kind, child.name, occurred, locale, period)[:CAPTION_LIMIT]
        rows: list[Outgoing] = []
        if len(photos) > 1:
            rows.append(Outgoing(f"{key}:album", CHANNEL, chat, "media_group",
                                 {"media": [{"type": "photo", "file_id": m["file_id"]} for m in photos],
                                  "caption": heading, "protect": True}, **options))
        elif photos:
            rows.append(Outgoing(f"{key}:photo", CHANNEL, chat, "media",
                                 {"type": "photo", "file_id": photos[0]["file_id"], "caption": heading,
                                  "protect": True}, **options))
        for n, voice in enumerate(voices):
            rows.append(Outgoing(f"{key}:voice{n}", CHANNEL, chat, "media",
                                 {"type": "voice", "file_id": voice["file_id"], "protect": True}, **options))
        text = card(_, kind, child.name, occurred, period, body, role, author_name, locale, len(photos), len(voices))
        markup = {"inline_keyboard": [[{"text": _("✅ Received"), "callback_data": f"{ACK}:{delivery_id}"}]]}
        return rows + Outbox.texts(f"{key}:card", CHANNEL, chat, text, reply_markup=markup, **options)

    # -- acknowledgement --------------------------------------------------------------------------------

    async def acknowledge(self, actor: Actor, delivery_id: int) -> str:
        """The family member confirms, once; the author is told in their language. Returns the child's name."""
        delivery = await self.repo.delivery(delivery_id)
        if delivery is None or actor.person_id is None or delivery.recipient_id != actor.person_id:
            raise NotAllowed("acknowledge")
        if delivery.acknowledged_at is not None:
            raise AlreadyAcknowledged()
        entry = await self.repo.entry(delivery.entry_id)
        child = await self._children.get(entry.child_id) if entry else None
        if entry is None or child is None:
            raise NotAllowed("acknowledge")
        me = await self._people.person(actor.person_id)
        rows = []
        chat = await self._people.external_id(entry.author_id, CHANNEL) if entry.author_id else None
        if chat is not None:
            locale = await self._preferences.locale_for(int(chat), None)
            _ = translator(locale).gettext
            text = _("✅ {name} received {what}.").format(
                name=me.display_name if me else _("the recipient"),
                what=title(_, entry.kind, child.name, entry.occurred_on, locale, entry.period))
            rows = Outbox.texts(f"care-ack:{delivery_id}", CHANNEL, chat, text, person_id=entry.author_id,
                                child_id=child.id)
        async with self._db.transaction() as conn:
            if not await CareRepository.acknowledge(conn, delivery_id, self._now()):
                raise AlreadyAcknowledged()
            if rows:
                await self._outbox.add(conn, rows)
        log.info("care delivery %s acknowledged by person %s", delivery_id, actor.person_id)
        return child.name

    # -- the timeline -----------------------------------------------------------------------------------

    async def _readable(self, actor: Actor, child_id: int) -> tuple[ChildRow, dict[str, str]]:
        """The child and, per kind, how much this person reads of it."""
        child = await self._children.get(child_id)
        if child is None or not roles_for(actor.grants, child.place):
            raise NotAllowed("timeline")
        consented = await self._consent.consented(child_id)
        if not consented:
            raise NoConsent(child.name)
        access = {kind: entry_access(actor.grants, child.place, kind, consented=True) for kind in KINDS}
        access = {kind: level for kind, level in access.items() if level}
        if not access:
            raise NotAllowed("timeline")
        return child, access

    async def timeline(self, actor: Actor, child_id: int, page: int, locale: str) -> TimelinePage:
        """The child's entries, newest first, PAGE_SIZE a page, as this person may read them."""
        child, access = await self._readable(actor, child_id)
        kinds = tuple(access)
        total = await self.repo.count(child.id, kinds)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        entries = await self.repo.entries(child.id, kinds, PAGE_SIZE, page * PAGE_SIZE)
        counts = await self.repo.media_counts([e.id for e in entries])
        deliveries = await self.repo.deliveries([e.id for e in entries])
        _ = translator(locale).gettext
        items = []
        for entry in entries:
            level = access[entry.kind]
            author = await self._people.person(entry.author_id) if entry.author_id else None
            photos = counts.get(entry.id, {}).get("photo", 0) if level == FULL else 0
            voices = counts.get(entry.id, {}).get("voice", 0) if level == FULL else 0
            text = card(_, entry.kind, child.name, entry.occurred_on, entry.period, entry.body, entry.author_role,
                        author.display_name if author else "", locale, photos, voices, access=level, limit=TIMELINE_VALUE)
            received = []
            if level == FULL:
                for d in deliveries.get(entry.id, []):
                    if d.acknowledged_at:
                        person = await self._people.person(d.recipient_id)
                        received.append(person.display_name if person else "")
            items.append(TimelineItem(entry, text, photos, voices, received))
        async with self._db.transaction() as conn:
            await AuditRepository.record(conn, self._now(), actor.person_id, child.id, "view_timeline",
                                         f"page={page + 1}")
        return TimelinePage(child.id, child.name, items, page, pages)

    async def entry_media(self, actor: Actor, entry_id: int) -> tuple[Entry, list[Media]]:
        """An entry's photos and voice notes, for someone who may read the entry in full."""
        entry = await self.repo.entry(entry_id)
        if entry is None:
            raise NotAllowed("media")
        child, access = await self._readable(actor, entry.child_id)
        if access.get(entry.kind) != FULL:
            raise NotAllowed("media")
        media = await self.repo.media(entry.id)
        async with self._db.transaction() as conn:
            await AuditRepository.record(conn, self._now(), actor.person_id, child.id, "view_media",
                                         f"entry={entry.id}")
        return entry, media

    async def export(self, actor: Actor, child_id: int) -> list[dict]:
        """Every entry about the child as this person may read it, oldest first, for their copy (/mydata):
        the fields as stored, the photos and voice notes by file name under the data directory."""
        child, access = await self._readable(actor, child_id)
        entries = list(reversed(await self.repo.entries(child.id, tuple(access), limit=100_000)))
        found = []
        for entry in entries:
            item = {"kind": entry.kind, "date": entry.occurred_on, "recorded_at": entry.created_at,
                    "author_role": entry.author_role}
            if access[entry.kind] == FULL:
                media = await self.repo.media(entry.id)
                item.update(entry.body, period=entry.period,
                            media=[{"kind": m.kind, "stored_as": m.stored_path} for m in media])
            found.append(item)
        return found

    # -- the five musts ---------------------------------------------------------------------------------

    async def due(self, actor: Actor) -> list[ChildDue]:
        """For a proxy parent, their children; for a teacher, the class; each with what is done and due."""
        now = self._clock.now()
        window = (now - timedelta(days=max(70, self.rules.update_every_days + 40))).isoformat(timespec="seconds")
        result = []
        for child in await self.children(actor, "update"):
            if not any(g.role in (PROXY, TEACHER) and reaches(g, child.place) for g in actor.grants):
                continue
            started = await self.repo.care_started(child.id)
            since = _moment(started) if started else now
            facts = [musts.Fact(e.kind, self._counted_at(e), photos, e.period)
                     for e, photos in await self.repo.since(child.id, window)]
            result.append(ChildDue(child, musts.check(facts, now=now, tz=self._tz, since=since, rules=self.rules)))
        return result


    def _counted_at(self, entry: Entry) -> datetime:
        """A talk counts for the day it was held (recorded on the 2nd, held on the 28th: last month's talk);
        everything else for when the family got it."""
        if entry.kind == TALK:
            return datetime.combine(date.fromisoformat(entry.occurred_on), time(12), self._tz)
        return _moment(entry.created_at)


def _moment(stored: str) -> datetime:
    moment = datetime.fromisoformat(stored)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

