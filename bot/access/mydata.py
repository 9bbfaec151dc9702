"""/mydata as a document a mother reads on her phone and keeps: a PDF (A5, large type, Chinese drawn with the
STSong-Light font every PDF reader carries) with the record, the timeline of care entries, the video calls, the
messages she relayed or was relayed about the child, and who viewed or changed the record. Texts come in the
reader's language; nothing here knows of Telegram.

What a parent may not know stays out: a talk record reads "a talk took place" (bot.access.policy.ENTRY_READ), other
people's conversations are not hers, and safety cases leave no line (the family hears nothing of them)."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from bot.access.people import Actor
from bot.access.policy import FACT, FULL, ROLE_LABELS
from bot.access.privacy import OwnChild, own_answer, sharing
from bot.clock import unstamp
from bot.i18n import N_, format_datetime
from bot.musts.cards import card
from bot.records.fields import BY_KEY, display
from storage.audit import AuditRepository
from storage.people import PeopleRepository
from storage.relays import RelaysRepository

CHINESE = "STSong-Light"
MAX_LINES = 2000  # audit lines and messages: a copy for a person, not a database dump

# What an audit line says to a family, by its action code. Codes not here (safety cases, the school's own
# bookkeeping) are left out of the family's copy.
AUDIT_WORDS = {
    "view": N_("viewed the record"),
    "edit": N_("changed the record: {fields}"),
    "create": N_("created the record"),
    "import": N_("created the record from the class roster"),
    "export": N_("received a copy of the record"),
    "set_village": N_("recorded the village of the child's home"),
    "entrusted_confirm": N_("confirmed the notice of entrusted care"),
    "consent_given": N_("agreed to the data rules"),
    "consent_refused": N_("did not agree to the data rules"),
    "consent_withdrawn": N_("withdrew the agreement to the data rules"),
    "request_deletion": N_("asked for the record to be erased"),
    "care_update": N_("sent an update"),
    "care_score": N_("recorded a test score"),
    "care_goodnews": N_("shared good news"),
    "care_summary": N_("wrote the monthly summary"),
    "care_talk": N_("recorded a heart-to-heart talk"),
    "care_letter": N_("sent the child's letter"),
    "video_proposed": N_("proposed a time for the video call"),
    "video_agreed": N_("agreed the time of the video call"),
    "video_moved": N_("moved a video call"),
    "invite": N_("invited a family member or carer"),
}
OUTCOMES = {"done": N_("happened"), "missed": N_("missed"), "moved": N_("moved")}
KINDS = {"text": N_("text"), "photo": N_("photo"), "voice": N_("voice note"), "video": N_("video"),
         "document": N_("document"), "audio": N_("audio"), "video_note": N_("video note")}


def printable(text: str) -> str:
    """What the font can draw: emoji and other pictographs are left out (they would print as empty boxes)."""
    return "".join(c for c in text if unicodedata.category(c) not in ("So", "Cs", "Co")
                   and not 0xFE00 <= ord(c) <= 0xFE0F and ord(c) <= 0xFFFF).strip()


@dataclass(frozen=True)
class Line:
    """One row of the document: a heading (level 1 or 2) or a paragraph (level 0)."""

    text: str
    level: int = 0


class MyData:
    """Gathers the reader's copy (bot.access.privacy.everything_about, plus their relayed messages and the audit)
    and lays it out as a PDF."""

    def __init__(self, people: PeopleRepository, relays: RelaysRepository, audit: AuditRepository,
                 zone: str) -> None:
        self._people = people
        self._relays = relays
        self._audit = audit
        self._zone = zone

    async def _name(self, person_id: int | None, cache: dict[int, str], _) -> str:
        if person_id is None:
            return _("the school")
        if person_id not in cache:
            person = await self._people.person(person_id)
            cache[person_id] = person.display_name if person else _("someone no longer here")
        return cache[person_id]

    def _when(self, stamped: str, locale: str) -> str:
        return format_datetime(unstamp(stamped), locale, self._zone, "short")

    async def lines(self, actor: Actor, data: dict, mine: OwnChild, _, locale: str, exported_at: str) -> list[Line]:
        names: dict[int, str] = {}
        child = mine.child
        out = [Line(_("Everything Qinqing Bridge stores about {name}").format(name=child.name), 1),
               Line(_("Made on {time} for {reader}. You may keep and print this file.").format(
                   time=exported_at, reader=await self._name(actor.person_id, names, _))),
               Line(_("Class: {klass}").format(klass=data["class"])),
               Line(_("Data rules: {meaning} {answer}").format(meaning=sharing(mine, _), answer=own_answer(mine, _)))]

        out.append(Line(_("The record"), 2))
        for key, value in data["fields"].items():
            spec = BY_KEY.get(key)
            out.append(Line(f"{_(spec.label) if spec else key}: {display(key, value, _)}"))
        if not data["fields"]:
            out.append(Line(_("Nothing is recorded.")))

        out.append(Line(_("Timeline"), 2))
        for item in data.get("care", []):
            access = FULL if "media" in item else FACT  # a talk record reads only that it took place
            photos = sum(1 for m in item.get("media", []) if m["kind"] == "photo")
            voices = sum(1 for m in item.get("media", []) if m["kind"] == "voice")
            body = {k: v for k, v in item.items() if k not in ("kind", "date", "recorded_at", "author_role", "media")}
            text = card(_, item["kind"], child.name, item["date"], item.get("period"), body, item["author_role"],
                        "", locale, photos, voices, access=access)
            out.append(Line(text))
        if not data.get("care"):
            out.append(Line(_("No updates yet.")))

        calls = (data.get("video") or {}).get("calls", [])
        weekly = (data.get("video") or {}).get("weekly_time")
        if calls or weekly:
            out.append(Line(_("Video calls"), 2))
        if weekly:
            out.append(Line(_("Weekly call: {start}, {minutes} minutes, {room}").format(
                start=weekly["start"], minutes=weekly["minutes"], room=weekly["room"])))
        if calls:
            for call in calls:
                outcome = OUTCOMES.get(call.get("outcome") or "")
                out.append(Line(f"{self._when(call['starts_at'], locale)} · {call['minutes']} min"
                                + (f" · {_(outcome)}" if outcome else "")))

        out.append(Line(_("Your messages about {name}").format(name=child.name), 2))
        own = [r for r in await self._relays.for_child(child.id, limit=MAX_LINES)
               if actor.person_id in (r.author_id, r.recipient_id)]
        for relay in reversed(own):
            words = relay.text or ""
            kind = "" if relay.content_kind == "text" else f"[{_(KINDS.get(relay.content_kind, N_('document')))}] "
            out.append(Line(_("{time} {author} → {recipient}: {words}").format(
                time=self._when(relay.created_at, locale), author=await self._name(relay.author_id, names, _),
                recipient=await self._name(relay.recipient_id, names, _), words=kind + words)))
        if not own:
            out.append(Line(_("No messages.")))

        out.append(Line(_("Who viewed or changed the record"), 2))
        roles: dict[int, str] = {}
        shown = 0
        for entry in reversed(await self._audit.for_child(child.id, limit=MAX_LINES)):
            words = AUDIT_WORDS.get(entry.action)
            if words is None:
                continue
            fields = ", ".join(_(BY_KEY[k].label) if k in BY_KEY else k
                               for k in (entry.detail or "").split(",") if k and "=" not in k)
            who = await self._name(entry.actor_id, names, _)
            if entry.actor_id is not None and entry.actor_id not in roles:
                grants = await self._people.grants(entry.actor_id)
                found = next((g.role for g in grants if g.role in ROLE_LABELS), None)
                roles[entry.actor_id] = f" ({_(ROLE_LABELS[found])})" if found else ""
            role = roles.get(entry.actor_id, "")
            out.append(Line(f"{self._when(entry.at, locale)} {who}{role}: {_(words).format(fields=fields)}"))
            shown += 1
        if not shown:
            out.append(Line(_("Nobody yet.")))
        return out

    async def pdf(self, actor: Actor, data: dict, mine: OwnChild, _, locale: str, exported_at: str) -> bytes:
        return render(await self.lines(actor, data, mine, _, locale, exported_at),
                      _("Everything Qinqing Bridge stores about {name}").format(name=mine.child.name))


def render(lines: list[Line], title: str) -> bytes:
    """The lines as a PDF: A5 pages (a phone shows one whole at a readable size), 11-point type that wraps
    between any two Chinese characters."""
    if CHINESE not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE))
    styles = {
        0: ParagraphStyle("body", fontName=CHINESE, fontSize=11, leading=16, wordWrap="CJK", spaceAfter=4),
        1: ParagraphStyle("title", fontName=CHINESE, fontSize=16, leading=22, wordWrap="CJK", spaceAfter=8),
        2: ParagraphStyle("heading", fontName=CHINESE, fontSize=13, leading=18, wordWrap="CJK", spaceBefore=10,
                          spaceAfter=4),
    }
    story = []
    for line in lines:
        for n, part in enumerate(printable(line.text).split("\n")):
            if part.strip():
                story.append(Paragraph(escape(printable(part)), styles[line.level if n == 0 else 0]))
    story.append(Spacer(1, 4 * mm))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A5, leftMargin=10 * mm, rightMargin=10 * mm, topMargin=10 * mm,
                                 bottomMargin=10 * mm, title=printable(title), author="Qinqing Bridge",
                                 creator="Qinqing Bridge")
    document.build(story)
    return buffer.getvalue()
