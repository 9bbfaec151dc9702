"""Who is acting: a channel identity resolved to a person and their active roles."""

from __future__ import annotations

from dataclasses import dataclass

from storage.people import Grant, PeopleRepository


@dataclass(frozen=True)
class Actor:
    person_id: int | None
    grants: tuple[Grant, ...] = ()

    @property
    def known(self) -> bool:
        return self.person_id is not None and bool(self.grants)

    def schools(self) -> set[int]:
        """The schools of the person's school roles (a supervisor's or a child director's role is for none)."""
        return {g.school_id for g in self.grants if g.school_id is not None}

    def townships(self, *roles: str) -> set[int]:
        """The townships of the person's roles (of `roles`, when given)."""
        return {g.township_id for g in self.grants if g.township_id is not None and (not roles or g.role in roles)}

    def has_role(self, *roles: str) -> bool:
        return any(g.role in roles for g in self.grants)


class Directory:
    def __init__(self, people: PeopleRepository) -> None:
        self.people = people

    async def actor(self, channel: str, external_id: str) -> Actor:
        """The person behind an identity on `channel` (named by the channel's runtime), with their roles."""
        person = await self.people.by_identity(channel, external_id)
        if person is None:
            return Actor(None)
        return Actor(person.id, tuple(await self.people.grants(person.id)))
