"""The relay service: who may write to whom about a child, what goes into the outbox for each kind of
content, how a reply finds its way back, and the "Received" acknowledgement."""

from __future__ import annotations

import json

import pytest

from bot.access.policy import ADMIN, GUARDIAN, PARENT, PROXY, TEACHER
from bot.errors import AlreadyAcknowledged, NoConsent, NotAllowed, StaleButton
from bot.i18n import translator
from bot.notices import CAPTION_LIMIT
from bot.relay import Content, Received, RelayService, Unsupported
from storage.children import ChildrenRepository
from storage.db import Database
from storage.migrations import MIGRATIONS
from storage.outbox import Reachability
from storage.relays import RelaysRepository
from tests.world import NOW, World


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.child("小红")
    await world.person("校长", ADMIN)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.person("李爸爸", PARENT, child="小明", relation="father")
    await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother_p")
    await world.person("赵阿姨", PROXY, child="小明")
    await world.person("钱老师", PROXY, child="小明")
    await world.person("陈妈妈", PARENT, child="小红", relation="mother")
    await world.consent("小明", by="李妈妈")
    for name in world.telegram:  # the exact English wording is checked; Chinese is checked separately
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


@pytest.fixture
def service(world) -> RelayService:
    s = world.services
    return RelayService(s.db, s.people, ChildrenRepository(s.db), s.consent, s.outbox, RelaysRepository(s.db),
                        s.preferences, s.clock)


def text(world, name: str, message_id: int = 11, body: str = "hello") -> Content:
    chat = str(world.telegram[name])
    return Content("text", chat, str(message_id), text=body)


def media(world, name: str, kind: str, message_id: int = 12, caption: str | None = None) -> Content:
    return Content(kind, str(world.telegram[name]), str(message_id), caption=caption, file_id=f"{kind}-file")


async def rows_of(world, relay_id: int) -> list[dict]:
    """The outbox rows that carry the relay, as its message map says, in the order they go out."""
    found = await world.services.db.fetch_all(
        "SELECT o.* FROM outbox o JOIN relay_messages m ON m.outbox_id = o.id WHERE m.relay_id = ? ORDER BY o.id",
        (relay_id,))
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in found]


async def deliver(world, row_id: int, message_id: int) -> None:
    """What the sender does after Telegram accepted the row."""
    await world.services.outbox.repo.mark_sent(row_id, str(message_id), "2026-03-02T08:00:01.000+00:00")


def received(relay_id: int, label: str = "Received") -> list[list[dict]]:
    return [[{"label": label, "data": Received(relay_id).pack()}]]


# -- who with whom ---------------------------------------------------------------------------------

async def test_a_parent_writes_to_the_carers_and_the_other_parent_the_proxy_parent_first(world, service):
    mother = await world.actor("李妈妈")
    partners = await service.partners(mother, world.children["小明"])
    assert [(p.name, p.role) for p in partners] == [
        ("赵阿姨", PROXY), ("钱老师", PROXY), ("王奶奶", GUARDIAN), ("王老师", TEACHER), ("李爸爸", PARENT)]


async def test_nobody_is_remembered_before_the_first_message(world, service):
    # A recipient is chosen by the person, never guessed: before anything was sent there is no one to show.
    mother = await world.actor("李妈妈")
    assert await service.remembered(mother, world.children["小明"]) is None


async def test_carers_write_to_the_family_only(world, service):
    child = world.children["小明"]
    for carer in ("赵阿姨", "王老师"):
        actor = await world.actor(carer)
        assert [p.name for p in await service.partners(actor, child)] == ["李妈妈", "李爸爸", "王奶奶"]
    grandmother = await world.actor("王奶奶")
    assert [p.name for p in await service.partners(grandmother, child)] == ["赵阿姨", "钱老师", "王老师", "李妈妈",
                                                                            "李爸爸"]
    with pytest.raises(NotAllowed):  # proxy parent to class teacher: colleagues, not a family conversation
        await service.relay(await world.actor("赵阿姨"), child, world.people["王老师"], text(world, "赵阿姨"))


