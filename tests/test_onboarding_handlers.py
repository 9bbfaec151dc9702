"""A teacher onboards a class (issue 14, items 6 and 7): invitations that can be forwarded, "invite all the
families" with its printable sheet, the class's onboarding view with its states, invite again and withdraw; who is
told when someone joins or decides; /start from a member; /newclass with a name taken; names with characters
nobody sees."""

from __future__ import annotations

import io
import unicodedata

import pypdfium2
import pytest

from bot.access.buttons import InviteClass, ShowFamilies
from bot.access.invitations import code_hash
from bot.access.policy import ADMIN, GUARDIAN, PARENT, PROXY, TEACHER
from bot.errors import UserError
from bot.records.fields import FieldError, normalise
from tests.helpers import INVITE_LINK, DocumentRecorder, callback_update, decode_sheet, message_update, outbox, user
from tests.world import TODAY, World

START = INVITE_LINK


@pytest.fixture
def recorder():
    return DocumentRecorder()


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services, classes=("三年级一班", "三年级二班"))
    await world.person("校长", ADMIN)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("李老师", TEACHER, klass="三年级二班")
    # As the roster import records them: a father by name, a mother by phone, a grandmother as the guardian.
    await world.child("小明", father_name="王建国", mother_phone="+8613900139000", guardian_name="张桂兰",
                      guardian_relation="奶奶")
    await world.child("小红", guardian_name="刘秀英", guardian_relation="外婆")
    await world.child("小刚")  # no family on the record
    await world.child("别班", "三年级二班", father_name="赵")
    return world


def as_(world, name):
    return user(world.telegram[name], "en", name)


def button(call, label):
    for row in call.params["reply_markup"]["inline_keyboard"]:
        for b in row:
            if b["text"] == label:
                return b["callback_data"]
    raise LookupError(f"{label!r} not in {[b['text'] for r in call.params['reply_markup']['inline_keyboard'] for b in r]}")


async def open_invitations(world) -> list[dict]:
    return [dict(r) for r in await world.services.db.fetch_all(
        "SELECT * FROM invitations WHERE used_at IS NULL AND revoked_at IS NULL ORDER BY id")]


async def test_an_invitation_can_be_forwarded_and_saved(feed, recorder, world):
    teacher = as_(world, "王老师")
    await feed(message_update("/invite mother 小明", from_user=teacher))
    [photo] = recorder.sent("sendPhoto")
    [text] = recorder.sent("sendMessage")
    assert not photo.params.get("protect_content") and not text.params.get("protect_content")
    assert "Forward this message" in text.text and START in text.text


async def test_invite_all_makes_one_invitation_per_family_member_and_a_sheet_of_slips(feed, recorder, world):
    teacher = as_(world, "王老师")
    await feed(message_update("/invite", from_user=teacher))
    menu = recorder.sent()[-1]
    assert "📋 Who of 三年级一班 has joined" in [b for r in menu.params["reply_markup"]["inline_keyboard"]
                                               for b in (x["text"] for x in r)]
    await feed(callback_update(button(menu, "✉️ Invite all the families of 三年级一班"), from_user=teacher))

    made = await open_invitations(world)
    assert sorted((r["child_id"], r["role"], r["relation"]) for r in made) == sorted([
        (world.children["小明"], PARENT, "father"), (world.children["小明"], PARENT, "mother"),
        (world.children["小明"], GUARDIAN, "grandmother_p"), (world.children["小红"], GUARDIAN, "grandmother_m")])
    [(filename, pdf)] = recorder.files
    assert filename.endswith(".pdf") and pdf.startswith(b"%PDF")
    [document] = recorder.sent("sendDocument")
    assert not document.params.get("protect_content")
    links = decode_sheet(pdf)
    assert len(links) == 4 and all(link.startswith(START) for link in links)
    assert sorted(code_hash(link.removeprefix(START)) for link in links) == sorted(r["code_hash"] for r in made)
    text = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "小明" in text and "小红" in text and "小刚" not in text
    summary = recorder.sent()[-1].text
    assert "4 new invitations" in summary and "小刚" in summary

    # Pressed again, nobody gets a second invitation: the slips handed out stay valid.
    recorder.clear()
    recorder.files.clear()
    await feed(callback_update(InviteClass(world.class_ids["三年级一班"]).pack(), from_user=teacher))
    assert len(await open_invitations(world)) == 4 and not recorder.files
    assert "0 new invitations" in recorder.sent()[-1].text and "4 family members" in recorder.sent()[-1].text


