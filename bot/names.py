"""Names people type (a child's, a parent's, a class's, a school's or a village's): stored in one Unicode form
(NFC), so that the same name typed on two phones is found as the same; and never holding characters nobody can see:
control characters, zero-width ones, or the marks that turn text right to left (a name that reads one way on screen
and compares another would pass for a different child, or hide a duplicate)."""

from __future__ import annotations

import unicodedata

from bot.errors import UserError
from bot.i18n import N_

INVISIBLE = N_("A name cannot hold invisible characters (control, zero-width or text-direction marks). "
               "Please type it again.")
# Unicode's control (Cc), format (Cf: zero-width spaces and joiners, direction marks and embeddings), private-use
# and unpaired surrogate categories.
_UNSEEN = frozenset({"Cc", "Cf", "Co", "Cs"})


def has_unseen(text: str) -> bool:
    return any(unicodedata.category(c) in _UNSEEN for c in text)


def clean_name(text: str) -> str:
    """The name in NFC with its runs of spaces made one; UserError if it holds a character nobody sees."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if has_unseen(name):
        raise UserError(INVISIBLE)
    return name
