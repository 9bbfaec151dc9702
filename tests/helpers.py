"""Builders for tests: a request class that records what the bot asked Telegram and answers with canned
JSON (no network), and raw update dicts shaped like Telegram's."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.runtime.sender import Limits, Rates

BOT_TOKEN = "424242:TEST-token-for-tests-only-abcdefghij"
BOT_USER = {"id": 424242, "is_bot": True, "first_name": "亲情桥", "username": "QinqingBridgeBot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)  # uploads: field name → content

    @property
    def text(self) -> str | None:
        return self.params.get("text")

    @property
    def buttons(self) -> list[str]:
        markup = self.params.get("reply_markup") or {}
        return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class RecordingRequest(BaseRequest):
    """Answers every Bot API call as Telegram would for a happy path, and keeps the calls."""

    calls: list[Call] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(self, url, method, request_data: RequestData | None = None, read_timeout=None,
                         write_timeout=None, connect_timeout=None, pool_timeout=None) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = {}
        if request_data is not None and request_data.contains_files:
            files = {name: part[1] if isinstance(part[1], bytes) else part[1].read()
                     for name, part in request_data.multipart_data.items()}
        self.calls.append(Call(endpoint, params, files))
        return 200, json.dumps({"ok": True, "result": self._result(endpoint, params)}).encode()

    def _result(self, endpoint: str, params: dict) -> Any:
        if endpoint == "getMe":
            return BOT_USER
        if endpoint == "getUpdates":
            return []
        if endpoint == "sendMediaGroup":
            media = params.get("media")
            items = json.loads(media) if isinstance(media, str) else media or []
            return [self._result("sendPhoto", params) for _item in items]
        if endpoint in ("sendMessage", "editMessageText", "sendPhoto", "sendDocument", "sendVoice"):
            chat_id = int(params.get("chat_id", 1))
            message = {"message_id": int(params.get("message_id") or next(self._ids)), "date": int(time.time()),
                       "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                       "from": BOT_USER, "text": params.get("text", "")}
            if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
                message["reply_markup"] = params["reply_markup"]  # Telegram echoes inline keyboards only
            return message
        return True

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method
                and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)]

    def clear(self) -> None:
        self.calls.clear()


def unpaced() -> Limits:
    """Buckets too large to matter: handler tests talk to a recorder, not to Telegram's limits."""
    return Limits(Rates(overall_per_second=1e6, chat_per_second=1e6, chat_burst=10**6, group_per_minute=10**8))


_update_ids = itertools.count(1)


def user(user_id: int = 1001, language_code: str | None = "zh-hans", first_name: str = "Test") -> dict:
    data = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code is not None:
        data["language_code"] = language_code
    return data


def message_update(text: str, *, from_user: dict | None = None, chat: dict | None = None,
                   update_id: int | None = None) -> dict:
    from_user = from_user or user()
    chat = chat or {"id": from_user["id"], "type": "private", "first_name": from_user["first_name"]}
    message = {"message_id": next(_update_ids), "date": int(time.time()), "chat": chat, "from": from_user,
               "text": text}
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id or next(_update_ids), "message": message}


def callback_update(data: str, *, from_user: dict | None = None, message_id: int = 1) -> dict:
    from_user = from_user or user()
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)), "from": from_user, "chat_instance": "ci", "data": data,
            "message": {"message_id": message_id, "date": int(time.time()), "from": BOT_USER, "text": "…",
                        "chat": {"id": from_user["id"], "type": "private", "first_name": from_user["first_name"]}},
        },
    }
