"""Builds a small school for tests straight through the repositories: people with roles, children with
records, consents. Handler tests then act as any of these people by their Telegram user id."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.services import open_services
from bot.clock import SystemClock
from bot.access.consent import RULES_VERSION
from bot.services import Services
from bot.access.people import Actor
from bot.access.policy import GUARDIAN, PARENT, PROXY
from bot.settings import Settings
from storage.children import ChildrenRepository
from storage.consents import ConsentsRepository
from storage.preferences import PreferencesRepository
from tests.helpers import BOT_TOKEN

NOW = "2026-03-02T08:00:00"


@dataclass
class World:
    services: Services
    school_id: int = 0
    class_ids: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)     # name → person id
    telegram: dict[str, int] = field(default_factory=dict)   # name → Telegram user id
    grants: dict[str, list[int]] = field(default_factory=dict)
    children: dict[str, int] = field(default_factory=dict)   # child name → child id
    _next_user: int = 7000

    @classmethod
    async def build(cls, services: Services, school: str = "希望小学", classes: tuple[str, ...] = ("三年级一班",)):
        world = cls(services)
        async with services.db.transaction() as conn:
            world.school_id = await services.people.ensure_school(conn, school, NOW)
            for name in classes:
                world.class_ids[name] = await services.people.ensure_class(conn, world.school_id, name)
        return world

    async def person(self, name: str, role: str | None = None, *, klass: str | None = None, child: str | None = None,
                     relation: str | None = None, school_id: int | None = None, user_id: int | None = None) -> int:
        """A person (by name, created once) and, if given, a role for them. Returns their Telegram user id."""
        if name not in self.telegram:
            self._next_user += 1
            self.telegram[name] = user_id or self._next_user
        async with self.services.db.transaction() as conn:
            person_id = await self.services.people.ensure_person(conn, "telegram", str(self.telegram[name]), name, NOW)
            self.people[name] = person_id
            if role is not None:
                child_id = self.children[child] if child else None
                class_id = self.class_ids[klass] if klass else None
                grant = await self.services.people.add_grant(conn, person_id, role, school_id or self.school_id,
                                                             class_id, child_id, relation, None, NOW)
                self.grants.setdefault(name, []).append(grant)
        return self.telegram[name]

    async def child(self, name: str, klass: str | None = None, **values: str) -> int:
        class_id = self.class_ids[klass] if klass else next(iter(self.class_ids.values()))
        async with self.services.db.transaction() as conn:
            child_id = await ChildrenRepository.create(conn, self.school_id, class_id, None, NOW)
            await ChildrenRepository.set_fields(conn, child_id, {"name": name, **values}, None, NOW)
        self.children[name] = child_id
        return child_id

    async def consent(self, child: str, by: str, decision: str = "given") -> None:
        async with self.services.db.transaction() as conn:
            await ConsentsRepository.record(conn, self.children[child], self.people[by], decision, RULES_VERSION, NOW)

    async def actor(self, name: str) -> Actor:
        return await self.services.directory.actor("telegram", str(self.telegram[name]))


async def seed_family(database: str, *, mother: int, proxy: int, grandmother: int) -> None:
    """For end-to-end tests, written before the bot process starts: 小明 with his mother (who consented), his
    proxy parent and his grandmother, as they stand after their invitations. Quiet hours are off, so a test
    does not depend on the hour it runs at."""
    clock = SystemClock()
    services = await open_services(Settings(token=BOT_TOKEN, database_path=database), clock)
    try:
        world = await World.build(services)
        await world.child("小明")
        await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=mother)
        await world.person("赵阿姨", PROXY, child="小明", user_id=proxy)
        await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother_p", user_id=grandmother)
        await world.consent("小明", by="李妈妈")
        for user_id in (mother, proxy, grandmother):
            await PreferencesRepository(services.db).set_quiet_hours(user_id, None, None, True, None, clock.now())
    finally:
        await services.db.close()
