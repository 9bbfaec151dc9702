"""Forged buttons (issue 11): whoever presses them, data that is not a declared payload gets the short
"no longer valid" popup in the presser's language, and never the error handler.

The issue's own list is kept as it was written (a prefix renamed since is an unknown prefix, which must get the
same popup); every prefix declared in bot.payloads.REGISTRY is pressed alone, with '²', with a 23-digit id, with
empty fields, with an extra field, and with '²', a 23-digit id or an unknown word in each of its fields."""

from __future__ import annotations

import logging

import pytest

import handlers  # noqa: F401  (every payload is declared when the handlers are imported)
from bot.errors import StaleButton
from bot.i18n import locale_from_language_code, translator
from bot.payloads import REGISTRY, parse
from bot.runtime.telegram import POPUP_LIMIT
from tests.helpers import callback_update
from tests.world import SEEDED_PEOPLE, STRANGER

LONG_ID = "1" * 23
ISSUE = ["care:²:u:w", "tl:²:0", "tm:²", "cack:²", "ack:²", "relay:c:²", "cal:a:²", "vc:²:d",
         f"care:{LONG_ID}:u:w", f"tl:{LONG_ID}:0", f"ack:{LONG_ID}", f"care:{LONG_ID}", f"tl:{LONG_ID}"]
UNKNOWN = ["zz:1", "nosuchprefix", ":", "²:1"]  # Telegram sends 1–64 bytes: never empty

PRESSERS = [name for name, *_ in SEEDED_PEOPLE] + [STRANGER]


def _sample(spec) -> str:
    return "1" if spec.kind == "int" else spec.choices[0] if spec.kind == "choice" else "x"


def forged(cls) -> list[str]:
    """Data with this payload's prefix that is not one of its payloads."""
    prefix, fields = cls.prefix, list(cls.fields)
    sample = [_sample(f) for f in fields]
    found = [prefix, f"{prefix}:²", f"{prefix}:{LONG_ID}", prefix + ":" * max(len(fields), 1),
             ":".join([prefix, *sample, "1", "x"])]
    for i, spec in enumerate(fields):
        swaps = ["²", LONG_ID, "-1", "1.5"] if spec.kind == "int" else ["zz", "²"] if spec.kind == "choice" else \
            ["²", "x" * (spec.max_len + 1), "a b"]
        for swap in swaps:
            found.append(":".join([prefix, *sample[:i], swap, *sample[i + 1:]]))
    return found


def _parses(data: str) -> bool:
    try:
        parse(data)
    except StaleButton:
        return False
    return True


def every_forged() -> list[str]:
    made = ISSUE + UNKNOWN + [data for cls in REGISTRY.values() for data in forged(cls)]
    return [data for data in dict.fromkeys(made) if not _parses(data)]


def test_the_forged_payloads_parse_nowhere():
    """The strings pressed below are forged by construction: none of them is a declared payload."""
    assert [d for d in ISSUE + UNKNOWN if _parses(d)] == []


@pytest.mark.parametrize("name", PRESSERS)
async def test_a_forged_button_gets_the_stale_popup_in_the_pressers_language(app, feed, recorder, seeded, caplog,
                                                                               name):
    locale = locale_from_language_code(seeded.languages[name])
    stale = translator(locale).gettext(StaleButton.msgid)
    if locale != "en":
        assert stale != StaleButton.msgid, "the stale popup is not translated"
    assert len(stale) <= POPUP_LIMIT
    wrong = []
    caplog.set_level(logging.WARNING)
    for data in every_forged():
        recorder.clear()
        caplog.clear()
        update = callback_update(data, from_user=seeded.user(name))
        await feed(update)
        query_id = update["callback_query"]["id"]
        answers = [c.params for c in recorder.calls if c.method == "answerCallbackQuery"
                   and c.params.get("callback_query_id") == query_id]
        others = [c.method for c in recorder.calls if c.method != "answerCallbackQuery"]
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        if [a.get("text") for a in answers] != [stale] or others or errors:
            wrong.append((data, [a.get("text") for a in answers], others, errors))
    assert wrong == [], "\n".join(f"{d!r}: popups {a}, also {o}, errors {e}" for d, a, o, e in wrong)
