"""A worry written elsewhere becomes the start of a safety report (issue 13: "a concern written anywhere becomes a
prompt"): which words of a care entry voice a worry, so the entry's confirmation offers "🆘 这是安全问题" only
when there is one. Channel-free: a rule on the form's fields (bot.musts.forms)."""

from __future__ import annotations

from bot.musts.forms import TALK, UPDATE

# The fields that can hold a worry, by form, and the choices among them that are none.
WORRY_FIELDS = {TALK: ("concerns",), UPDATE: ("health", "mood")}
CALM = {"concerns": {"none"}, "health": {"well", "cold"}, "mood": {"happy", "calm"}}


def worries(kind: str, fields: dict) -> dict[str, str]:
    """The fields of an entry of `kind` that voice a worry: typed words, or a choice that is one (unwell, sad,
    worried, angry). Empty when there is nothing to report."""
    found = {}
    for key in WORRY_FIELDS.get(kind, ()):
        value = fields.get(key)
        if isinstance(value, str) and value.strip() and value not in CALM[key]:
            found[key] = value
    return found