async def test_a_teacher_cannot_invite_another_class(feed, recorder, world):
    await feed(callback_update(InviteClass(world.class_ids["三年级二班"]).pack(), from_user=as_(world, "王老师")))
    assert await open_invitations(world) == []
    assert not recorder.files


async def test_the_onboarding_view_shows_each_family_members_state(feed, recorder, world):
    services = world.services
    teacher = await world.actor("王老师")
    mother = await services.onboarding.invite_again(teacher, world.children["小明"], PARENT, "mother")
    await world.person("王建国", PARENT, child="小明", relation="father")
    await world.consent("小明", "王建国")
    await world.person("刘秀英", GUARDIAN, child="小红", relation="grandmother_m")
    await world.consent("小红", "刘秀英", "refused")

    await feed(message_update("/families", from_user=as_(world, "王老师")))
    view = recorder.sent()[-1]
    assert "• 小明: father ✅ · mother ✉️ · grandmother (father's side) ⚪" in view.text
    assert "• 小红: grandmother (mother's side) ⛔" in view.text
    assert "• 小刚: no parent or guardian on the record" in view.text
    assert "别班" not in view.text

    await feed(callback_update(button(view, "小明"), from_user=as_(world, "王老师")))
    family = recorder.sent()[-1]
    assert "✅ father: agreed (王建国)" in family.text and "✉️ mother: invited" in family.text
    assert "⚪ grandmother (father's side): not invited" in family.text
    await feed(callback_update(button(family, "✖️ Withdraw"), from_user=as_(world, "王老师")))
    assert (await services.invitations._invitations.get(mother.invitation.id)).revoked_at is not None
    after = recorder.sent()[-1]
    assert "⚪ mother: not invited" in after.text

    await feed(callback_update(button(after, "✉️ Invite the mother"), from_user=as_(world, "王老师")))
    assert START in recorder.sent()[-1].text
    [again] = [r for r in await open_invitations(world) if r["relation"] == "mother"]
    assert again["id"] != mother.invitation.id


async def test_someone_else_cannot_open_the_view_of_a_class(feed, recorder, world):
    await feed(callback_update(ShowFamilies(world.class_ids["三年级一班"]).pack(), from_user=as_(world, "李老师")))
    assert not recorder.sent() or "小明" not in recorder.sent()[-1].text
    answers = recorder.sent("answerCallbackQuery")
    assert answers and "own class" in answers[-1].params.get("text", "")


async def join(feed, recorder, code: str, uid: int, name: str) -> None:
    joining = user(uid, "en", name)
    await feed(message_update(f"/start {code}", from_user=joining))
    await feed(callback_update(button(recorder.sent(chat_id=uid)[-1], "Accept"), from_user=joining))


async def test_the_teacher_hears_who_joins_and_decides_and_the_admin_hears_a_teacher_join(feed, recorder, world):
    services = world.services
    for staff in ("王老师", "校长"):  # they read the bot in English: they are told in English
        await services.preferences.set_locale(world.telegram[staff], "en")
    issued = await services.onboarding.invite_again(await world.actor("王老师"), world.children["小明"], PARENT,
                                                    "father")
    await join(feed, recorder, issued.code, 880201, "王建国")
    told = [r for r in await outbox(world) if r["person_id"] == world.people["王老师"]]
    assert [r["payload"]["text"] for r in told] == ["王建国 joined as the father of 小明."]

    await feed(callback_update(button(recorder.sent(chat_id=880201)[-1], "I agree"), from_user=user(880201, "en")))
    told = [r for r in await outbox(world) if r["person_id"] == world.people["王老师"]]
    assert "小明's father agreed to the data rules" in told[-1]["payload"]["text"]

    admin = await world.actor("校长")
    teacher = await services.invitations.create(admin, TEACHER, class_id=world.class_ids["三年级二班"],
                                                school_id=world.school_id)
    await join(feed, recorder, teacher.code, 880202, "周老师")
    told = [r for r in await outbox(world) if r["person_id"] == world.people["校长"]]
    assert [r["payload"]["text"] for r in told] == ["周老师 joined as the class teacher of 三年级二班."]


