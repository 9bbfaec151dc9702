"""Everything long-lived, wired once: repositories and the care services. Channel-free: the Telegram runtime
(`bot.runtime.app`) opens it in post_init and closes it in post_shutdown; a second channel would open the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.access.consent import ConsentService
from bot.access.invitations import InvitationService
from bot.access.mydata import MyData
from bot.attendance.schooldays import SchoolDays
from bot.attendance.service import AttendanceService
from bot.attendance.dropouts import DropoutService
from bot.access.onboarding import OnboardingService
from bot.access.people import Directory
from bot.access.privacy import PrivacyService
from bot.calendar import CalendarService
from bot.class_notices import ClassNoticeService
from bot.clock import Clock
from bot.dialogues import Dialogues
from bot.delivery import DeliveryNotices
from bot.musts.media import MediaStore
from bot.musts.service import MustsService
from bot.notices import Outbox
from bot.preferences import PreferencesService
from bot.records.entrusted import EntrustedService
from bot.ledgers.service import LedgerService
from bot.records.roster import RosterService
from bot.records.service import ChildrenService
from bot.relay import RelayService
from bot.safekeeping.backup import DailyBackups
from bot.safety.service import SafetyService
from bot.settings import Settings
from bot.stats.service import StatsService
from bot.video.service import VideoService
from storage.audit import AuditRepository
from storage.children import ChildrenRepository
from storage.consents import ConsentsRepository
from storage.db import Database
from storage.deletions import DeletionsRepository
from storage.dialogues import DialoguesRepository
from storage.inbox import InboxRepository
from storage.invitations import InvitationsRepository
from storage.outbox import OutboxRepository
from storage.people import PeopleRepository
from storage.preferences import PreferencesRepository
from storage.relays import RelaysRepository


@dataclass
class Services:
    """Everything long-lived, created in post_init and closed in post_shutdown."""

    settings: Settings
    clock: Clock
    db: Database
    inbox: InboxRepository
    preferences: PreferencesService
    people: PeopleRepository
    directory: Directory
    invitations: InvitationService
    onboarding: OnboardingService
    consent: ConsentService
    children: ChildrenService
    privacy: PrivacyService
    roster: RosterService
    outbox: Outbox
    notices: DeliveryNotices
    relay: RelayService
    musts: MustsService
    media: MediaStore
    video: VideoService
    calendar: CalendarService
    dialogues: Dialogues
    safety: SafetyService
    class_notices: ClassNoticeService
    mydata: MyData
    schooldays: SchoolDays
    attendance: AttendanceService
    dropouts: DropoutService
    entrusted: EntrustedService
    ledgers: LedgerService
    stats: StatsService
    backups: DailyBackups


async def open_services(settings: Settings, clock: Clock) -> Services:
    db = await Database.open(settings.database_path, settings.data_key)
    try:
        await db.migrate()
    except BaseException:
        await db.close()
        raise
    people = PeopleRepository(db)
    children = ChildrenRepository(db)
    consent = ConsentService(db, children, ConsentsRepository(db), clock)
    preferences = PreferencesService(PreferencesRepository(db), clock, settings.default_locale, settings.timezone)
    outbox = Outbox(OutboxRepository(db), PreferencesRepository(db), clock, settings.timezone)
    consent.told_through(outbox, preferences)
    media = MediaStore(settings.media_dir, settings.data_key)
    musts = MustsService(db, people, children, consent, outbox, preferences, clock, settings.timezone)
    safety = SafetyService(db, people, children, outbox, preferences, clock, settings)
    invitations = InvitationService(db, people, children, InvitationsRepository(db), clock, outbox=outbox,
                                    preferences=preferences)
    schooldays = SchoolDays(db, clock, settings.timezone)
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        inbox=InboxRepository(db),
        preferences=preferences,
        people=people,
        directory=Directory(people),
        invitations=invitations,
        onboarding=OnboardingService(people, children, ConsentsRepository(db), InvitationsRepository(db),
                                     invitations, clock),
        consent=consent,
        children=ChildrenService(db, people, children, AuditRepository(db), consent, clock),
        privacy=PrivacyService(db, children, DeletionsRepository(db), clock, media, outbox, preferences,
                               retention=safety, backups=settings.backups),
        roster=RosterService(db, people, clock, children),
        outbox=outbox,
        notices=DeliveryNotices(db, outbox, people, children, preferences, clock,
                                timedelta(days=settings.undeliverable_expiry_days)),
        relay=RelayService(db, people, children, consent, outbox, RelaysRepository(db), preferences, clock),
        musts=musts,
        media=media,
        video=VideoService(db, people, children, consent, outbox, preferences, clock, settings),
        dialogues=Dialogues(DialoguesRepository(db), clock),
        calendar=CalendarService(db, people, children, musts, outbox, preferences, clock, settings.timezone),
        safety=safety,
        class_notices=ClassNoticeService(db, people, children, consent, outbox, preferences, clock),
        mydata=MyData(people, RelaysRepository(db), AuditRepository(db), settings.timezone),
        schooldays=schooldays,
        attendance=AttendanceService(db, people, children, outbox, preferences, schooldays, clock, settings),
        dropouts=DropoutService(db, people, children, consent, outbox, preferences, schooldays, clock, settings),
        entrusted=EntrustedService(db, people, children, consent, outbox, preferences, clock),
        ledgers=LedgerService(db, people, children, consent, clock, settings.timezone),
        stats=StatsService(db, people, clock, settings.timezone),
        backups=DailyBackups(Path(settings.database_path), settings.media_dir, settings.backups, settings.data_key,
                             clock, settings.tz),
    )