async def test_admins_strangers_and_other_families_cannot_relay(world, service):
    child = world.children["小明"]
    await world.person("路人")
    for name in ("校长", "陈妈妈", "路人"):
        actor = await world.actor(name)
        with pytest.raises(NotAllowed):
            await service.partners(actor, child)
        with pytest.raises(NotAllowed):
            await service.relay(actor, child, world.people["赵阿姨"], text(world, name))
    assert [c.name for c in await service.children(await world.actor("陈妈妈"))] == ["小红"]
    assert [c.name for c in await service.children(await world.actor("王老师"))] == ["小明", "小红"]
    assert await service.children(await world.actor("校长")) == []
    assert await RelaysRepository(world.services.db).for_child(child) == []


async def test_nothing_is_relayed_before_consent_or_after_it_is_withdrawn(world, service):
    await world.person("陈爷爷", GUARDIAN, child="小红", relation="grandfather_p")
    mother = await world.actor("陈妈妈")
    with pytest.raises(NoConsent) as refused:
        await service.partners(mother, world.children["小红"])
    assert refused.value.child_name == "小红"
    with pytest.raises(NoConsent):
        await service.relay(mother, world.children["小红"], world.people["陈爷爷"], text(world, "陈妈妈"))
    await world.consent("小明", by="李爸爸", decision="withdrawn")
    with pytest.raises(NoConsent):
        await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                            text(world, "李妈妈"))
    assert await world.services.db.fetch_all("SELECT * FROM relays") == []
    assert await world.services.db.fetch_all("SELECT * FROM outbox") == []


async def test_a_removed_role_ends_relaying_at_once(world, service):
    async with world.services.db.transaction() as conn:
        await conn.execute("UPDATE roles SET revoked_at = ?, revoked_by = ? WHERE id = ?",
                           (NOW, world.people["校长"], world.grants["赵阿姨"][0]))
    with pytest.raises(NotAllowed):
        await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                            text(world, "李妈妈"))


# -- what goes out ---------------------------------------------------------------------------------

async def test_text_goes_as_one_text_row_with_the_header_and_the_received_button(world, service):
    sent = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                               text(world, "李妈妈", body="小明最近怎么样？"))
    [row] = await rows_of(world, sent.relay_id)
    assert row["kind"] == "text" and row["recipient"] == str(world.telegram["赵阿姨"])
    assert row["payload"] == {"text": "小明's mum:\n小明最近怎么样？", "actions": received(sent.relay_id)}
    assert (row["person_id"], row["notify_person_id"], row["child_id"]) == (
        world.people["赵阿姨"], world.people["李妈妈"], world.children["小明"])
    [stored] = await RelaysRepository(world.services.db).for_child(world.children["小明"])
    assert (stored.id, stored.author_id, stored.recipient_id, stored.content_kind, stored.text,
            stored.source_chat, stored.source_message_id) == (
        sent.relay_id, world.people["李妈妈"], world.people["赵阿姨"], "text", "小明最近怎么样？",
        str(world.telegram["李妈妈"]), "11")


async def test_carers_are_named_with_their_role_and_name(world, service):
    sent = await service.relay(await world.actor("赵阿姨"), world.children["小明"], world.people["李爸爸"],
                               text(world, "赵阿姨", body="考了95分"))
    [row] = await rows_of(world, sent.relay_id)
    assert row["payload"]["text"] == "小明's proxy parent 赵阿姨:\n考了95分"
    sent = await service.relay(await world.actor("王奶奶"), world.children["小明"], world.people["李爸爸"],
                               text(world, "王奶奶", 13))
    assert (await rows_of(world, sent.relay_id))[0]["payload"]["text"].startswith(
        "小明's grandmother (father's side):\n")


async def test_the_header_is_in_the_recipients_language(world, service):
    await world.services.preferences.set_locale(world.telegram["赵阿姨"], "zh_CN")
    sent = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                               media(world, "李妈妈", "photo", caption="新衣服"))
    [row] = await rows_of(world, sent.relay_id)
    _ = translator("zh_CN").gettext
    header = _("{child}'s {relation}:").format(child="小明", relation=_("mum"))
    assert row["payload"]["caption"] == f"{header}\n新衣服"
    assert row["payload"]["actions"] == received(sent.relay_id, _("Received"))


