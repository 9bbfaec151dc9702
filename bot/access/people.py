"""Who is acting: a channel identity resolved to a person and their active roles."""

from __future__ import annotations

from dataclasses import dataclass

from storage.people import Grant, PeopleRepository


class NotAllowed(Exception):
    """The person may not do this. Deliberately says nothing of whether the thing exists."""


class NoConsent(Exception):
    """Nothing about the child may be used yet: no parent or guardian has agreed to the rules."""

    def __init__(self, child_name: str) -> None:
        super().__init__("no consent")
        self.child_name = child_name


class AlreadyAcknowledged(Exception):
    """"Received" was pressed before: it counts once."""


@dataclass(frozen=True)
class Actor:
    person_id: int | None
    grants: tuple[Grant, ...] = ()

    @property
    def known(self) -> bool:
        return self.person_id is not None and bool(self.grants)

    def schools(self) -> set[int]:
        return {g.school_id for g in self.grants}

    def has_role(self, *roles: str) -> bool:
        return any(g.role in roles for g in self.grants)


class Directory:
    def __init__(self, people: PeopleRepository) -> None:
        self.people = people

    async def actor(self, channel: str, external_id: str) -> Actor:
        person = await self.people.by_identity(channel, external_id)
        if person is None:
            return Actor(None)
        return Actor(person.id, tuple(await self.people.grants(person.id)))
