"""The written notice of entrusted care (委托照护书面告知, 《未成年人保护法》 Art. 23): parents working away tell the
school and the village committee in writing who looks after the child. The bot writes the notice from the child's
record; a parent or guardian reads it (a printable A4 PDF) and confirms it with a button; the class teacher and the
village's child director are then told, and open the copy that was confirmed.

A confirmation holds the values confirmed and their hash (`fields_hash`): when the record changes afterwards, the
notice needs confirming again. Only the fields that exist in bot.records.fields are used (the record grows).
Nothing here knows of Telegram.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bot.access.people import Actor
from bot.access.policy import (CONFIRM_ENTRUSTED, DIRECTOR, FAMILY_ROLES, READ_ENTRUSTED, TEACHER, can,
                               roles_for)
from bot.access.consent import ConsentService
from bot.clock import Clock, stamp
from bot.errors import NotAllowed, UserError
from bot.i18n import N_, translator
from bot.notices import Action, Notice, Outbox
from bot.preferences import PreferencesService
from bot.records.buttons import EntrustedCopy
from bot.records.fields import BY_KEY, display
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildRow, ChildrenRepository
from storage.db import Database
from storage.entrusted import ConfirmedNotice, EntrustedRepository, NewConfirmation
from storage.people import PeopleRepository

CHINESE = "STSong-Light"  # Adobe's Chinese font every PDF reader carries: no font file is embedded
# The record's fields the notice states, section by section, in the order of the form; keys the record does not
# have (yet) are left out.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (N_("The child"), ("name", "sex", "birth_date")),
    (N_("Father"), ("father_name", "father_province", "father_city", "father_employer", "father_phone")),
    (N_("Mother"), ("mother_name", "mother_province", "mother_city", "mother_employer", "mother_phone")),
    (N_("Entrusted guardian"), ("guardian_name", "guardian_relation", "guardian_phone", "guardian_address")),
)
# Without these the notice says nothing: who the child is and who looks after it.
NEEDED = ("name", "guardian_name")
HASH_LENGTH = 12  # hex characters: carried in the confirm button (bot.payloads' str limit is 16)

NOT_FAMILY = N_("/entrusted is for a child's parents and guardians: the notice is theirs to confirm.")
NO_CONSENT = N_("First agree to the data rules in /privacy: the notice goes to the school and the village.")
INCOMPLETE = N_("The record does not yet say who looks after the child. Ask the class teacher to fill in the "
                "guardian's name, relation, phone and address, then send /entrusted again.")
CHANGED = N_("The record has changed since this notice was made. Send /entrusted for the current one.")
NO_COPY = N_("You cannot open this notice.")


def keys() -> tuple[str, ...]:
    return tuple(key for _title, section in SECTIONS for key in section if key in BY_KEY)


def notice_fields(values: dict[str, str]) -> dict[str, str]:
    """What the notice states: the record's values of the notice's fields (empty ones left out)."""
    return {key: values[key] for key in keys() if values.get(key)}


def fields_hash(fields: dict[str, str]) -> str:
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


@dataclass(frozen=True)
class EntrustedNotice:
    """The notice as the record says it now, and its confirmations (latest first)."""

    child: ChildRow
    school: str
    fields: dict[str, str]
    hash: str
    confirmations: list[ConfirmedNotice]

    @property
    def confirmed(self) -> ConfirmedNotice | None:
        """The latest confirmation of what the record says now, if any."""
        return next((c for c in self.confirmations if c.fields_hash == self.hash), None)

    @property
    def outdated(self) -> ConfirmedNotice | None:
        """The latest confirmation, when the record no longer says what it confirmed."""
        latest = self.confirmations[0] if self.confirmations else None
        return latest if latest is not None and latest.fields_hash != self.hash else None

    def confirmed_by(self, person_id: int | None) -> bool:
        return any(c.person_id == person_id and c.fields_hash == self.hash for c in self.confirmations)


def notice_pdf(child: ChildRow, school: str, fields: dict[str, str], on: date, gettext, locale: str,
               confirmed: str = "") -> bytes:
    """The notice as an A4 page to print and sign: the statement, a table per section, signature lines.
    `confirmed`: a line saying who confirmed it and when (empty: not yet)."""
    _ = gettext
    if CHINESE not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE))
    body = ParagraphStyle("body", fontName=CHINESE, fontSize=11, leading=17, wordWrap="CJK", spaceAfter=4)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1, spaceAfter=10)
    heading = ParagraphStyle("heading", parent=body, fontSize=12, leading=18, spaceBefore=8)

    def para(text: str, style=body) -> Paragraph:
        return Paragraph(escape(text), style)

    story = [para(_("Written notice of entrusted care"), title),
             para(_("To {school} and the village (residents') committee:").format(school=school)),
             para(_("Under Article 23 of the Law on the Protection of Minors, we, the parents of the child named "
                    "below, working away from home, entrust the child's daily care to the person named below, "
                    "and tell you so in writing. We keep in touch with the child and the carer at least once a "
                    "week."))]
    place = " · ".join(p for p in (school, child.class_name, child.village_name) if p)
    for section, section_keys in SECTIONS:
        rows = [[para(_(BY_KEY[k].label)), para(display(k, fields[k], _))]
                for k in section_keys if k in BY_KEY and fields.get(k)]
        if section_keys[0] == "name":
            rows.append([para(_("School and class")), para(place)])
        story.append(para(_(section), heading))
        if not rows:
            rows = [[para(_("not recorded")), para("")]]
        table = Table(rows, colWidths=(55 * mm, 115 * mm))
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, "#888888"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)
    story += [Spacer(1, 8 * mm),
              para(_("Father's signature: ____________    Mother's signature: ____________")),
              Spacer(1, 4 * mm),
              para(_("Entrusted guardian's signature: ____________")),
              Spacer(1, 4 * mm),
              para(_("Date: {day}").format(day=on.isoformat()))]
    if confirmed:
        story += [Spacer(1, 6 * mm), para(confirmed)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                      bottomMargin=18 * mm, title=_("Written notice of entrusted care"),
                      author="Qinqing Bridge", creator="Qinqing Bridge").build(story)
    return buffer.getvalue()


class EntrustedService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository,
                 consent: ConsentService, outbox: Outbox, preferences: PreferencesService, clock: Clock) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._consent = consent
        self._outbox = outbox
        self._preferences = preferences
        self._clock = clock
        self.repo = EntrustedRepository(db)
        self._audit = AuditRepository(db)

    async def children(self, actor: Actor) -> list[ChildRow]:
        """The children whose notice this person confirms: theirs as a parent or guardian."""
        return await self._children.reached_by(actor.grants, set(FAMILY_ROLES))

    async def _family_child(self, actor: Actor, child_id: int) -> tuple[ChildRow, str]:
        row = await self._children.get(child_id)
        roles = roles_for(actor.grants, row.place) if row is not None else set()
        if row is None or not can(actor.grants, CONFIRM_ENTRUSTED, row.place):
            raise NotAllowed("entrusted", NOT_FAMILY)
        if not await self._consent.consented(child_id):
            raise UserError(NO_CONSENT)
        return row, next(r for r in FAMILY_ROLES if r in roles)

    async def _notice(self, row: ChildRow) -> EntrustedNotice:
        school = await self._people.school(row.school_id)
        fields = notice_fields(await self._children.fields(row.id))
        return EntrustedNotice(row, school.name if school else "", fields, fields_hash(fields),
                               await self.repo.for_child(row.id))

    async def notice(self, actor: Actor, child_id: int) -> EntrustedNotice:
        """The child's notice as the record says it now, for a parent or guardian to read and confirm."""
        row, _role = await self._family_child(actor, child_id)
        notice = await self._notice(row)
        if any(not notice.fields.get(k) for k in NEEDED):
            raise UserError(INCOMPLETE)
        await self._audit.record(AuditEntry(stamp(self._clock.now()), actor.person_id, child_id, "entrusted_view",
                                            ",".join(sorted(notice.fields))))
        return notice

    async def confirm(self, actor: Actor, child_id: int, shown_hash: str) -> tuple[EntrustedNotice, bool]:
        """Confirm the notice that was shown (`shown_hash`); the class teacher and the village's child director are
        told in the same transaction. Returns the notice and whether this press confirmed it (False: this person
        had already confirmed the same notice, and nobody is told twice)."""
        row, role = await self._family_child(actor, child_id)
        notice = await self._notice(row)
        if shown_hash != notice.hash:
            raise UserError(CHANGED)
        if any(not notice.fields.get(k) for k in NEEDED):
            raise UserError(INCOMPLETE)
        if notice.confirmed_by(actor.person_id):
            return notice, False
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            notice_id = await self.repo.within(conn).add(
                NewConfirmation(child_id, actor.person_id, role, now, notice.hash, notice.fields))
            await self._audit.within(conn).record(
                AuditEntry(now, actor.person_id, child_id, "entrusted_confirm", f"notice={notice_id}"))
            await self._outbox.post(conn, await self._told(row, notice, notice_id, actor.person_id))
        return await self._notice(row), True

    async def _told(self, row: ChildRow, notice: EntrustedNotice, notice_id: int, by: int) -> list[Notice]:
        """The class teacher(s) and the village's child director: the school and the village committee of Art. 23."""
        grants = await self._people.grants_for_child(row.id, row.school_id, row.class_id)
        person = await self._people.person(by)
        found = []
        for person_id in dict.fromkeys(g.person_id for g in grants if g.role in (TEACHER, DIRECTOR)):
            tr = translator(await self._preferences.locale_of(person_id))
            _ = tr.gettext
            text = _("📄 {person} confirmed the written notice of entrusted care for {child}: cared for by "
                     "{guardian} ({relation}).").format(
                person=person.display_name if person else "?", child=row.name,
                guardian=notice.fields.get("guardian_name", ""),
                relation=notice.fields.get("guardian_relation", "") or _("relation not recorded"))
            found.append(Notice(f"entrusted:{notice_id}:{person_id}", person_id, text,
                                actions=[[Action(_("📄 Open the notice"), EntrustedCopy(notice_id))]],
                                child_id=row.id))
        return found

    async def copy(self, actor: Actor, notice_id: int) -> tuple[ChildRow, str, ConfirmedNotice, bool]:
        """A confirmed notice for the school's and the village's staff who reach the child: the child, the school,
        the confirmation, and whether the record still says the same."""
        confirmation = await self.repo.get(notice_id)
        row = await self._children.get(confirmation.child_id) if confirmation is not None else None
        if row is None or not can(actor.grants, READ_ENTRUSTED, row.place) or \
                not await self._consent.consented(row.id):
            raise NotAllowed("entrusted", NO_COPY)
        current = await self._notice(row)
        await self._audit.record(AuditEntry(stamp(self._clock.now()), actor.person_id, row.id, "entrusted_copy",
                                            f"notice={notice_id}"))
        return row, current.school, confirmation, confirmation.fields_hash == current.hash