@pytest.mark.parametrize("kind", ["photo", "video", "document", "voice", "audio", "animation"])
async def test_media_with_captions_are_one_protected_copy_with_the_header_as_caption(world, service, kind):
    sent = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                               media(world, "李妈妈", kind, caption="看看" if kind == "photo" else None))
    [row] = await rows_of(world, sent.relay_id)
    assert row["kind"] == "copy"
    assert row["payload"] == {
        "from_chat_id": str(world.telegram["李妈妈"]), "message_id": "12", "protect": True,
        "caption": "小明's mum:\n看看" if kind == "photo" else "小明's mum:", "actions": received(sent.relay_id)}
    [stored] = await RelaysRepository(world.services.db).for_child(world.children["小明"])
    assert (stored.content_kind, stored.file_id) == (kind, f"{kind}-file")


@pytest.mark.parametrize("kind", ["photo", "voice", "document"])
async def test_media_to_the_childs_own_parent_may_be_kept_and_to_a_carer_stay_protected(world, service, kind):
    to_mother = await service.relay(await world.actor("赵阿姨"), world.children["小明"], world.people["李妈妈"],
                                    media(world, "赵阿姨", kind))
    [row] = await rows_of(world, to_mother.relay_id)
    assert row["kind"] == "copy" and "protect" not in row["payload"]
    to_proxy = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                                   media(world, "李妈妈", kind, 13))
    [row] = await rows_of(world, to_proxy.relay_id)
    assert row["payload"]["protect"] is True


@pytest.mark.parametrize("kind", ["sticker", "video_note", "location", "venue"])
async def test_content_without_captions_gets_a_header_message_first(world, service, kind):
    sent = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                               media(world, "李妈妈", kind))
    header, copy = await rows_of(world, sent.relay_id)
    # A notice puts buttons on a copy only under a caption, so "Received" sits under the header.
    assert (header["kind"], header["payload"]) == ("text", {"text": "小明's mum:", "actions": received(sent.relay_id)})
    assert (copy["kind"], copy["payload"]) == ("copy", {
        "from_chat_id": str(world.telegram["李妈妈"]), "message_id": "12", "protect": True})


async def test_a_caption_too_long_for_the_header_follows_the_copy_as_text(world, service):
    caption = "长" * (CAPTION_LIMIT - 3)
    sent = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                               media(world, "李妈妈", "photo", caption=caption))
    copy, rest = await rows_of(world, sent.relay_id)
    assert copy["payload"]["caption"] == "小明's mum:" and "actions" not in copy["payload"]
    assert copy["payload"]["protect"] is True
    assert rest["payload"] == {"text": caption, "actions": received(sent.relay_id)}
    just_fits = "长" * (CAPTION_LIMIT - len("小明's mum:\n"))
    sent = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                               media(world, "李妈妈", "photo", 13, caption=just_fits))
    [row] = await rows_of(world, sent.relay_id)
    assert len(row["payload"]["caption"]) == CAPTION_LIMIT


@pytest.mark.parametrize("kind", ["poll", "dice", "contact", "other"])
async def test_unsupported_content_is_refused_and_nothing_is_stored(world, service, kind):
    with pytest.raises(Unsupported) as refused:
        await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                            Content(kind, str(world.telegram["李妈妈"]), "14"))
    assert refused.value.kind == kind
    assert await world.services.db.fetch_all("SELECT * FROM relays") == []
    assert await world.services.db.fetch_all("SELECT * FROM outbox") == []


async def test_a_message_to_someone_who_cannot_be_reached_now_is_kept_and_says_so(world, service):
    mother = await world.actor("李妈妈")
    sent = await service.relay(mother, world.children["小明"], world.people["赵阿姨"], text(world, "李妈妈"))
    assert sent.reachable
    await world.services.outbox.repo.set_reachable(
        Reachability("telegram", str(world.telegram["赵阿姨"]), False, "Unreachable:Forbidden", NOW))
    sent = await service.relay(mother, world.children["小明"], world.people["赵阿姨"], text(world, "李妈妈", 12))
    assert not sent.reachable and sent.recipient.name == "赵阿姨"
    [row] = await rows_of(world, sent.relay_id)  # waits in the outbox; delivery requeues it when they are back
    assert row["state"] == "pending"


