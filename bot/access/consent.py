"""Guardian consent: nothing about a child is used until a parent or guardian of the child agrees to the
rules, and a withdrawal by any of them stops all sharing at once."""

from __future__ import annotations

from bot.access.people import Actor
from bot.access.policy import CONSENT, FAMILY_ROLES, GUARDIAN, PARENT, ROLE_LABELS, TEACHER, can
from bot.clock import Clock, stamp
from bot.errors import NoConsent, NotAllowed
from bot.i18n import N_, translator
from bot.notices import Action, Notice, withdraw_without_consent
from storage.audit import AuditEntry, AuditRepository
from storage.calendar import CalendarRepository
from storage.children import ChildrenRepository, ChildRow
from storage.consents import Consent, ConsentsRepository
from storage.db import Database
from storage.people import Grant, PeopleRepository

# Bumped whenever the rules shown by /privacy change in substance; consents name the version they saw.
RULES_VERSION = "2026-11-22"

GIVEN, REFUSED, WITHDRAWN = "given", "refused", "withdrawn"
AWAITING = "awaiting"

# The rule, as /privacy states it.
RULE = N_("The rule: sharing starts when a parent or guardian agrees, and stops while any parent or guardian "
          "says no or takes their agreement back. Only the people who are the child's parents or guardians now "
          "count: when someone's role ends, their answer no longer counts.")

# Said to the class teacher and the other parents and guardians when one of them says no or takes it back.
SAID_NO = {
    REFUSED: N_("{who} did not agree to the data rules. Nothing about {child} is shared now: no news, records, "
                "messages or video calls, until every parent and guardian agrees."),
    WITHDRAWN: N_("{who} took back their agreement to the data rules. Nothing about {child} is shared now: no "
                  "news, records, messages or video calls, until every parent and guardian agrees."),
}
TEACHER_TASK = N_("Please talk with the family about it. It stays on your /calendar until you press the button "
                  "below.")
FAMILY_NOTE = N_("You can see where things stand, and give your own answer, in /privacy.")


class ConsentWithdrawn(NoConsent):
    """Nothing about the child may be used: a parent or guardian said no or took their agreement back (which is
    not the same as not having answered yet). Says who, in role terms ("小明的妈妈撤回了同意"), and which of the two."""

    msgid = N_("A parent or guardian of {child} said no to the data rules or took their agreement back, so nothing "
               "can be recorded or sent about {child} now. The class teacher can talk with the family: /privacy.")
    refused_msgid = N_("{who} said no to the data rules, so nothing can be recorded or sent about {child} now. "
                       "The class teacher can talk with the family: /privacy.")
    withdrawn_msgid = N_("{who} took back their agreement to the data rules, so nothing can be recorded or sent "
                         "about {child} now. The class teacher can talk with the family: /privacy.")

    def __init__(self, child_name: str, by: Grant | None = None, decision: str | None = None) -> None:
        super().__init__(child_name)
        self.by, self.decision = by, decision

    def text(self, gettext) -> str:
        if self.by is None or self.decision not in (REFUSED, WITHDRAWN):
            return super().text(gettext)
        said = self.withdrawn_msgid if self.decision == WITHDRAWN else self.refused_msgid
        who = who_said(gettext, self.child_name, self.by)
        return gettext(said).format(who=who, child=self.child_name)


def who_said(_, child: str, grant: Grant | None) -> str:
    """"小明的母亲": a family member in role terms, never by name."""
    from bot.access.invitations import RELATIONS  # invitations needs this module; imported when used

    if grant is None:
        return _("A parent or guardian of {child}").format(child=child)
    word = RELATIONS.get(grant.role, {}).get(grant.relation or "") or ROLE_LABELS[grant.role]
    return _("{child}'s {relation}").format(child=child, relation=_(word))


