"""What proxy parents and teachers record about a child and send to the family: updates with photos and voice
notes, test scores, good news, monthly summaries, talk records, the child's letters, and home visits (kept for the
staff unless shared with the family); the child's growth timeline; and what each
carer still owes (bot.musts.tracker).

A form is a draft in the database (one per person), so a restart loses nothing and an album's photos, which
arrive as separate messages, gather in one place. Sending it writes the entry, its media, one delivery per
family member and their notices in one transaction: either the family gets it or nothing was saved.
Who writes and reads what is bot.access.policy's ENTRY_READ / ENTRY_WRITE. Knows nothing of Telegram.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.access.consent import ConsentService
from bot.access.people import Actor
from bot.access.policy import (FACT, FAMILY_ROLES, FULL, PROXY, SHARED, TEACHER, entry_access, entry_level,
                               may_write, reaches, roles_for)
from bot.clock import Clock, stamp, unstamp
from bot.errors import AlreadyAcknowledged, NoConsent, NotAllowed, StaleButton, UserError
from bot.i18n import N_, translator
from bot.musts import tracker as musts
from bot.musts.buttons import Received
from bot.musts.cards import TIMELINE_VALUE, card, title
from bot.musts.forms import (DATE, FORMS, KINDS, LETTER, MAX_PHOTOS, MAX_VOICES, MULTI, NOT_SHARED, SCORE, SUMMARY,
                             TALK, TEXT, VISIT, BadValue, FormSpec, chosen_value, for_family, missing, next_field,
                             typed_value)
from bot.musts.media import MAX_DOWNLOAD_BYTES
from bot.notices import Action, Media as Attached, Notice, Outbox
from bot.preferences import PreferencesService
from bot.relay import RelayChoice
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.musts import DraftRow, Entry, Media, MustsRepository
from storage.people import PeopleRepository

log = logging.getLogger(__name__)

PAGE_SIZE = 4
# Typed at a form's first step, a date, words without a digit are the story, not a date (`type`), when they are
# longer than a date said in words ("上周三下午", "last Monday afternoon"): this many Chinese characters, or words.
TELLING_CHARACTERS = 6
TELLING_WORDS = 4
DRAFT_LIFETIME = timedelta(days=1)

# The record's guardianship assessment (bot.records.fields) and its value 差.
GUARDIANSHIP_ASSESSMENT, POOR = "guardianship_assessment", "poor"


class CareError(UserError):
    """Something a person sent or pressed that a form cannot take; nothing was stored. The params named in
    `translated` are msgids themselves (a form's name), translated when shown."""

    translated: tuple[str, ...] = ()

    def text(self, gettext) -> str:
        params = {k: gettext(v) if k in self.translated else v for k, v in self.params.items()}
        return gettext(self.msgid).format(**params)


class NoDraft(CareError):
    msgid = N_("This form is closed.")


class FormClosed(CareError):
    """A button of a form that is no longer the one open (sent, cancelled, or replaced by another)."""

    msgid = N_("This form is closed. Start again with /{command}.")
    quiet = True


class Incomplete(CareError):
    msgid = N_("Please fill in: {fields}.")

    def __init__(self, fields: list[str]) -> None:
        super().__init__(None if fields else N_("The form is empty: fill in something, or send a photo or a "
                                                "voice note."))
        self.fields = fields  # N_ labels of what is missing; empty: nothing at all was filled in

    def text(self, gettext) -> str:
        return gettext(self.msgid).format(fields=gettext(", ").join(gettext(f) for f in self.fields))


class FileTooLarge(CareError):
    msgid = N_("That file is too large (more than 20 MB). Send photos or a voice note.")


class PhotosAndVoiceOnly(CareError):
    msgid = N_("A form takes photos and voice notes only. Send the picture as a photo.")


class AlreadyKept(CareError):
    msgid = N_("This photo or voice note is already in {child}'s record; it was not added again.")


class FullUp(CareError):
    msgid = N_("That is as many as one {what} can hold (10 photos, 3 voice notes).")
    translated = ("what",)


class NoMedia(CareError):
    msgid = N_("A {what} takes no photos or voice notes; use the buttons.")
    translated = ("what",)


class AlreadyReceived(AlreadyAcknowledged):
    msgid = N_("You already confirmed this.")
    quiet = True


@dataclass(frozen=True)
class MediaIn:
    kind: str               # "photo" | "voice"
    file_id: str
    unique_id: str
    size: int | None = None


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
                "panel": self.panel}


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
    for_family: bool = True  # False: kept for the staff (a home visit not shared), sent to nobody


