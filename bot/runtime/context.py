"""The typed context handlers receive: `context.services` instead of string keys in bot_data."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import Application, CallbackContext, ExtBot

from bot.calendar import CalendarService
from bot.musts.service import CareService
from bot.records.service import ChildrenService
from bot.clock import Clock
from bot.access.consent import ConsentService
from bot.delivery import DeliveryNotices
from bot.delivery_settings import SettingsService
from bot.access.invitations import InvitationService
from bot.musts.media import MediaStore
from bot.notices import Outbox
from bot.access.people import Directory
from bot.preferences import PreferencesService
from bot.access.privacy import PrivacyService
from bot.relay import RelayService
from bot.records.roster import RosterService
from bot.settings import Settings
from bot.video.service import VideoService
from storage.db import Database
from storage.inbox import InboxRepository
from storage.people import PeopleRepository


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
    consent: ConsentService
    children: ChildrenService
    privacy: PrivacyService
    roster: RosterService
    outbox: Outbox
    notices: DeliveryNotices
    delivery_settings: SettingsService
    relay: RelayService
    care: CareService
    media: MediaStore
    video: VideoService
    calendar: CalendarService


class BotData:
    def __init__(self) -> None:
        self.services: Services | None = None
        self.limits = None  # bot.runtime.sender.Limits, shared by replies and the outbox's sender


class BotContext(CallbackContext[ExtBot, dict, dict, BotData]):
    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None):
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are created in post_init; the application is not initialised")
        return services
