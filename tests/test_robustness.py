"""Bad input from strangers, on an empty database: thousands of generated updates, however malformed (with
buttons of every declared prefix followed by anything but a valid payload), go through the full application
without an unhandled exception and without any write but the inbox. The same from the people of a seeded
school, with valid payloads and real ids, is tests/test_property_world.py."""

from __future__ import annotations

import logging

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handlers  # noqa: F401  (every payload is declared when the handlers are imported)
from bot.errors import StaleButton
from bot.payloads import REGISTRY, parse
from bot.runtime.intake import MalformedUpdate
from bot.runtime.runner import telegram_handle

VALID_CHOICES = {"lang:zh_CN", "lang:en"}


def is_payload(data: str) -> bool:
    """A declared payload may legitimately write (a stranger may choose a language); the rest must not."""
    try:
        parse(data)
    except StaleButton:
        return data in VALID_CHOICES
    return True

ids = st.integers(min_value=-(2**52), max_value=2**52)
texts = st.one_of(
    st.text(max_size=50),
    # Huge texts are built by repetition: drawing 10,000 characters one by one exceeds hypothesis's budget.
    st.builds(lambda chunk, n: chunk * n, st.text(min_size=1, max_size=5), st.integers(1000, 5000)),
    st.sampled_from(["/start", "/help", "/language", "/cancel", "/start x", "/unknown", "/language fr",
                     "/start@QinqingBridgeBot", "/", "/start " + "a" * 200]),
    st.builds(lambda c, a: f"/{c} {a}", st.sampled_from(["start", "help", "language", "cancel"]), st.text(max_size=80)),
).filter(lambda t: t.strip() not in ("/language en", "/language zh_CN"))

users = st.fixed_dictionaries(
    {"id": ids, "is_bot": st.booleans(), "first_name": st.text(max_size=30)},
    optional={"language_code": st.one_of(st.none(), st.sampled_from(["zh-hans", "en", "ru", "", "zz-ZZ"]), st.text(max_size=8)),
              "username": st.text(max_size=20), "last_name": st.text(max_size=20)},
)
chats = st.fixed_dictionaries(
    {"id": ids, "type": st.sampled_from(["private", "group", "supergroup", "channel", "sender", "weird"])},
    optional={"title": st.text(max_size=20), "first_name": st.text(max_size=20)},
)
entities = st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(["bot_command", "bold", "mention", "url", "nonsense"]),
                           "offset": st.integers(-5, 5000), "length": st.integers(-5, 5000)}),
    max_size=3,
)
extra_content = st.fixed_dictionaries(
    {},
    optional={
        "photo": st.lists(st.fixed_dictionaries({"file_id": st.text(max_size=10), "file_unique_id": st.text(max_size=10),
                                                 "width": st.integers(0, 5000), "height": st.integers(0, 5000)}), max_size=3),
        "voice": st.fixed_dictionaries({"file_id": st.text(max_size=10), "file_unique_id": st.text(max_size=10),
                                        "duration": st.integers(0, 10_000)}),
        "dice": st.fixed_dictionaries({"emoji": st.just("🎲"), "value": st.integers(1, 6)}),
        "sticker": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
        "poll": st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
        "new_chat_members": st.lists(users, max_size=2),
        "left_chat_member": users,
        "reply_to_message": st.fixed_dictionaries({"message_id": ids, "date": st.integers(0, 2**31), "chat": chats}),
        "caption": st.text(max_size=2000),
        "unknown_field": st.text(max_size=10),
    },
)


@st.composite
def messages(draw) -> dict:
    message = {"message_id": draw(ids), "date": draw(st.integers(0, 2**31)), "chat": draw(chats)}
    if draw(st.booleans()):
        message["from"] = draw(users)
    if draw(st.booleans()):
        message["text"] = draw(texts)
        message["entities"] = draw(entities)
    message.update(draw(extra_content))
    return message


@st.composite
def callback_queries(draw) -> dict:
    query = {"id": draw(st.text(max_size=12)), "from": draw(users), "chat_instance": draw(st.text(max_size=8))}
    # Real prefixes with whatever follows them reach each feature's button handler, which must refuse them.
    prefixed = st.builds("{}:{}".format, st.sampled_from(sorted(REGISTRY) or ["lang"]),
                         st.one_of(st.text(max_size=20), st.sampled_from(["²", "1" * 25, "", "1:²", "1:1:1:1:1"])))
    data = draw(st.one_of(st.none(), st.text(max_size=64), st.builds("lang:{}".format, st.text(max_size=10)),
                          prefixed, st.sampled_from(sorted(REGISTRY) or ["lang"])))
    if data is not None and not is_payload(data):
        query["data"] = data
    if draw(st.booleans()):
        query["message"] = draw(messages())
    return query


@st.composite
def updates(draw) -> dict:
    kind = draw(st.sampled_from(["message", "edited_message", "channel_post", "edited_channel_post",
                                 "callback_query", "my_chat_member", "inline_query", "poll", "unknown", "empty"]))
    update: dict = {"update_id": draw(st.integers(1, 2**31))}
    if kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        update[kind] = draw(messages())
    elif kind == "callback_query":
        update[kind] = draw(callback_queries())
    elif kind == "my_chat_member":
        member = st.fixed_dictionaries({"status": st.sampled_from(["member", "kicked", "left", "administrator", "x"]),
                                        "user": users})
        update[kind] = {"chat": draw(chats), "from": draw(users), "date": draw(st.integers(0, 2**31)),
                        "old_chat_member": draw(member), "new_chat_member": draw(member)}
    elif kind == "unknown":
        update[draw(st.text(min_size=1, max_size=10))] = draw(st.dictionaries(st.text(max_size=5), st.text(max_size=5)))
    elif kind != "empty":
        update[kind] = draw(st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3))
    return update


async def other_tables(db) -> dict[str, list[tuple]]:
    names = [r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {n: [tuple(r) for r in await db.fetch_all(f"SELECT * FROM {n}")] for n in names if n != "inbox"}


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(updates(), min_size=10, max_size=20))
async def test_generated_updates_never_raise_nor_write(app, caplog, batch):
    """About 250 × 15 ≈ 3,700 updates per run."""
    handle = telegram_handle(app)
    db = app.bot_data.services.db
    before = await other_tables(db)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for update in batch:
            try:
                await handle(update)
            except MalformedUpdate:
                pass  # the intake sets it aside: a handled outcome, not a crash
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await other_tables(db) == before
