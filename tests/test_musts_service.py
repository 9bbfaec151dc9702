"""The care entries as plain service calls (no Telegram): filling a form, what it refuses, what sending it stores
and hands to the outbox for each family member, "Received", the timeline and its media, and what is due."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.access.policy import GUARDIAN, PARENT, PROXY, TEACHER
from bot.errors import NoConsent, NotAllowed, StaleButton
from bot.i18n import translator
from bot.musts.buttons import Received
from bot.musts.service import (DRAFT_LIFETIME, AlreadyKept, AlreadyReceived, FileTooLarge, FormClosed, FullUp,
                               Incomplete, MediaIn, NoDraft, NoMedia)
from bot.musts.forms import MAX_PHOTOS, BadValue
from tests.helpers import count, outbox
from tests.world import World

EN = translator("en").gettext


@pytest.fixture
async def world(services):
    world = await World.build(services)
    await world.child("小明")
    await world.child("小红")
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.person("奶奶", GUARDIAN, child="小明", relation="grandmother")
    await world.person("赵阿姨", PROXY, child="小明")
    await world.person("钱叔叔", PROXY, child="小红")
    await world.consent("小明", by="李妈妈")
    for name in world.telegram:
        await services.preferences.set_locale(world.telegram[name], "en")
    return world


def photo(n: int, size: int = 50_000) -> MediaIn:
    return MediaIn("photo", f"p{n}", f"u{n}", size)


async def test_who_may_start_a_form(services, world):
    musts = services.musts
    with pytest.raises(NotAllowed) as refused:
        await musts.start(await world.actor("李妈妈"), world.children["小明"], "update")
    assert refused.value.text(EN) == "You cannot write about this child."
    with pytest.raises(NoConsent):
        await musts.start(await world.actor("钱叔叔"), world.children["小红"], "update")
    with pytest.raises(NotAllowed):
        await musts.start(await world.actor("赵阿姨"), world.children["小红"], "update")
    draft = await musts.start(await world.actor("赵阿姨"), world.children["小明"], "update")
    assert (draft.child_name, draft.kind, draft.fields, draft.media) == ("小明", "update", {}, [])


async def test_a_form_fills_with_buttons_words_photos_and_a_caption(services, world):
    musts, proxy = services.musts, await world.actor("赵阿姨")
    await musts.start(proxy, world.children["小明"], "update")
    await musts.choose(proxy, "mood", "happy")
    await musts.type(proxy, "今天很开心")
    await musts.type(proxy, "吃了两碗饭")           # a second note is added to the first
    draft = await musts.add_media(proxy, photo(1), "运动会")
    assert draft.fields == {"mood": "happy", "note": "今天很开心\n吃了两碗饭\n运动会"}
    assert (draft.photos, draft.voices) == (1, 0)
    with pytest.raises(AlreadyKept):
        await musts.add_media(proxy, photo(1))
    with pytest.raises(FileTooLarge):
        await musts.add_media(proxy, photo(2, size=21 * 1024 * 1024))
    for n in range(2, MAX_PHOTOS + 1):
        await musts.add_media(proxy, photo(n))
    with pytest.raises(FullUp) as full:
        await musts.add_media(proxy, photo(99))
    assert full.value.text(EN) == "That is as many as one update can hold (10 photos, 3 voice notes)."
    with pytest.raises(StaleButton):
        await musts.ask(proxy, "no-such-field")
    with pytest.raises(BadValue):
        await musts.choose(proxy, "mood", "furious")
    assert (await musts.draft(proxy)).fields["mood"] == "happy"  # a refusal changes nothing


async def test_a_score_takes_no_photos_and_must_be_complete(services, world):
    musts, teacher = services.musts, await world.actor("王老师")
    await musts.start(teacher, world.children["小明"], "score")
    with pytest.raises(NoMedia) as refused:
        await musts.add_media(teacher, photo(1))
    assert refused.value.text(EN) == "A test score takes no photos or voice notes; use the buttons."
    with pytest.raises(Incomplete) as gap:
        await musts.submit(teacher)
    assert gap.value.text(EN) == "Please fill in: Subject, Score, Test, Date."
    await musts.choose(teacher, "subject", "maths")
    with pytest.raises(Incomplete) as gap:
        await musts.submit(teacher)
    assert gap.value.text(EN) == "Please fill in: Score, Test, Date."
    await musts.type(teacher, "92/100")
    await musts.type(teacher, "期中")
    await musts.type(teacher, "3-1")
    with pytest.raises(FormClosed) as closed:
        await musts.form(teacher, world.children["小明"], "talk")
    assert closed.value.text(EN) == "This form is closed. Start again with /talk."
    done = await musts.submit(teacher)
    assert [r.name for r in done.recipients] == ["李妈妈", "奶奶"]
    with pytest.raises(NoDraft):
        await musts.submit(teacher)
    await musts.start(teacher, world.children["小明"], "update")
    with pytest.raises(Incomplete) as gap:
        await musts.submit(teacher)
    assert gap.value.text(EN) == "The form is empty: fill in something, or send a photo or a voice note."


async def test_sending_stores_the_entry_and_hands_each_family_member_their_copy(services, world):
    musts, proxy = services.musts, await world.actor("赵阿姨")
    await musts.start(proxy, world.children["小明"], "update")
    await musts.choose(proxy, "study", "progress")
    for n in (1, 2):
        await musts.add_media(proxy, photo(n))
    await musts.add_media(proxy, MediaIn("voice", "v1", "uv1", 9000))
    done = await musts.submit(proxy)
    assert await count(world, "care_entries") == 1 and await count(world, "care_media") == 3
    assert await count(world, "care_drafts") == 0 and await musts.draft(proxy) is None

    rows = await outbox(world)
    deliveries = await services.db.fetch_all("SELECT id, recipient_id FROM care_deliveries ORDER BY id")
    for delivery in deliveries:
        mine = [r for r in rows if r["person_id"] == delivery["recipient_id"]]
        assert [r["kind"] for r in mine] == ["media_group", "media", "text"]
        assert [m["file_id"] for m in mine[0]["payload"]["media"]] == ["p1", "p2"]
        assert not any(r["payload"].get("protect") for r in mine) and mine[1]["payload"]["file_id"] == "v1"
        card = mine[2]["payload"]
        assert card["text"].startswith("📒 小明's update · Mar 2\nproxy parent 赵阿姨")
        assert card["actions"] == [[{"label": "✅ Received", "data": Received(delivery["id"]).pack()}]]
        assert mine[2]["notify_person_id"] == world.people["赵阿姨"]
    assert {r["person_id"] for r in rows} == {world.people["李妈妈"], world.people["奶奶"]}
    assert done.entry_id and all(r.reachable for r in done.recipients)


async def test_a_talk_record_is_only_announced_to_the_family(services, world):
    musts, teacher = services.musts, await world.actor("王老师")
    await musts.start(teacher, world.children["小明"], "talk")
    await musts.choose(teacher, "date", "today")
    await musts.choose(teacher, "topics", "family")
    await musts.done_choosing(teacher)
    assert (await musts.draft(teacher)).awaiting == "mood"  # "Done" moves on to the next field
    await musts.choose(teacher, "mood", "worried")
    await musts.type(teacher, "SECRET-CANARY")
    await musts.choose(teacher, "followup", "none")
    await musts.submit(teacher)
    rows = await outbox(world)
    assert len(rows) == 2 and all(r["payload"] == {"text": "💬 class teacher 王老师 had a talk with 小明 on Mar 2."}
                                  for r in rows)


async def test_received_counts_once_and_tells_the_author(services, world):
    musts, proxy = services.musts, await world.actor("赵阿姨")
    await musts.start(proxy, world.children["小明"], "goodnews")
    await musts.type(proxy, "得了奖状")
    await musts.submit(proxy)
    mother_delivery = (await services.db.fetch_one(
        "SELECT id FROM care_deliveries WHERE recipient_id = ?", (world.people["李妈妈"],)))["id"]
    with pytest.raises(StaleButton):  # the grandmother cannot confirm for the mother
        await musts.acknowledge(await world.actor("奶奶"), mother_delivery)
    with pytest.raises(StaleButton):
        await musts.acknowledge(await world.actor("李妈妈"), mother_delivery + 100)
    assert await musts.acknowledge(await world.actor("李妈妈"), mother_delivery) == "小明"
    with pytest.raises(AlreadyReceived):
        await musts.acknowledge(await world.actor("李妈妈"), mother_delivery)
    told = [r for r in await outbox(world) if r["person_id"] == world.people["赵阿姨"]]
    assert [r["payload"]["text"] for r in told] == ["✅ 李妈妈 received 🎉 小明's good news · Mar 2."]


async def test_a_draft_is_forgotten_after_a_day(services, world, clock):
    musts, proxy = services.musts, await world.actor("赵阿姨")
    await musts.start(proxy, world.children["小明"], "update")
    clock.advance(DRAFT_LIFETIME + timedelta(minutes=1))
    assert await musts.draft(proxy) is None
    assert await count(world, "care_drafts") == 0
    with pytest.raises(NoDraft):
        await musts.type(proxy, "hello")


async def test_the_timeline_pages_and_hides_what_a_reader_may_not_see(services, world):
    musts, proxy = services.musts, await world.actor("赵阿姨")
    for n in range(5):
        await musts.start(proxy, world.children["小明"], "goodnews")
        await musts.add_media(proxy, photo(n))
        await musts.submit(proxy)
    mother = await world.actor("李妈妈")
    first = await musts.timeline(mother, world.children["小明"], 0, "en")
    assert (first.page, first.pages, len(first.items)) == (0, 2, 4)
    last = await musts.timeline(mother, world.children["小明"], 99, "en")
    assert (last.page, len(last.items)) == (1, 1)
    entry, media = await musts.entry_media(mother, last.items[0].entry.id)
    assert [m.file_id for m in media] == ["p0"]
    with pytest.raises(NotAllowed) as refused:
        await musts.timeline(await world.actor("钱叔叔"), world.children["小明"], 0, "en")
    assert refused.value.text(EN) == "You cannot see this child's timeline."
    with pytest.raises(StaleButton):
        await musts.entry_media(await world.actor("钱叔叔"), entry.id)
    assert await count(world, "audit_log") >= 8  # each send, view and media view is audited


async def test_due_shows_a_proxy_parents_child_and_nothing_to_a_parent(services, world):
    musts = services.musts
    [row] = await musts.due(await world.actor("赵阿姨"))
    assert row.child.name == "小明" and [m.key for m in row.musts] == ["update", "photos", "summary", "talk",
                                                                            "letter"]
    assert await musts.due(await world.actor("李妈妈")) == []
    assert {r.child.name for r in await musts.due(await world.actor("王老师"))} == {"小明", "小红"}


async def test_a_talk_of_today_recorded_in_the_morning_counts_in_due_at_once(services, world, clock):
    # Issue 14: a talk recorded 今天 at 9:00 was counted at noon, so /due still said it was owed.
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    musts, teacher = services.musts, await world.actor("王老师")
    await musts.start(teacher, world.children["小明"], "talk")
    await musts.choose(teacher, "date", "today")
    await musts.choose(teacher, "topics", "family")
    await musts.done_choosing(teacher)
    await musts.choose(teacher, "mood", "worried")
    await musts.type(teacher, "谈了学习")
    await musts.choose(teacher, "followup", "none")
    await musts.submit(teacher)
    [row] = [r for r in await musts.due(teacher) if r.child.name == "小明"]
    talk = next(m for m in row.musts if m.key == "talk")
    assert (talk.state, talk.done) == ("done", 1)


async def test_a_talk_told_before_its_date_is_of_today_and_the_words_are_kept(services, world, clock):
    # Someone who starts with what was said, at the "when was the talk?" step, means today; the words are the
    # topic, not refused as a bad date. A date typed wrong ("3-40") is still refused, and "好" is no story.
    musts, teacher = services.musts, await world.actor("王老师")
    await musts.start(teacher, world.children["小明"], "talk")
    with pytest.raises(BadValue):
        await musts.type(teacher, "3-40")
    with pytest.raises(BadValue):
        await musts.type(teacher, "好")
    draft = await musts.type(teacher, "昨天晚上和小明聊了学习的事")
    assert draft.fields["date"] == (services.musts.today() - timedelta(days=1)).isoformat()
    assert draft.fields["topics"] == ["昨天晚上和小明聊了学习的事"]
