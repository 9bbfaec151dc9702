"""The buttons of the five musts, declared once (bot.payloads): a care form's, the timeline's, and "Received"
under a card. They carry ids only; every press is checked again against the presser's rights."""

from __future__ import annotations

from typing import Literal

from bot.musts.forms import GOODNEWS, LETTER, SCORE, SUMMARY, TALK, UPDATE, VISIT
from bot.payloads import payload

CODES = {UPDATE: "u", SCORE: "s", GOODNEWS: "g", SUMMARY: "m", TALK: "t", LETTER: "l", VISIT: "h"}
KIND_OF = {code: kind for kind, code in CODES.items()}


@payload("care")
class FormStep:
    """A press on a care form, or one that opens it. Steps: w open a new form for the child (in place of the
    picker), n open it in a new message (under the weekly digest, which stays), f ask for a field, b back to the
    fields, v a choice's value for a field, d done with a multiple choice, s send, c cancel."""

    child: int
    form: Literal["u", "s", "g", "m", "t", "l", "h"]
    step: Literal["w", "n", "f", "b", "v", "d", "s", "c"]
    field: str | None = None
    choice: str | None = None

    @property
    def kind(self) -> str:
        return KIND_OF[self.form]


def open_form(child_id: int, kind: str, *, below: bool = False) -> FormStep:
    """The button that opens a new `kind` form for the child: in place of the child picker, or `below` the
    message it sits on (the weekly digest, whose other buttons are still to be pressed)."""
    return FormStep(child_id, CODES[kind], "n" if below else "w")


@payload("tl")
class TimelinePage:
    """A page of the child's timeline, 0 the newest."""

    child: int
    page: int


@payload("tm")
class EntryMedia:
    """An entry's photos and voice notes, sent again."""

    entry: int


@payload("cack")
class Received:
    """"✅ Received" under a card, for one delivery of it."""

    delivery: int