@dataclass(frozen=True)
class TimelineItem:
    entry: Entry
    text: str
    photos: int
    voices: int
    received_by: list[str]


@dataclass(frozen=True)
class Timeline:
    child_id: int
    child_name: str
    items: list[TimelineItem]
    page: int
    pages: int


@dataclass(frozen=True)
class ChildDue:
    child: ChildRow
    musts: list[musts.Must]


@dataclass(frozen=True)
class _Reader:
    """A family member a card goes to: where they are reached and the language they read."""

    person_id: int
    channel: str
    address: str
    locale: str


class MustsService:
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
        self.repo = MustsRepository(db)
        self._audit = AuditRepository(db)

    def today(self) -> date:
        """The school's local date: what "today" means on a form and in the tracker."""
        return self._clock.now().astimezone(self._tz).date()

    # -- whose children ---------------------------------------------------------------------------------

    async def children(self, actor: Actor, kind: str | None = None) -> list[ChildRow]:
        """The children this person may write `kind` for (any entry's reader when None). Before consent too:
        choosing one then says why not."""
        return await self._children.reached_by(actor.grants, FORMS[kind].writers if kind else None)

    async def _writable(self, actor: Actor, child_id: int, kind: str) -> ChildRow:
        cannot = NotAllowed("write", N_("You cannot write about this child."))
        child = await self._children.get(child_id)
        if child is None or actor.person_id is None or not roles_for(actor.grants, child.place) & FORMS[kind].writers:
            raise cannot
        consented = await self._consent.consented(child_id)
        if not consented:
            raise await self._consent.refusal(child)
        if not may_write(actor.grants, child.place, kind, consented=consented):
            raise cannot
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
        draft = Draft(actor.person_id, child.id, child.name, kind, await self._defaults(actor, kind))
        await self._save(draft)
        return draft

    async def _defaults(self, actor: Actor, kind: str) -> dict:
        """A home visit is today's, made by its author, and for the staff only, until the author says otherwise:
        most visits are written down the day they are made, by whoever went."""
        if kind != VISIT:
            return {}
        author = await self._people.person(actor.person_id)
        return {"date": self.today().isoformat(), "visitors": author.display_name if author else "",
                "shared": NOT_SHARED}

    async def draft(self, actor: Actor) -> Draft | None:
        if actor.person_id is None:
            return None
        row = await self.repo.draft(actor.person_id)
        if row is None:
            return None
        if unstamp(row.updated_at) < self._clock.now() - DRAFT_LIFETIME:
            # A form left open for a day is forgotten: otherwise whatever the person types days later would
            # quietly land in its note instead of being answered.
            await self.repo.delete_draft(row.person_id)
            return None
        child = await self._children.get(row.child_id)
        b = row.body
        return Draft(row.person_id, row.child_id, child.name if child else "", row.kind, b.get("fields", {}),
                     b.get("media", []), b.get("awaiting"), b.get("panel"))

    async def form(self, actor: Actor, child_id: int, kind: str) -> Draft:
        """The open draft, if it is the `kind` form for this child (a button of it was pressed)."""
        draft = await self.draft(actor)
        if draft is None or draft.child_id != child_id or draft.kind != kind:
            raise FormClosed(command=kind)
        return draft

    async def _current(self, actor: Actor) -> Draft:
        draft = await self.draft(actor)
        if draft is None:
            raise NoDraft()
        return draft

    async def _save(self, draft: Draft) -> None:
        await self.repo.save_draft(DraftRow(draft.person_id, draft.child_id, draft.kind, draft.body(),
                                            stamp(self._clock.now())))

    async def ask(self, actor: Actor, key: str | None) -> Draft:
        """The field the next typed answer is for (None: the note, where the form has one)."""
        draft = await self._current(actor)
        if key is not None and draft.spec.field(key) is None:
            raise StaleButton()
        draft.awaiting = key
        await self._save(draft)
        return draft

    async def choose(self, actor: Actor, key: str, choice: str) -> Draft:
        """A button's answer. In a MULTI field a press adds or removes the choice."""
        draft = await self._current(actor)
        spec = draft.spec.field(key)
        if spec is None:
            raise StaleButton()
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

    async def done_choosing(self, actor: Actor) -> Draft:
        """"Done" under a multiple choice: in a form asked step by step, on to the next unanswered field."""
        draft = await self.ask(actor, None)
        if not draft.spec.sequential:
            return draft
        keys = [f.key for f in draft.spec.fields]
        chosen = next((f for f in draft.spec.fields if f.type == MULTI and draft.fields.get(f.key)), None)
        if chosen is None:
            return draft
        following = next((k for k in keys[keys.index(chosen.key) + 1:] if not draft.fields.get(k)), None)
        return await self.ask(actor, following) if following else draft

    async def type(self, actor: Actor, text: str) -> Draft:
        """A typed answer: for the field awaited, else the form's note (appended to)."""
        draft = await self._current(actor)
        asked = next_field(draft.spec, draft.fields)
        key = draft.awaiting or (asked.key if asked else None) or draft.spec.note
        spec = draft.spec.field(key) if key else None
        if spec is None:
            raise BadValue(N_("Please use the buttons."))
        if spec.type == DATE and not draft.awaiting and not draft.fields and _telling(text):
            # Someone who starts a form by telling rather than saying when ("今天和小明聊了学习") means today (or
            # yesterday, if they say so): the date is set (on the card, a press away from changed) and the words go
            # to the next step that takes typing, instead of "type the date as month-day".
            following = next((f for f in draft.spec.fields if f.key != key and f.typed and f.type in (TEXT, MULTI)),
                             None)
            if following is not None:
                yesterday = any(word in text.casefold() for word in ("昨天", "yesterday"))
                draft.fields[key] = (self.today() - timedelta(days=1 if yesterday else 0)).isoformat()
                spec, key = following, following.key
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

    async def add_media(self, actor: Actor, item: MediaIn, caption: str | None = None) -> Draft:
        """A photo or voice note for the form; its caption joins the note."""
        draft = await self._current(actor)
        if not draft.spec.media or item.kind not in ("photo", "voice"):
            raise NoMedia(what=draft.spec.name)
        if item.size is not None and item.size > MAX_DOWNLOAD_BYTES:
            raise FileTooLarge()
        if any(m["unique"] == item.unique_id for m in draft.media) or \
                await self.repo.known_files(draft.child_id, [item.unique_id]):
            raise AlreadyKept(child=draft.child_name)
        if (item.kind == "photo" and draft.photos >= MAX_PHOTOS) or (item.kind == "voice" and draft.voices >= MAX_VOICES):
            raise FullUp(what=draft.spec.name)
        draft.media.append({"kind": item.kind, "file_id": item.file_id, "unique": item.unique_id, "size": item.size})
        if caption and caption.strip() and draft.spec.note:
            note = draft.fields.get(draft.spec.note)
            draft.fields[draft.spec.note] = typed_value(draft.spec.field(draft.spec.note),
                                                        f"{note}\n{caption}" if note else caption, self.today())
        await self._save(draft)
        return draft

    async def remember_panel(self, actor: Actor, message_id: int | None) -> None:
        draft = await self.draft(actor)
        if draft is not None:
            draft.panel = message_id
            await self._save(draft)

    async def discard(self, actor: Actor) -> Draft | None:
        draft = await self.draft(actor)
        if draft is not None:
            await self.repo.delete_draft(draft.person_id)
        return draft

    async def month_facts(self, child_id: int, period: str) -> dict:
        """The month in numbers, for a summary: updates, photos, good news and each score."""
        first = date.fromisoformat(f"{period}-01")
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        entries = await self.repo.between(child_id, first.isoformat(), last.isoformat())
        counts = await self.repo.media_counts([e.id for e in entries])
        return {"updates": sum(e.kind == "update" for e in entries),
                "goodnews": sum(e.kind == "goodnews" for e in entries),
                "photos": sum(counts.get(e.id, {}).get("photo", 0) for e in entries),
                "scores": [{k: e.body["fields"].get(k, "") for k in ("subject", "score", "test", "date")}
                           for e in entries if e.kind == SCORE]}

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
        shared = for_family(draft.kind, draft.fields)
        # A home visit kept for the staff is never sent to the family: it has no deliveries and no notices.
        family = await self._family(child, exclude=actor.person_id) if shared else []
        now = stamp(self._clock.now())
        entry = Entry(child.id, actor.person_id, role, draft.kind, occurred, period, body, now, for_family=shared)
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            entry = replace(entry, id=await repo.add_entry(entry))
            media: list[dict] = []
            for position, item in enumerate(draft.media):
                kept = await repo.add_media(Media(entry.id, child.id, position, item["kind"], item["file_id"],
                                                  item["unique"], item.get("size")))
                if kept is not None:  # the same file already in the record is not stored twice
                    media.append(item)
            notices = []
            for reader in family:
                delivery_id = await repo.add_delivery(entry.id, reader.person_id)
                notices.append(self._copy(entry, child, author.display_name if author else "", media, reader,
                                          delivery_id))
            await repo.delete_draft(actor.person_id)
            await self._audit.within(conn).record(AuditEntry(now, actor.person_id, child.id, f"care_{draft.kind}",
                                                             f"entry={entry.id} media={len(media)}"))
            await self._outbox.post(conn, notices)
        log.info("care entry %s (%s) for child %s by person %s: %s media, %s recipients", entry.id, draft.kind,
                 child.id, actor.person_id, len(media), len(family))
        recipients = []
        for reader in family:
            person = await self._people.person(reader.person_id)
            recipients.append(Recipient(reader.person_id, person.display_name if person else "",
                                        await self._outbox.repo.reachable(reader.channel, reader.address)))
        return Submitted(entry.id, draft.kind, child.name, recipients, shared)

    async def _reader(self, person_id: int) -> _Reader | None:
        """Where a person is reached (their first identity, as the outbox does) and their language; None for
        someone the bot has no address for."""
        identities = await self._people.identities(person_id)
        if not identities:
            return None
        channel, address = identities[0]
        locale = await self._preferences.locale_for(int(address) if address.lstrip("-").isdigit() else None, None)
        return _Reader(person_id, channel, address, locale)

    async def _family(self, child: ChildRow, exclude: int | None) -> list[_Reader]:
        """The child's parents and guardians the bot can reach."""
        seen: dict[int, _Reader] = {}
        for grant in await self._people.grants_for_child(child.id, child.school_id, child.class_id):
            if grant.role in FAMILY_ROLES and grant.person_id != exclude and grant.person_id not in seen:
                reader = await self._reader(grant.person_id)
                if reader is not None:
                    seen[grant.person_id] = reader
        return list(seen.values())

    def _copy(self, entry: Entry, child: ChildRow, author_name: str, media: list[dict], reader: _Reader,
              delivery_id: int) -> Notice:
        """One family member's copy: the photos (an album when several), the voice notes, then the card with
        the "Received" button, so the button sits under everything. A talk record is only announced. Not
        protected: the child's own family keeps the photos and voice notes of their child."""
        _ = translator(reader.locale).gettext
        common = {"key": f"care:{entry.id}:{reader.person_id}", "person_id": reader.person_id, "child_id": child.id,
                  "notify_person_id": entry.author_id}
        about = (child.name, entry.occurred_on, entry.period, entry.body, entry.author_role, author_name,
                 reader.locale)
        if entry.kind == TALK:
            return Notice(text=card(_, entry.kind, *about, access=FACT), **common)
        photos = [Attached("photo", m["file_id"]) for m in media if m["kind"] == "photo"]
        voices = [Attached("voice", m["file_id"]) for m in media if m["kind"] == "voice"]
        actions = [[Action(_("✅ Received"), Received(delivery_id))]]
        if entry.kind == LETTER and entry.author_id is not None:
            # The parents answer the child's letter by voice or text, through the relay to whoever passed it on.
            actions.append([Action(_("✍️ Write back"), RelayChoice("p", child.id, entry.author_id))])
        return Notice(text=card(_, entry.kind, *about, len(photos), len(voices)), media=photos + voices,
                      actions=actions, **common)

    # -- acknowledgement --------------------------------------------------------------------------------

    async def acknowledge(self, actor: Actor, delivery_id: int) -> str:
        """The family member confirms, once; the author is told in their language. Returns the child's name."""
        delivery = await self.repo.delivery(delivery_id)
        if delivery is None or actor.person_id is None or delivery.recipient_id != actor.person_id:
            raise StaleButton()
        if delivery.acknowledged_at is not None:
            raise AlreadyReceived()
        entry = await self.repo.entry(delivery.entry_id)
        child = await self._children.get(entry.child_id) if entry else None
        if entry is None or child is None:
            raise StaleButton()
        me = await self._people.person(actor.person_id)
        author = await self._reader(entry.author_id) if entry.author_id else None
        notices = []
        if author is not None:
            _ = translator(author.locale).gettext
            text = _("✅ {name} received {what}.").format(
                name=me.display_name if me else _("the recipient"),
                what=title(_, entry.kind, child.name, entry.occurred_on, author.locale, entry.period))
            notices.append(Notice(f"care-ack:{delivery_id}", author.person_id, text, child_id=child.id))
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).acknowledge(delivery_id, stamp(self._clock.now())):
                raise AlreadyReceived()
            await self._outbox.post(conn, notices)
        log.info("care delivery %s acknowledged by person %s", delivery_id, actor.person_id)
        return child.name

    # -- the timeline -----------------------------------------------------------------------------------

    async def _readable(self, actor: Actor, child_id: int) -> tuple[ChildRow, dict[str, str]]:
        """The child and, per kind, how much this person reads of it."""
        cannot = NotAllowed("timeline", N_("You cannot see this child's timeline."))
        child = await self._children.get(child_id)
        if child is None or not roles_for(actor.grants, child.place):
            raise cannot
        consented = await self._consent.consented(child_id)
        if not consented:
            raise await self._consent.refusal(child)
        access = {kind: entry_access(actor.grants, child.place, kind, consented=True) for kind in KINDS}
        access = {kind: level for kind, level in access.items() if level}
        if not access:
            raise cannot
        return child, access

    async def _audited(self, actor: Actor, child_id: int, action: str, detail: str) -> None:
        async with self._db.transaction() as conn:
            await self._audit.within(conn).record(AuditEntry(stamp(self._clock.now()), actor.person_id, child_id,
                                                             action, detail))

    async def timeline(self, actor: Actor, child_id: int, page: int, locale: str) -> Timeline:
        """The child's entries, newest first, PAGE_SIZE a page, as this person may read them."""
        child, access = await self._readable(actor, child_id)
        kinds, family_only = tuple(access), _family_only(access)
        total = await self.repo.count(child.id, kinds, family_only)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        entries = await self.repo.entries(child.id, kinds, PAGE_SIZE, page * PAGE_SIZE, family_only)
        counts = await self.repo.media_counts([e.id for e in entries])
        deliveries = await self.repo.deliveries([e.id for e in entries])
        _ = translator(locale).gettext
        items = []
        for entry in entries:
            level = entry_level(access[entry.kind], entry.for_family)
            author = await self._people.person(entry.author_id) if entry.author_id else None
            photos = counts.get(entry.id, {}).get("photo", 0) if level == FULL else 0
            voices = counts.get(entry.id, {}).get("voice", 0) if level == FULL else 0
            text = card(_, entry.kind, child.name, entry.occurred_on, entry.period, entry.body, entry.author_role,
                        author.display_name if author else "", locale, photos, voices, access=level,
                        limit=TIMELINE_VALUE)
            received = []
            if level == FULL:
                for d in deliveries.get(entry.id, []):
                    if d.acknowledged_at:
                        person = await self._people.person(d.recipient_id)
                        received.append(person.display_name if person else "")
            items.append(TimelineItem(entry, text, photos, voices, received))
        await self._audited(actor, child.id, "view_timeline", f"page={page + 1}")
        return Timeline(child.id, child.name, items, page, pages)

    async def written_by(self, actor: Actor, entry_id: int) -> Entry:
        """An entry this person wrote, to carry their own words on (a worry into a safety report); anyone else's,
        or none, is a stale button."""
        entry = await self.repo.entry(entry_id)
        if entry is None or actor.person_id is None or entry.author_id != actor.person_id:
            raise StaleButton()
        return entry

    async def entry_media(self, actor: Actor, entry_id: int) -> tuple[Entry, list[Media]]:
        """An entry's photos and voice notes, for someone who may read the entry in full."""
        entry = await self.repo.entry(entry_id)
        if entry is None:
            raise StaleButton()
        try:
            child, access = await self._readable(actor, entry.child_id)
        except (NotAllowed, NoConsent):
            raise StaleButton() from None
        if entry_level(access.get(entry.kind), entry.for_family) != FULL:
            raise StaleButton()
        media = await self.repo.media(entry.id)
        await self._audited(actor, child.id, "view_media", f"entry={entry.id}")
        return entry, media

    async def export(self, actor: Actor, child_id: int) -> list[dict]:
        """Every entry about the child as this person may read it, oldest first, for their copy (/mydata):
        the fields as stored, the photos and voice notes by file name under the data directory."""
        child, access = await self._readable(actor, child_id)
        entries = list(reversed(await self.repo.entries(child.id, tuple(access), limit=100_000,
                                                        family_only=_family_only(access))))
        found = []
        for entry in entries:
            item = {"kind": entry.kind, "date": entry.occurred_on, "recorded_at": entry.created_at,
                    "author_role": entry.author_role}
            if entry_level(access[entry.kind], entry.for_family) == FULL:
                media = await self.repo.media(entry.id)
                item.update(entry.body, period=entry.period,
                            media=[{"kind": m.kind, "stored_as": m.stored_path} for m in media])
            found.append(item)
        return found

    # -- the five musts ---------------------------------------------------------------------------------

    async def due(self, actor: Actor, *, writable_only: bool = False) -> list[ChildDue]:
        """For a proxy parent, their children; for a teacher, the class; each with what is done and due.
        `writable_only`: only the children whose family has consented (nothing can be written for the others)."""
        now = self._clock.now()
        # Far enough back for the rolling update and last month's summary, and for the whole semester: a letter or
        # a home visit of February still counts in July (nothing is recorded before the day it is about).
        first, _last = musts.semester(self.today())
        window = stamp(min(now - timedelta(days=max(70, self.rules.update_every_days + 40)),
                           datetime.combine(first, time(0), self._tz)))
        result = []
        for child in await self.children(actor, "update"):
            if not any(g.role in (PROXY, TEACHER) and reaches(g, child.place) for g in actor.grants):
                continue
            if writable_only and not await self._consent.consented(child.id):
                continue
            started = await self.repo.care_started(child.id)
            since = unstamp(started) if started else now
            # Photos count when they reached the family: a staff-only visit's do not.
            facts = [musts.Fact(e.kind, self._counted_at(e), photos if e.for_family else 0, e.period)
                     for e, photos in await self.repo.since(child.id, window)]
            # The semester's home visit is the class teacher's duty.
            visits = any(g.role == TEACHER and reaches(g, child.place) for g in actor.grants)
            # A child whose guardianship was assessed poor (差) is flagged for a home visit every month.
            poor = visits and (await self._children.fields(child.id)).get(GUARDIANSHIP_ASSESSMENT) == POOR
            result.append(ChildDue(child, musts.check(facts, now=now, tz=self._tz, since=since, rules=self.rules,
                                                      visits=visits, poor=poor)))
        return result

    def _counted_at(self, entry: Entry) -> datetime:
        """A talk counts for the day it was held (recorded on the 2nd, held on the 28th: last month's talk), and a
        home visit for the day it was made; everything else for when the family got it. The day's noon stands for
        the hour, unless the entry was recorded before then: a talk of 今天 recorded at 9:00 counts at once, not
        from noon on."""
        recorded = unstamp(entry.created_at)
        if entry.kind in (TALK, VISIT):
            return min(datetime.combine(date.fromisoformat(entry.occurred_on), time(12), self._tz), recorded)
        return recorded


def _family_only(access: dict[str, str]) -> tuple[str, ...]:
    """The kinds this reader sees only where an entry was marked for the family."""
    return tuple(kind for kind, level in access.items() if level == SHARED)


def _telling(text: str) -> bool:
    """Words that tell something rather than try a date: no digit at all, and longer than a date in words."""
    if any(ch.isdigit() for ch in text):
        return False
    chinese = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    return chinese >= TELLING_CHARACTERS or len(text.split()) >= TELLING_WORDS
