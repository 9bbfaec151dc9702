"""Refusals: what a person asked for cannot be done, and nothing was changed.

A service raises one of these; the Telegram layer answers it once, translated (`handlers.common.refuse`).
The message id is English (it is looked up in the catalogs where it is shown); the exception's own args carry
only the class name and a short code, never user input, so a refusal that reaches a log quotes nobody.
"""

from __future__ import annotations

from bot.i18n import N_


class UserError(Exception):
    """A refusal a person caused. `msgid` is translated and formatted with `params` when it is shown."""

    msgid: str = N_("This cannot be done. Nothing was changed.")
    # A refusal of a button: a short popup over the chat (True) or a popup the person must dismiss (False)
    quiet: bool = False

    def __init__(self, msgid: str | None = None, /, **params) -> None:
        super().__init__(type(self).__name__)
        if msgid is not None:
            self.msgid = msgid
        self.params = params

    def text(self, gettext) -> str:
        return gettext(self.msgid).format(**self.params)


class NotAllowed(UserError):
    """The person may not do this. Deliberately says nothing of whether the thing exists. `what` is a short code
    for tests and logs (`"child"`, `"video"` …), never shown."""

    msgid = N_("You cannot do this for this child.")

    def __init__(self, what: str = "", msgid: str | None = None, /, **params) -> None:
        super().__init__(msgid, **params)
        self.what = what


class NoConsent(UserError):
    """Nothing about the child may be used yet: no parent or guardian has agreed to the rules."""

    msgid = N_("{child}'s parents have not yet agreed to the data rules, so nothing can be recorded or sent "
               "about {child} yet. The class teacher can help them: /privacy.")

    def __init__(self, child_name: str) -> None:
        super().__init__(child=child_name)
        self.child_name = child_name


class AlreadyAcknowledged(UserError):
    """"Received" was pressed before, or a question was already answered: it counts once."""

    msgid = N_("This was already answered; nothing was changed.")


class StaleButton(UserError):
    """A button whose data does not parse, names something gone, or belongs to a finished step."""

    msgid = N_("This button is no longer valid.")
    quiet = True
