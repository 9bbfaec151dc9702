"""Erasure on request leaves nothing behind: a canary in every field of a child's record, and in its history,
must be gone from the database files themselves (main file, WAL and shared memory) once an admin confirms.

The updates go through the durable inbox as in production, so text that came in with a message is covered too.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import phonenumbers
import pytest

from bot.records.fields import FIELDS, ID_CHECK, ID_WEIGHTS, id_number_is_valid
from storage.db import IntegrityError
from tests.helpers import through_intake, callback_update, deliver_outbox, message_update, user
from tests.helpers import DocumentRecorder
from tests.world import World

RUN = secrets.token_hex(4)
MARK = "金丝雀"  # every canary starts with it, so even a truncated copy is found


def canary(key: str) -> str:
    # the field's position, not its name: some fields allow only 20 characters
    return f"{MARK}{RUN}f{[f.key for f in FIELDS].index(key):02d}"


def id_number(region: str, birth: str, sequence: str) -> str:
    body = region + birth + sequence
    return body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS)) % 11]


# Choices (sex, boarding, guardianship) and the guardian's age are fixed words or small numbers: they cannot carry
# a canary, so they get unusual but valid values. Everything else is unique to this run.
FIXED = {"sex": "female", "boarding": "yes", "guardianship": "unable", "guardian_age": "97",
         "hukou_registered": "no", "schooling": "junior", "health_status": "disabled", "disability_category": "speech",
         "disability_grade": "grade3", "guardianship_situation": "mother_away", "entrusted": "yes",
         "guardianship_assessment": "poor", "income_sources": "farming,business", "support_received": "housing",
         "father_birth_date": "1979-02-23", "mother_birth_date": "1981-11-29"}
# The parents' and the guardian's ID numbers are as unique as the child's: they must not survive either.
PARENT_IDS = {"father_id_number": id_number("411327", "19790223", "617"),
              "mother_id_number": id_number("411327", "19811129", "628"),
              "guardian_id_number": id_number("411327", "19520307", "642")}
PHONES = {"father_phone": "+8613812345671", "mother_phone": "+8615034567893", "guardian_phone": "+8618645678904"}
BIRTH = "2013-09-17"
ID_NUMBER = id_number("411327", "20130917", "583")
# Edits, so the history holds the first values as well as these.
EDITS = {"name": f"{MARK}{RUN}newname", "health": f"{MARK}{RUN}newhealth", "father_phone": "+8613756789015",
         "support": f"{MARK}{RUN}newsupport"}
SAID_IN_A_MESSAGE = f"{MARK}{RUN}typed"


def first_values() -> dict[str, str]:
    values = {}
    for spec in FIELDS:
        if spec.key in FIXED:
            values[spec.key] = FIXED[spec.key]
        elif spec.key in PHONES:
            values[spec.key] = PHONES[spec.key]
        elif spec.key == "birth_date":
            values[spec.key] = BIRTH
        elif spec.key == "id_number":
            values[spec.key] = ID_NUMBER
        elif spec.key in PARENT_IDS:
            values[spec.key] = PARENT_IDS[spec.key]
        else:
            values[spec.key] = canary(spec.key)
    return values


def canaries() -> list[str]:
    """Every value that must not survive, as stored."""
    found = [v for k, v in first_values().items() if k not in FIXED]
    return found + [v for v in EDITS.values() if v not in found] + [SAID_IN_A_MESSAGE, MARK + RUN]


def database_bytes(path: str) -> dict[str, bytes]:
    files = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        file = Path(path + suffix)
        if file.exists():
            files[file.name] = file.read_bytes()
    return files


def survivors(path: str) -> list[tuple[str, str, int]]:
    found = []
    for name, content in database_bytes(path).items():
        for value in canaries():
            at = content.find(value.encode("utf-8"))
            if at >= 0:
                found.append((name, value, at))
    return found


@pytest.fixture
def recorder() -> DocumentRecorder:
    return DocumentRecorder()


def buttons(call) -> list[str]:
    return [b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


def test_the_canary_values_are_valid_and_cover_every_field():
    values = first_values()
    assert set(values) == {f.key for f in FIELDS}
    assert id_number_is_valid(ID_NUMBER)
    for phone in [*PHONES.values(), EDITS["father_phone"]]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone))
    assert len(set(canaries())) == len(canaries())


async def test_a_confirmed_erasure_leaves_no_canary_in_the_database_files(app, settings, recorder):
    services = app.bot_data.services
    world = await World.build(services)
    teacher = await world.person("陈老师", "teacher", klass="三年级一班")
    await world.child("对照", birth_date="2015-01-01", health="对照的健康记录")  # another child, to be kept
    child_id = await services.children.create(await world.actor("陈老师"), world.class_ids["三年级一班"],
                                              first_values())
    world.children["canary"] = child_id
    # Classmates recorded after the child, between the edits, so pages split and cells move around.
    for i, (key, value) in enumerate(EDITS.items()):
        for j in range(10):
            await world.child(f"同学{i}-{j}", health="对花粉过敏，需要随身带药" * 4,
                              father_address="某省某市某县某镇某村" * 4)
        await services.children.edit(await world.actor("陈老师"), child_id, key, value)
    parent = await world.person("李妈妈", "parent", child="canary", relation="母亲")
    await services.preferences.set_locale(parent, "en")
    await world.person("王校长", "admin")
    admin = world.telegram["王校长"]
    assert (await services.db.fetch_one("PRAGMA encoding"))[0] == "UTF-8"  # so the UTF-8 bytes are the ones to find

    # The parent agrees, looks at the record and takes a copy; a teacher types a canary in a message.
    await through_intake(app, callback_update(f"consent:{child_id}:given", from_user=user(parent)))
    assert await services.consent.state(child_id) == "given"
    await through_intake(app, message_update(f"小明的情况：{SAID_IN_A_MESSAGE}", from_user=user(teacher)))
    await through_intake(app, message_update("/mydata", from_user=user(parent)))
    assert [name for name, _content in recorder.files] == [f"mydata-{child_id}.pdf"]
    # The scan finds what is there: before erasure, every value of the record and its history is on disk.
    assert {value for _file, value, _at in survivors(settings.database_path)} >= set(canaries())
    stored = await services.db.fetch_all("SELECT value FROM child_fields WHERE child_id = ?", (child_id,))
    assert {r["value"] for r in stored} >= set(EDITS.values())

    # Copies of the child's photos and voice notes are kept under the data directory, as are the other child's.
    kept = {}
    for owner, media_id, kind in ((child_id, 1, "photo"), (child_id, 2, "voice"), (world.children["对照"], 3, "photo")):
        kept[media_id] = services.media.absolute(services.media.relative_path(owner, media_id, kind))
        kept[media_id].parent.mkdir(parents=True, exist_ok=True)
        kept[media_id].write_bytes(SAID_IN_A_MESSAGE.encode())
    assert kept[1].is_relative_to(settings.media_dir)

    # The parent asks for erasure; the admin confirms twice.
    await through_intake(app, callback_update(f"delete:{child_id}", from_user=user(parent)))
    await through_intake(app, callback_update(f"delete:{child_id}:yes", from_user=user(parent)))
    recorder.clear()
    await through_intake(app, message_update("/deletions", from_user=user(admin)))
    request_id = int(buttons(recorder.sent(chat_id=admin)[1])[0].split(":")[1])
    await through_intake(app, callback_update(f"erase:{request_id}:yes", from_user=user(admin)))
    await through_intake(app, callback_update(f"erase:{request_id}:sure", from_user=user(admin)))
    assert await services.db.fetch_one("SELECT id FROM children WHERE id = ?", (child_id,)) is None
    # The parent is told through the outbox, which keeps what it sent; so is the class teacher, that the record
    # was removed (neither names the child).
    assert await deliver_outbox(app) == 2
    assert any("erased" in (c.text or "") for c in recorder.sent(chat_id=parent))  # the parent chose English
    assert any("档案已删除" in (c.text or "") for c in recorder.sent(chat_id=teacher))

    # Nothing of the child's media is left, not even their folder; the other child's is untouched.
    assert not kept[1].exists() and not kept[2].exists() and not kept[1].parent.exists()
    assert kept[3].exists()

    # While the bot still runs: the main file, the WAL and the shared memory hold no canary.
    assert survivors(settings.database_path) == []

    # The audit keeps the story of the record, by ids and field names only; nobody can change or remove it.
    audit = await services.db.fetch_all("SELECT actor_id, action, detail FROM audit_log WHERE child_id = ? "
                                        "ORDER BY id", (child_id,))
    actions = [a["action"] for a in audit]
    for expected in ("create", "edit", "consent_given", "export", "request_deletion", "erase"):
        assert expected in actions
    assert audit[-1]["action"] == "erase" and audit[-1]["detail"] == f"request={request_id}"
    assert audit[-1]["actor_id"] == world.people["王校长"]
    assert all(re.fullmatch(r"[a-z_,=0-9-]*", a["detail"]) for a in audit), [a["detail"] for a in audit]
    for statement in ("UPDATE audit_log SET detail = 'x' WHERE child_id = ?",
                      "DELETE FROM audit_log WHERE child_id = ?"):
        with pytest.raises(IntegrityError, match="append-only"):  # either driver's: it may be keyed (SQLCipher)
            async with services.db.transaction() as conn:
                await conn.execute(statement, (child_id,))
    assert len(await services.db.fetch_all("SELECT id FROM audit_log WHERE child_id = ?", (child_id,))) == len(audit)

    # The other child is untouched.
    other = await services.db.fetch_one("SELECT value FROM child_fields WHERE child_id = ? AND field = 'health'",
                                        (world.children["对照"],))
    assert other["value"] == "对照的健康记录"

    # And once everything is closed, the files at rest hold none either.
    await services.db.close()
    app.bot_data.services = None  # closed here already: nothing left for post_shutdown to close
    assert survivors(settings.database_path) == []