class ConsentService:
    def __init__(self, db: Database, children: ChildrenRepository, consents: ConsentsRepository,
                 clock: Clock) -> None:
        self._db = db
        self._children = children
        self._consents = consents
        self._audit = AuditRepository(db)
        self._clock = clock
        self._people = PeopleRepository(db)
        self._outbox = None
        self._preferences = None

    def told_through(self, outbox, preferences) -> None:
        """The outbox and the languages, for telling the teacher and the family of a "no" (built after this)."""
        self._outbox = outbox
        self._preferences = preferences

    async def _family(self, child: ChildRow) -> list[Grant]:
        return [g for g in await self._people.grants_for_child(child.id, child.school_id, child.class_id)
                if g.role in FAMILY_ROLES and g.child_id == child.id]

    async def _counted(self, child_id: int) -> list[Consent]:
        """Each decision that counts: the latest of each person who is a parent or guardian of the child now."""
        child = await self._children.get(child_id)
        if child is None:
            return []
        family = {g.person_id for g in await self._family(child)}
        return [c for c in await self._consents.latest(child_id) if c.person_id in family]

    async def refusal(self, child: ChildRow) -> NoConsent:
        """Why nothing about the child may be used, as it is: nobody has agreed yet, or someone said no."""
        objections = [c for c in await self._counted(child.id) if c.decision in (REFUSED, WITHDRAWN)]
        if not objections:
            return NoConsent(child.name)
        latest = max(objections, key=lambda c: c.decided_at)
        grant = next((g for g in await self._family(child) if g.person_id == latest.person_id), None)
        return ConsentWithdrawn(child.name, grant, latest.decision)

    async def state(self, child_id: int) -> str:
        """given: someone consented and nobody objects; withdrawn: someone refused or withdrew; else awaiting."""
        latest = await self._counted(child_id)
        if any(c.decision in (REFUSED, WITHDRAWN) for c in latest):
            return WITHDRAWN
        if any(c.decision == GIVEN for c in latest):
            return GIVEN
        return AWAITING

    async def consented(self, child_id: int) -> bool:
        return await self.state(child_id) == GIVEN

    async def decide(self, actor: Actor, child_id: int, decision: str) -> None:
        if decision not in (GIVEN, REFUSED, WITHDRAWN):
            raise ValueError(decision)
        child = await self._children.get(child_id)
        if child is None or not can(actor.grants, CONSENT, child.place):
            raise NotAllowed("consent")
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            await self._consents.within(conn).record(Consent(child_id, actor.person_id, decision, RULES_VERSION, now))
            await self._audit.within(conn).record(AuditEntry(now, actor.person_id, child_id, f"consent_{decision}",
                                                             f"rules={RULES_VERSION}"))
            if decision != GIVEN:  # what was queued for family and proxy parents about the child ends unsent
                await withdraw_without_consent(conn, child_id, now)
                if self._outbox is not None:
                    await self._outbox.post(conn, await self._no_notices(conn, actor, child, decision, now))
            elif self._outbox is not None:  # the class teacher follows who has agreed (bot.access.onboarding)
                from bot.access.onboarding import agreed_notices  # onboarding needs this module; imported when used

                await self._outbox.post(conn, await agreed_notices(self._people, self._preferences, actor, child, now))

    async def _no_notices(self, conn, actor: Actor, child: ChildRow, decision: str, now: str) -> list[Notice]:
        """The class teacher and the other parents and guardians hear of a "no" at once, in role terms; the
        teacher is asked to talk with the family, a task on their care calendar (bot.calendar) with its button
        under the message, written in the same transaction."""
        from bot.calendar import CONSENT_FOLLOWUP, FOLLOWUP_DONE, FollowupDone  # the calendar needs this module

        followups = CalendarRepository(self._db).within(conn)
        grants = await self._people.grants_for_child(child.id, child.school_id, child.class_id)
        mine = next((g for g in grants if g.person_id == actor.person_id and g.role in FAMILY_ROLES
                     and g.child_id == child.id), None)
        told, notices = set(), []
        for grant in grants:
            teacher = grant.role == TEACHER
            if grant.person_id in told or grant.person_id == actor.person_id or not (
                    teacher or grant.role in (PARENT, GUARDIAN) and grant.child_id == child.id):
                continue
            told.add(grant.person_id)
            _ = translator(await self._preferences.locale_of(grant.person_id)).gettext
            text = _(SAID_NO[decision]).format(who=who_said(_, child.name, mine), child=child.name)
            text += "\n" + _(TEACHER_TASK if teacher else FAMILY_NOTE)
            actions = []
            if teacher:
                task = await followups.add_followup(child.id, grant.person_id, CONSENT_FOLLOWUP, now)
                actions = [[Action(_(FOLLOWUP_DONE), FollowupDone(task))]]
            notices.append(Notice(f"consent-no:{child.id}:{actor.person_id}:{now}:{grant.person_id}",
                                  grant.person_id, text=text, child_id=child.id, needs_consent=False,
                                  actions=actions))
        return notices

    async def mine(self, actor: Actor) -> dict[int, str]:
        """This person's own latest decision for each child they are family of."""
        found = {}
        for grant in actor.grants:
            if grant.role in FAMILY_ROLES and grant.child_id is not None:
                own = [c for c in await self._consents.latest(grant.child_id) if c.person_id == actor.person_id]
                found[grant.child_id] = own[0].decision if own else AWAITING
        return found
