"""Plain records shared by the sandbox modules: what the bot sent, what it called, what happened."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.users import SimUser

# Message fields that carry content, most specific first: Telegram puts an animation into both
# "animation" and "document", so "animation" must win when a message's kind is worked out.
MEDIA_KINDS = ("photo", "animation", "voice", "video", "video_note", "audio", "document", "sticker")
CONTENT_KINDS = ("text", *MEDIA_KINDS, "location", "contact")


def content_kind(message: dict) -> str | None:
    """The kind of content a raw message carries ("text", "photo", ...), or None for anything else."""
    return next((kind for kind in CONTENT_KINDS if kind in message), None)


def media_file_id(message: dict) -> str | None:
    """The file_id of a message's media; for a photo that is the largest size, as clients use."""
    kind = content_kind(message)
    if kind == "photo":
        return message["photo"][-1]["file_id"]
    if kind in MEDIA_KINDS:
        return message[kind]["file_id"]
    return None


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": status, "description": ...}``."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: float) -> ApiError:
    seconds = max(1, math.ceil(retry_after))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


def default_error(status: int, retry_after: float | None = None) -> ApiError:
    """The error Telegram would plausibly give for a bare status, used by injected faults."""
    if status == 429:
        return too_many_requests(retry_after or 1)
    if status == 400:
        return bad_request("injected fault")
    if status == 403:
        return forbidden("injected fault")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Injected fault"
    return ApiError(status, phrase)


@dataclass
class SentMessage:
    """A message the bot sent (or copied/forwarded) into a simulated chat, as the user sees it.

    The object is updated in place when the bot edits or deletes the message, so a test holding
    it always sees the current state; ``edits`` keeps the earlier texts/captions in order.
    """

    message_id: int
    chat_id: int
    kind: str
    message: dict  # the raw Message object returned to the bot (replaced on every edit)
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    entities: list[dict] = field(default_factory=list)
    reply_markup: dict | None = None  # as the bot passed it, reply keyboards included
    protect_content: bool = False
    reply_to_message_id: int | None = None
    file_id: str | None = None
    media_group_id: str | None = None
    from_copy: bool = False
    deleted: bool = False
    edits: list[str | None] = field(default_factory=list)

    def refresh(self, message: dict, parse_mode: str | None, reply_markup: dict | None) -> None:
        """Take over the content of an edited raw message."""
        self.message = message
        self.text = message.get("text")
        self.caption = message.get("caption")
        self.entities = message.get("entities") or message.get("caption_entities") or []
        self.parse_mode = parse_mode
        self.reply_markup = reply_markup

    @property
    def content(self) -> str | None:
        return self.text if self.text is not None else self.caption

    @property
    def buttons(self) -> list[list[str]]:
        """Labels of the inline keyboard, row by row ([] without one)."""
        return [[button["text"] for button in row] for row in self._inline_rows()]

    @property
    def keyboard(self) -> list[list[str]]:
        """Labels of a reply keyboard (the buttons under the input field), row by row."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in rows]

    def button_data(self, label: str) -> str:
        """The callback_data of the inline button labelled ``label``; KeyError if there is none."""
        data = self.find_callback_data(label)
        if data is None:
            raise KeyError(f"message {self.message_id} has no callback button {label!r}: {self.buttons}")
        return data

    def find_callback_data(self, label: str) -> str | None:
        for row in self._inline_rows():
            for button in row:
                if button.get("text") == label and "callback_data" in button:
                    return button["callback_data"]
        return None

    def _inline_rows(self) -> list[list[dict]]:
        return (self.reply_markup or {}).get("inline_keyboard") or []


@dataclass
class Call:
    """One Bot API request as it arrived; ``status`` is 0 until the answer is sent."""

    method: str
    params: dict
    at: float  # time.monotonic() on arrival
    status: int = 0


@dataclass
class Event:
    """Something that happened in a simulated chat, handed to listeners as it happens.

    kind: "user_message", "callback", "bot_message", "edit" or "delete".
    user: the simulated user who acted, or the private chat's user for what the bot did there;
    None for what the bot did in a group.
    message: the raw dict for user messages and callback queries, the SentMessage for the bot's.
    label: the button's label for a callback from SimUser.press (None otherwise).
    """

    kind: str
    chat_id: int
    user: SimUser | None
    message: dict | SentMessage
    label: str | None = None

    @property
    def text(self) -> str | None:
        return self._field("text")

    @property
    def caption(self) -> str | None:
        return self._field("caption")

    def _field(self, name: str) -> str | None:
        if isinstance(self.message, SentMessage):
            return getattr(self.message, name)
        if self.kind == "callback":  # a callback query: the data is what the user "said"
            return self.message.get("data") if name == "text" else None
        return self.message.get(name)


@dataclass
class Fault:
    """An injected failure waiting for matching calls (see Sandbox.inject_fault)."""

    method: str | None  # lower-cased; None matches any method
    chat_id: int | None
    error: ApiError
    remaining: int

    def matches(self, method: str, params: dict) -> bool:
        if self.method is not None and self.method != method.lower():
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id
