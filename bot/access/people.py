"""Who is acting: a channel identity resolved to a person and their active roles; the classes a person runs."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access.policy import ADMIN, TEACHER
from bot.errors import NotAllowed
from storage.people import Grant, PeopleRepository, SchoolClass


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


async def classes_run_by(people: PeopleRepository, actor: Actor) -> list[SchoolClass]:
    """The classes a person runs: a class teacher's own, every class of an admin's school; by school, then name.
    The roll call and the class notices both answer "which classes" with this, so the two menus always agree."""
    found: dict[int, SchoolClass] = {}
    for grant in actor.grants:
        if grant.role == TEACHER and grant.class_id is not None:
            klass = await people.school_class(grant.class_id)
            if klass is not None:
                found.setdefault(klass.id, klass)
        elif grant.role == ADMIN and grant.school_id is not None:
            for klass in await people.classes(grant.school_id):
                found.setdefault(klass.id, klass)
    return sorted(found.values(), key=lambda k: (k.school_id, k.name, k.id))


async def class_run_by(people: PeopleRepository, actor: Actor, class_id: int, refusal: NotAllowed) -> SchoolClass:
    """The class `class_id` if the person runs it; otherwise `refusal`, in the words of the service that asks (a
    class of another school and a class that does not exist get the same one)."""
    for klass in await classes_run_by(people, actor):
        if klass.id == class_id:
            return klass
    raise refusal