async def test_someone_the_bot_cannot_reach_at_all_is_nobodys_partner(world, service):
    async with world.services.db.transaction() as conn:
        cur = await conn.execute("INSERT INTO people (display_name, created_at) VALUES ('孙外公', ?)", (NOW,))
        await conn.execute("INSERT INTO roles (person_id, role, school_id, child_id, relation, granted_at) "
                           "VALUES (?, ?, ?, ?, 'grandfather_m', ?)",
                           (cur.lastrowid, GUARDIAN, world.school_id, world.children["小明"], NOW))
    partners = await service.partners(await world.actor("李妈妈"), world.children["小明"])
    assert "孙外公" not in [p.name for p in partners]
    with pytest.raises(NotAllowed):
        await service.relay(await world.actor("李妈妈"), world.children["小明"], cur.lastrowid, text(world, "李妈妈"))


# -- replies ---------------------------------------------------------------------------------------

async def test_replies_chain_both_ways_and_quote_the_recipients_own_message(world, service):
    child, mother_chat, proxy_chat = world.children["小明"], str(world.telegram["李妈妈"]), str(world.telegram["赵阿姨"])
    mother, proxy = await world.actor("李妈妈"), await world.actor("赵阿姨")
    first = await service.relay(mother, child, world.people["赵阿姨"], text(world, "李妈妈", 21, "在吗？"))
    await deliver(world, (await rows_of(world, first.relay_id))[0]["id"], 501)

    answered = await service.replied_to(proxy, "telegram", proxy_chat, "501")
    assert answered.id == first.relay_id and answered.author_id == world.people["李妈妈"]
    assert await service.replied_to(mother, "telegram", proxy_chat, "501") is None  # not delivered to her
    assert await service.replied_to(proxy, "telegram", proxy_chat, "502") is None

    second = await service.relay(proxy, child, answered.author_id, text(world, "赵阿姨", 31, "在的"), answered.id)
    [row] = await rows_of(world, second.relay_id)
    assert row["recipient"] == mother_chat and row["payload"]["reply_to"] == "21"
    await deliver(world, row["id"], 601)

    answered = await service.replied_to(mother, "telegram", mother_chat, "601")
    third = await service.relay(mother, child, answered.author_id, media(world, "李妈妈", "voice", 22), answered.id)
    [row] = await rows_of(world, third.relay_id)
    assert row["recipient"] == proxy_chat and row["payload"]["reply_to"] == "31"
    stored = await RelaysRepository(world.services.db).for_child(child)
    assert [(r.id, r.in_reply_to) for r in stored] == [
        (third.relay_id, second.relay_id), (second.relay_id, first.relay_id), (first.relay_id, None)]


async def test_a_reply_to_the_header_above_a_sticker_finds_its_relay_too(world, service):
    sent = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                               media(world, "李妈妈", "sticker"))
    header, copy = await rows_of(world, sent.relay_id)
    await deliver(world, header["id"], 701)
    await deliver(world, copy["id"], 702)
    proxy, chat = await world.actor("赵阿姨"), str(world.telegram["赵阿姨"])
    assert (await service.replied_to(proxy, "telegram", chat, "701")).id == sent.relay_id
    assert (await service.replied_to(proxy, "telegram", chat, "702")).id == sent.relay_id


async def test_an_answer_may_only_go_back_to_the_author_of_what_is_answered(world, service):
    first = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                                text(world, "李妈妈"))
    with pytest.raises(NotAllowed):  # 李爸爸 did not receive it
        await service.relay(await world.actor("李爸爸"), world.children["小明"], world.people["李妈妈"],
                            text(world, "李爸爸"), first.relay_id)
    with pytest.raises(NotAllowed):  # 赵阿姨 received it from 李妈妈, not from 李爸爸
        await service.relay(await world.actor("赵阿姨"), world.children["小明"], world.people["李爸爸"],
                            text(world, "赵阿姨"), first.relay_id)


# -- acknowledgement -------------------------------------------------------------------------------

