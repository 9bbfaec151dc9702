"""Entitlement at send time, and what a removed role or a withdrawn consent ends at once: pending rows about a
child end as withdrawn (nobody told) rather than reaching someone no longer entitled to them."""

from __future__ import annotations

import pytest

from bot.access.policy import ADMIN, GUARDIAN, PARENT, PROXY, TEACHER
from bot.relay import Content
from tests.helpers import deliver_outbox
from tests.world import World


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.person("校长", ADMIN)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother_p")
    await world.person("赵阿姨", PROXY, child="小明")
    await world.consent("小明", by="李妈妈")
    return world


async def relay(world, to: str, body: str) -> None:
    s = world.services
    content = Content("text", str(world.telegram["李妈妈"]), "11", text=body)
    await s.relay.relay(await world.actor("李妈妈"), world.children["小明"], world.people[to], content)


async def states(world) -> dict[str, str]:
    rows = await world.services.db.fetch_all("SELECT recipient, state FROM outbox ORDER BY id")
    names = {str(v): k for k, v in world.telegram.items()}
    return {names.get(r["recipient"], r["recipient"]): r["state"] for r in rows}


def received(recorder, world, name: str) -> list[str]:
    return [c.params.get("text") or "" for c in recorder.calls
            if c.method == "sendMessage" and int(c.params.get("chat_id", 0)) == world.telegram[name]]


async def grant_of(world, name: str) -> int:
    row = await world.services.db.fetch_one("SELECT id FROM roles WHERE person_id = ? AND revoked_at IS NULL",
                                            (world.people[name],))
    return row[0]


async def test_removing_a_role_ends_that_persons_pending_rows_about_the_child(app, world, recorder):
    await relay(world, "赵阿姨", "小明的药在柜子里")
    await relay(world, "王奶奶", "妈，记得给小明吃药")
    await world.services.invitations.remove_role(await world.actor("校长"), await grant_of(world, "赵阿姨"))

    assert await states(world) == {"赵阿姨": "withdrawn", "王奶奶": "pending"}
    await deliver_outbox(app)
    assert not received(recorder, world, "赵阿姨")
    assert any("记得给小明吃药" in t for t in received(recorder, world, "王奶奶"))


async def test_withdrawing_consent_ends_the_familys_pending_rows_about_the_child(app, world, recorder):
    await relay(world, "王奶奶", "妈，记得给小明吃药")
    await relay(world, "赵阿姨", "小明的药在柜子里")
    relayed = {r["id"] for r in await world.services.db.fetch_all("SELECT id FROM outbox")}
    await world.services.consent.decide(await world.actor("李妈妈"), world.children["小明"], "withdrawn")

    rows = await world.services.db.fetch_all("SELECT id, recipient, state FROM outbox ORDER BY id")
    assert {r["state"] for r in rows if r["id"] in relayed} == {"withdrawn"}
    # What is new is the word of the withdrawal, to the other parents and guardians and the class teacher (issue 14,
    # item 4), not to the proxy parent.
    names = {str(v): k for k, v in world.telegram.items()}
    assert sorted(names[r["recipient"]] for r in rows if r["id"] not in relayed) == ["王奶奶", "王老师"]
    await deliver_outbox(app)
    assert not received(recorder, world, "赵阿姨")
    [told] = received(recorder, world, "王奶奶")
    assert "撤回了" in told and "记得给小明吃药" not in told


async def test_a_row_is_checked_again_just_before_it_is_sent(app, world, recorder):
    """A role revoked behind the services' back (or a row re-queued later): the sender still withdraws it."""
    await relay(world, "赵阿姨", "小明的药在柜子里")
    await world.services.db.write("UPDATE roles SET revoked_at = '2026-03-01T00:00:00.000+00:00' WHERE id = ?",
                                  (await grant_of(world, "赵阿姨"),))

    assert await deliver_outbox(app) == 0
    assert await states(world) == {"赵阿姨": "withdrawn"}
    assert not received(recorder, world, "赵阿姨")
    assert not received(recorder, world, "李妈妈")  # nobody is told


async def test_staff_keep_getting_rows_about_the_child_after_consent_is_withdrawn(app, world, recorder):
    from bot.notices import Notice
    s = world.services
    await s.consent.decide(await world.actor("李妈妈"), world.children["小明"], "withdrawn")
    async with s.db.transaction() as conn:
        await s.outbox.post(conn, [Notice("t", world.people["王老师"], text="小明 note", child_id=world.children["小明"])])
    await deliver_outbox(app)
    # After the word of the withdrawal itself (issue 14, item 4), the note goes out too.
    assert received(recorder, world, "王老师")[-1] == "小明 note"
