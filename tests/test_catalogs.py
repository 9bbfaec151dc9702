"""The catalogs: current against the code, and complete in every language.

`make messages` regenerates them; these tests fail when someone changes a user-facing string and forgets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import SUPPORTED_LOCALES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot", "handlers", "storage", "sandbox")
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _msgid(message_id) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def extracted_ids() -> set[str]:
    keywords = dict(DEFAULT_KEYWORDS, N_=None)
    found = set()
    for source in SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=keywords
        ):
            found.add(_msgid(message))
    return found


def catalog(path: Path, locale: str | None = None):
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


def test_template_matches_the_code():
    template = {_msgid(m.id) for m in catalog(ROOT / "locales/messages.pot") if m.id}
    code = extracted_ids()
    assert code - template == set(), "strings in the code missing from messages.pot: run `make messages`"
    assert template - code == set(), "messages.pot has strings the code no longer uses: run `make messages`"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_is_translated(locale):
    template = {_msgid(m.id) for m in catalog(ROOT / "locales/messages.pot") if m.id}
    po = catalog(ROOT / f"locales/{locale}/LC_MESSAGES/messages.po", locale)
    messages = {_msgid(m.id): m for m in po if m.id}
    assert set(messages) == template, f"{locale} catalog is stale: run `make messages`"
    untranslated = [i for i, m in messages.items() if not (m.string if isinstance(m.string, str) else all(m.string))]
    assert untranslated == []
    assert [i for i, m in messages.items() if m.fuzzy] == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_translations_keep_every_placeholder(locale):
    po = catalog(ROOT / f"locales/{locale}/LC_MESSAGES/messages.po", locale)
    for message in po:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for string in strings:
            assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(_msgid(message.id))), message.id


def test_no_message_id_hides_inside_an_f_string():
    """Babel cannot see _("…") inside an f-string; such a text would stay untranslated without any test noticing."""
    hidden = re.compile(r"""\{_\(\s*["']""")
    found = [f"{path.relative_to(ROOT)}:{n}" for source in SOURCES for path in (ROOT / source).rglob("*.py")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if hidden.search(line)]
    assert found == []