async def test_a_proxy_parent_who_joins_after_consent_is_told_to_start(feed, recorder, world):
    await world.person("王建国", PARENT, child="小明", relation="father")
    await world.consent("小明", "王建国")
    issued = await world.services.invitations.create(await world.actor("王老师"), PROXY, child_id=world.children["小明"])
    await join(feed, recorder, issued.code, 880203, "陈阿姨")
    said = recorder.sent(chat_id=880203)[-1].text
    assert "already agreed" in said and "/update" in said


async def test_start_from_a_member_welcomes_them_back_with_their_roles(feed, recorder, world):
    await feed(message_update("/start", from_user=as_(world, "王老师")))
    said = recorder.sent()[-1].text
    assert said.startswith("Welcome back, 王老师!")
    assert "class teacher of 三年级一班" in said and "/families" in said
    assert "by invitation only" not in said
    await feed(message_update("/start", from_user=user(880299, "en", "stranger")))
    assert "by invitation only" in recorder.sent()[-1].text


async def test_newclass_with_a_name_taken_says_so_and_adds_nothing(feed, recorder, world):
    admin = as_(world, "校长")
    before = len(await world.services.people.classes(world.school_id))
    await feed(message_update("/newclass 三年级一班", from_user=admin))
    assert "already has a class called “三年级一班”" in recorder.sent()[-1].text
    assert "is ready" not in recorder.sent()[-1].text
    # The same name in another Unicode form (a decomposed é) is the same class.
    await feed(message_update("/newclass Café", from_user=admin))
    await feed(message_update("/newclass " + unicodedata.normalize("NFD", "Café"), from_user=admin))
    assert "already has a class" in recorder.sent()[-1].text
    assert len(await world.services.people.classes(world.school_id)) == before + 1


async def test_newclass_without_a_name_asks_for_it_and_takes_the_next_line(feed, recorder, world):
    admin = as_(world, "校长")
    before = len(await world.services.people.classes(world.school_id))
    await feed(message_update("/newclass", from_user=admin))
    assert recorder.sent()[-1].text.startswith("What is the new class called?")
    await feed(message_update("三年级一班", from_user=admin))  # taken: asked again
    assert "already has a class" in recorder.sent()[-1].text
    await feed(message_update("四年级二班", from_user=admin))
    assert recorder.sent()[-1].text.startswith("Class “四年级二班” is ready")
    await feed(message_update("五年级一班", from_user=admin))  # the dialogue has ended: not another class
    assert len(await world.services.people.classes(world.school_id)) == before + 1


@pytest.mark.parametrize("bad", ["小\u200b明", "小明\u202e", "\u2066小明", "小\x07明", "小\ufeff明"])
async def test_names_with_characters_nobody_sees_are_refused(feed, recorder, world, bad):
    with pytest.raises(FieldError) as refused:
        normalise("name", bad, today=TODAY)
    assert refused.value.code == "invisible"
    await feed(message_update(f"/newclass {bad}", from_user=as_(world, "校长")))
    assert "invisible characters" in recorder.sent()[-1].text
    assert all(bad not in k.name for k in await world.services.people.classes(world.school_id))


async def test_a_childs_name_is_kept_in_nfc_so_a_duplicate_is_found(world):
    services = world.services
    teacher = await world.actor("王老师")
    class_id = world.class_ids["三年级一班"]
    await services.children.create(teacher, class_id, {"name": "Zoé", "birth_date": "2016-05-01"})
    with pytest.raises(UserError):
        await services.children.create(teacher, class_id, {"name": unicodedata.normalize("NFD", "Zoé"),
                                                           "birth_date": "2016-05-01"})
    assert normalise("father_name", unicodedata.normalize("NFD", "José"), today=TODAY) == "José"


def test_decode_sheet_reads_nothing_from_a_blank_page():
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    blank = canvas.Canvas(buffer)
    blank.showPage()
    blank.save()
    assert decode_sheet(buffer.getvalue()) == []