async def test_only_the_recipient_acknowledges_once_and_the_author_is_told(world, service):
    sent = await service.relay(await world.actor("李妈妈"), world.children["小明"], world.people["赵阿姨"],
                               text(world, "李妈妈", 41))
    for name in ("李妈妈", "李爸爸", "校长"):
        with pytest.raises(StaleButton):
            await service.acknowledge(await world.actor(name), sent.relay_id)
    with pytest.raises(StaleButton):
        await service.acknowledge(await world.actor("赵阿姨"), sent.relay_id + 100)

    await service.acknowledge(await world.actor("赵阿姨"), sent.relay_id)
    stored = await RelaysRepository(world.services.db).get(sent.relay_id)
    assert stored.acknowledged_at == "2026-03-02T08:00:00.000+00:00"
    [told] = await world.services.db.fetch_all("SELECT * FROM outbox WHERE dedupe_key LIKE 'relay-ack:%'")
    assert told["recipient"] == str(world.telegram["李妈妈"]) and told["person_id"] == world.people["李妈妈"]
    assert json.loads(told["payload"]) == {"text": "赵阿姨 received your message.", "reply_to": "41"}

    with pytest.raises(AlreadyAcknowledged):
        await service.acknowledge(await world.actor("赵阿姨"), sent.relay_id)
    assert len(await world.services.db.fetch_all("SELECT * FROM outbox WHERE dedupe_key LIKE 'relay-ack:%'")) == 1


# -- the message map, and a message handed over twice ----------------------------------------------------

async def test_the_same_message_handed_over_again_is_relayed_once(world, service):
    """An update handled a second time after a crash brings the same message again."""
    mother = await world.actor("李妈妈")
    first = await service.relay(mother, world.children["小明"], world.people["赵阿姨"], text(world, "李妈妈", 51))
    again = await service.relay(mother, world.children["小明"], world.people["赵阿姨"], text(world, "李妈妈", 51))
    assert again.relay_id == first.relay_id and again.recipient.name == "赵阿姨"
    assert len(await world.services.db.fetch_all("SELECT * FROM relays")) == 1
    assert len(await world.services.db.fetch_all("SELECT * FROM outbox")) == 1


async def test_relays_stored_before_the_message_map_keep_their_replies(tmp_path):
    """Migration 0010 maps the outbox rows of relays stored before it (found by their dedupe key, once)."""
    db = await Database.open(tmp_path / "old.sqlite3")
    try:
        await db.migrate(MIGRATIONS[:9])
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO schools (id, name, created_at) VALUES (1, 'S', ?)", (NOW,))
            await conn.execute("INSERT INTO classes (id, school_id, name) VALUES (1, 1, 'C')")
            await conn.execute("INSERT INTO children (id, school_id, class_id, created_at) VALUES (1, 1, 1, ?)", (NOW,))
            await conn.execute("INSERT INTO people (id, display_name, created_at) VALUES (1, 'a', ?), (2, 'b', ?)",
                               (NOW, NOW))
            for relay_id in (7, 8):
                await conn.execute(
                    "INSERT INTO relays (id, child_id, author_id, recipient_id, source_chat, source_message_id, "
                    "content_kind, created_at) VALUES (?, 1, 1, 2, '1001', ?, 'sticker', ?)", (relay_id, relay_id, NOW))
            for row_id, key in ((1, "relay:7:header"), (2, "relay:7:copy"), (3, "relay:8:text#2"),
                                (4, "relay-ack:7"), (5, "undeliverable:3:1")):
                await conn.execute(
                    "INSERT INTO outbox (id, dedupe_key, channel, recipient, kind, payload, not_before, created_at, "
                    "external_message_id) VALUES (?, ?, 'telegram', '1002', 'text', '{}', ?, ?, ?)",
                    (row_id, key, NOW, NOW, str(900 + row_id)))
        await db.migrate()
        assert [tuple(r) for r in await db.fetch_all("SELECT outbox_id, relay_id FROM relay_messages "
                                                     "ORDER BY outbox_id")] == [(1, 7), (2, 7), (3, 8)]
        relays = RelaysRepository(db)
        assert (await relays.delivered_as("telegram", "1002", "902")).id == 7
        assert await relays.delivered_as("telegram", "1002", "904") is None
    finally:
        await db.close()
