"""Builders for tests: a request class that records what the bot asked Telegram and answers with canned
JSON (no network), and raw update dicts shaped like Telegram's."""

from __future__ import annotations

import asyncio

import csv
import io
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import openpyxl
from telegram.request import BaseRequest, RequestData

from bot.runtime.sender import SENT, Limits, Rates, Sender
from bot.runtime.intake import Intake
from bot.runtime.runner import chat_key, telegram_handle
from bot.runtime.telegram import TelegramTransport

BOT_TOKEN = "424242:TEST-token-for-tests-only-abcdefghij"
BOT_USER = {"id": 424242, "is_bot": True, "first_name": "亲情桥", "username": "QinqingBridgeBot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)  # uploads: field name → content
    message_id: int | None = None  # of the message sent or edited, as Telegram answered

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
    # The bot's message ids: far above the ids tests give people's messages, so a person's message never looks
    # sent after a card of the bot's (Telegram numbers a private chat in one sequence; handlers.musts.ON_SCREEN).
    _ids: itertools.count = field(default_factory=lambda: itertools.count(10**9))
    # method → errors its next calls raise, one a call, before anything is recorded (`fail_once`)
    failures: dict[str, list[Exception]] = field(default_factory=dict)

    def fail_once(self, method: str, error: Exception) -> None:
        self.failures.setdefault(method, []).append(error)

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
        if self.failures.get(endpoint):
            raise self.failures[endpoint].pop(0)
        params = dict(request_data.parameters) if request_data else {}
        files = {}
        if request_data is not None and request_data.contains_files:
            files = {name: part[1] if isinstance(part[1], bytes) else part[1].read()
                     for name, part in request_data.multipart_data.items()}
        result = self._result(endpoint, params)
        message_id = result.get("message_id") if isinstance(result, dict) else None
        self.calls.append(Call(endpoint, params, files, message_id))
        return 200, json.dumps({"ok": True, "result": result}).encode()

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


# -- acting as a person of a World, and reading what the bot sent them --------------------------------------

def who(world, name: str) -> dict:
    return user(world.telegram[name], "en", name)


def button(call, label: str) -> str:
    for row in call.params["reply_markup"]["inline_keyboard"]:
        for b in row:
            if b["text"] == label:
                return b["callback_data"]
    raise LookupError(f"{label!r} not in {labels(call)}")


def labels(call) -> list[str]:
    return [b["text"] for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


async def outbox(world) -> list[dict]:
    rows = await world.services.db.fetch_all("SELECT * FROM outbox ORDER BY id")
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


async def deliver_outbox(app) -> int:
    """Run the outbox's sender, as the runner does, until nothing more is due: what it sends reaches the
    application's request (the recorder) like any reply. Returns how many rows were sent."""
    services = app.bot_data.services
    sender = Sender(services.outbox.repo, TelegramTransport(app.bot), services.clock, unpaced(),
                    entitled=services.notices.entitled, held_until=services.outbox.held_until,
                    as_sent=services.outbox.as_sent)
    while await sender.step() == SENT:
        pass
    return sender.sent


def last(recorder, world, name: str):
    """The bot's latest message or edit in this person's chat."""
    chat = world.telegram[name]
    calls = [c for c in recorder.calls if c.method in ("sendMessage", "editMessageText")
             and int(c.params.get("chat_id", 0)) == chat]
    return calls[-1]


async def press(feed, recorder, world, name: str, label: str) -> None:
    """Press a button on the latest message in this person's chat that has buttons."""
    chat = world.telegram[name]
    calls = [c for c in recorder.calls if c.method in ("sendMessage", "editMessageText")
             and int(c.params.get("chat_id", 0)) == chat and c.params.get("reply_markup")]
    await feed(callback_update(button(calls[-1], label), from_user=who(world, name),
                               message_id=calls[-1].message_id or 1))


async def count(world, table: str) -> int:
    return (await world.services.db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}"))["n"]



class DocumentRecorder(RecordingRequest):
    """Also answers sendDocument with a Message, and keeps each uploaded file's name and bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, bytes]] = []

    async def do_request(self, url, method, request_data=None, read_timeout=None, write_timeout=None,
                         connect_timeout=None, pool_timeout=None):
        if url.endswith("/sendDocument") and request_data is not None:
            for filename, content, _mime in request_data.multipart_data.values():
                self.files.append((filename, content if isinstance(content, bytes) else content.read()))
        return await super().do_request(url, method, request_data, read_timeout, write_timeout, connect_timeout,
                                        pool_timeout)

    def _result(self, endpoint, params):
        if endpoint == "sendDocument":
            chat_id = int(params["chat_id"])
            return {"message_id": next(self._ids), "date": int(time.time()), "from": BOT_USER,
                    "chat": {"id": chat_id, "type": "private"},
                    "document": {"file_id": "doc", "file_unique_id": "doc", "file_name": "mydata.json"}}
        return super()._result(endpoint, params)



# -- rosters as a school office sends them ------------------------------------------------------------------

CLASS_NAME = "三年级一班"


HEADER = ["班级", "姓名", "性别", "出生日期", "是否住校", "父亲姓名", "父亲电话", "监护人姓名", "监护人电话", "监护情况"]


SURNAMES = "王李张刘陈杨赵黄周吴"


GIVEN = "明红华军"


def child_row(n: int, klass: str = CLASS_NAME) -> list[object]:
    name = SURNAMES[n % 10] + GIVEN[n // 10] + "儿"
    return [klass, name, "男" if n % 2 else "女", f"2016-05-{n + 1:02d}", "否", SURNAMES[n % 10] + "建国",
            f"138001380{n:02d}", "奶奶", f"139001390{n:02d}", "良好"]


def roster(n: int = 30, header: list[str] = HEADER) -> list[list[object]]:
    return [header] + [child_row(i) for i in range(n)]


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)



def pdf_text(data: bytes) -> str:
    """The text of every page of a PDF, as a reader's "find" sees it (pypdfium2's text extraction)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


# -- printed sheets, read back as a phone's camera would -----------------------------------------------------

INVITE_LINK = "https://t.me/QinqingBridgeBot?start="


def decode_sheet(pdf: bytes) -> list[str]:
    """Every QR code of a class invitation sheet (bot.access.sheet), slip by slip: each page rendered by pdfium and
    each slip's area read by OpenCV's QR detector."""
    import cv2
    import numpy as np
    import pypdfium2

    from bot.access.sheet import COLUMNS, ROWS

    found = []
    # Two of OpenCV's readers: the classic one, and the ArUco-based one, which reads some codes the first misses.
    detectors = [cv2.QRCodeDetector()] + ([cv2.QRCodeDetectorAruco()] if hasattr(cv2, "QRCodeDetectorAruco") else [])
    for page in pypdfium2.PdfDocument(pdf):
        # OpenCV misses a code now and then at one resolution (the codes differ with each invitation's token):
        # a slip it cannot read is tried again larger, with a white margin around it, before it counts as missing.
        renders: dict[int, np.ndarray] = {}
        for row in range(ROWS):
            for column in range(COLUMNS):
                for scale in (2, 3, 4):
                    if scale not in renders:
                        renders[scale] = np.array(page.render(scale=scale, grayscale=True).to_pil().convert("L"))
                    image = renders[scale]
                    height, width = image.shape
                    slip = image[row * height // ROWS:(row + 1) * height // ROWS,
                                 column * width // COLUMNS:(column + 1) * width // COLUMNS]
                    slip = cv2.copyMakeBorder(slip, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
                    text = next((t for d in detectors for t in [d.detectAndDecode(slip)[0]] if t), "")
                    if text:
                        found.append(text)
                        break
    return found


async def through_intake(app, update: dict) -> None:
    """One update through the durable intake exactly as in production: stored, handled, finished."""
    services = app.bot_data.services
    queue = [update]

    async def fetch(offset):
        if queue:
            return [queue.pop()]
        await asyncio.sleep(0.005)
        return []

    before = await services.inbox.counts()
    intake = Intake(services.inbox, fetch, telegram_handle(app), services.clock, key_of=chat_key)
    running = asyncio.create_task(intake.run())
    for _ in range(2000):
        counts = await services.inbox.counts()
        if counts.done + counts.failed > before.done + before.failed:
            break
        await asyncio.sleep(0.005)
    intake.stop()
    await running
    assert (await services.inbox.counts()).failed == before.failed
