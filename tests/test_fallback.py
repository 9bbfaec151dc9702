"""What nobody's feature took: a typed word that names one of the person's commands points at it, a tap away;
anything else points at /help. Nobody is shown a command that is not theirs."""

from __future__ import annotations

import pytest

from bot.access.policy import TEACHER
from handlers.commands import commands_for
from handlers.fallback import typed_commands
from tests.helpers import last, message_update
from tests.world import World

@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.person("teacher", TEACHER, klass="三年级一班", language="zh-hans")
    await world.person("stranger", language="zh-hans")
    return world


async def test_a_teacher_who_types_a_word_of_a_command_is_shown_it(feed, recorder, world):
    await feed(message_update("台账", from_user=world.user("teacher")))
    text = last(recorder, world, "teacher").params["text"]
    assert text.startswith("是其中之一吗？点一下即可：")
    assert "/ledger — 台账（Excel）" in text and "/stats" not in text
    await feed(message_update("统计", from_user=world.user("teacher")))
    assert "/stats — 统计与图表" in last(recorder, world, "teacher").params["text"]


async def test_a_word_that_names_nothing_or_someone_elses_command_points_at_help(feed, recorder, world):
    await feed(message_update("今天天气很好", from_user=world.user("teacher")))
    assert last(recorder, world, "teacher").params["text"].startswith("抱歉，我没看懂这条消息")
    await feed(message_update("台账", from_user=world.user("stranger")))
    assert "/ledger" not in last(recorder, world, "stranger").params["text"]


def test_a_command_name_typed_without_its_slash_is_found():
    commands = commands_for({TEACHER})
    assert [name for name, _d in typed_commands("Ledger", commands, lambda s: s)] == ["ledger"]
    assert typed_commands("a", commands, lambda s: s) == []  # one letter is in every description
