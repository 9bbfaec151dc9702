"""The buttons under the newest message the bot sent in each chat, so that typing a button's words can count as
pressing it (handlers.typed). Fed by every call to Telegram that sends or edits a message: the application's
replies (through its rate limiter) and the outbox's sender. Kept in memory: after a restart the next message
with buttons is remembered again, and until then typed words are read as they always were."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

# Chats remembered at most; the oldest are forgotten first (they are no longer waiting for a press).
LIMIT = 20_000


@dataclass(frozen=True)
class Shown:
    message_id: int
    text: str
    buttons: list[tuple[str, str]]  # (label, callback data), in order


def _buttons(markup: object) -> list[tuple[str, str]]:
    if hasattr(markup, "to_dict"):
        markup = markup.to_dict()
    if not isinstance(markup, dict):
        return []
    return [(b.get("text", ""), b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row
            if isinstance(b, dict) and b.get("callback_data")]


class Keyboards:
    def __init__(self) -> None:
        self._by_chat: OrderedDict[str, Shown] = OrderedDict()

    def sent(self, chat: object, message_id: int, text: str | None, markup: object) -> None:
        """A new message in the chat: it is the newest now, with its buttons or none."""
        key = str(chat)
        self._by_chat.pop(key, None)
        buttons = _buttons(markup)
        if buttons:
            self._by_chat[key] = Shown(message_id, text or "", buttons)
            while len(self._by_chat) > LIMIT:
                self._by_chat.popitem(last=False)

    def edited(self, chat: object, message_id: int, text: str | None, markup: object) -> None:
        """An edit counts only for the newest message: an older one edited does not become the newest."""
        key = str(chat)
        shown = self._by_chat.get(key)
        if shown is None or shown.message_id != message_id:
            return
        buttons = _buttons(markup)
        if buttons:
            self._by_chat[key] = Shown(message_id, text if text is not None else shown.text, buttons)
        else:
            del self._by_chat[key]

    def newest(self, chat: object) -> Shown | None:
        return self._by_chat.get(str(chat))

    def observe(self, endpoint: str, data: dict, result: object) -> None:
        """One Bot API call and its result, as the rate limiter sees it."""
        chat = data.get("chat_id")
        if chat is None or endpoint in ("sendChatAction", "sendMediaGroup"):
            if endpoint == "sendMediaGroup" and chat is not None:
                self._by_chat.pop(str(chat), None)  # an album carries no buttons
            return
        if endpoint.startswith("send") or endpoint == "copyMessage":
            if isinstance(result, dict) and isinstance(result.get("message_id"), int):
                self.sent(chat, result["message_id"], data.get("text"), data.get("reply_markup"))
        elif endpoint.startswith("editMessage") and isinstance(data.get("message_id"), int):
            self.edited(chat, data["message_id"], data.get("text"), data.get("reply_markup"))
