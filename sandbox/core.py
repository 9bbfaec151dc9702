"""The Sandbox: an offline Telegram Bot API server plus the simulated people on the other side."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from sandbox.files import FileStore
from sandbox.limits import RateLimiter
from sandbox.methods import SENDING_METHODS
from sandbox.models import ApiError, Call, Event, Fault, default_error
from sandbox.server import ApiServer
from sandbox.updates import UpdateQueue
from sandbox.users import SimChat, SimGroup, SimUser

log = logging.getLogger("sandbox")

DEFAULT_TOKEN = "123456:AAHsandboxTOKENsandboxTOKENsandbox0"


class Sandbox:
    """An aiohttp server on loopback that answers the Bot API like Telegram, for one bot.

    Point python-telegram-bot at ``base_url``/``base_file_url``; drive the conversation with
    ``user()``/``group()``; look at what the bot did through the simulated chats, ``calls`` and
    listeners. Everything runs on the event loop that calls ``start()``.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, bot_username: str = "QinqingBridgeBot",
                 bot_id: int | None = None, enforce_limits: bool = True, host: str = "127.0.0.1",
                 port: int = 0, global_rate: float = 30, chat_rate: float = 1.0, chat_burst: int = 3,
                 group_per_minute: int = 20, *, clock: Callable[[], float] = time.time,
                 first_update_id: int = 1, bot_name: str = "亲情桥", answer_delay: float = 0):
        self.token = token
        self.bot_id = bot_id if bot_id is not None else int(token.split(":", 1)[0])
        self.bot_user = {"id": self.bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username}
        self.enforce_limits = enforce_limits  # may be switched at any time
        self.clock = clock  # wall-clock seconds: message dates and the 48-hour delete window
        self.host = host
        self.limiter = RateLimiter(global_rate, chat_rate, chat_burst, group_per_minute)
        self.files = FileStore()
        self.updates = UpdateQueue(first_update_id)
        # (scope type, language code or "") -> commands; chat scopes are keyed "chat:<chat id>".
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.bot_profile: dict[tuple[str, str], str] = {}  # (field, language code) -> setMyName & co.
        self._chats: dict[int, SimChat] = {}
        self._listeners: list[Callable[[Event], Any]] = []
        self._callback_ids = itertools.count(1)
        self._callback_answers: dict[str, dict | None] = {}  # query id -> answer, None until answered
        self._server = ApiServer(self, host, port)
        self.set_answer_delay(answer_delay)

    # == lifecycle =================================================================================

    async def start(self) -> Sandbox:
        self.updates.reopen()  # a stopped sandbox may be started again, its state intact
        await self._server.start()
        return self

    async def stop(self) -> None:
        self.updates.close()  # a long poll in progress answers at once instead of holding shutdown
        await self._server.stop()

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``: python-telegram-bot appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    # == the people ==================================================================================

    def user(self, user_id: int, first_name: str, last_name: str | None = None, username: str | None = None,
             language_code: str | None = "zh-hans") -> SimUser:
        """The simulated user with this id, created on first use (later calls return the same one)."""
        existing = self._chats.get(user_id)
        if isinstance(existing, SimUser):
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive; groups have the negative ids")
        user = SimUser(self, user_id, first_name, last_name=last_name, username=username,
                       language_code=language_code)
        self._chats[user_id] = user
        return user

    def group(self, chat_id: int, title: str, members: list[SimUser] | None = None,
              bot_is_admin: bool = True) -> SimGroup:
        """A supergroup the bot is in (created on first use; later calls may add members)."""
        existing = self._chats.get(chat_id)
        if isinstance(existing, SimGroup):
            existing.members.extend(m for m in members or [] if m not in existing.members)
            return existing
        if chat_id >= 0:
            raise ValueError("group ids are negative (supergroups look like -100...)")
        group = SimGroup(self, chat_id, title, list(members or []), bot_is_admin)
        self._chats[chat_id] = group
        return group

    def chat(self, chat_id: int) -> SimChat | None:
        return self._chats.get(chat_id)

    # == updates and what happens ====================================================================

    def push_update(self, update_fields: dict) -> int:
        """Queue an update (everything but update_id) for the bot; returns its update_id."""
        return self.updates.push(update_fields)

    @property
    def pending_updates(self) -> int:
        """Updates the bot has not confirmed with a getUpdates offset yet."""
        return len(self.updates)

    def add_listener(self, listener: Callable[[Event], Any]) -> None:
        """Call ``listener(event)`` synchronously for every message, press, edit and delete."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Event], Any]) -> None:
        self._listeners.remove(listener)

    def emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not turn into an API error for the bot
                log.exception("sandbox listener %r failed on %s", listener, event.kind)

    def now(self) -> int:
        return int(self.clock())

    # == callback queries ============================================================================

    def new_callback_query(self, user_id: int) -> str:
        query_id = str(4_000_000_000_000 + next(self._callback_ids))
        self._callback_answers[query_id] = None
        return query_id

    def record_callback_answer(self, query_id: str, answer: dict) -> bool:
        """Store the bot's answer; False if the query is unknown or was answered already."""
        if query_id not in self._callback_answers or self._callback_answers[query_id] is not None:
            return False
        self._callback_answers[query_id] = answer
        return True

    def callback_answer(self, query_id: str) -> dict | None:
        return self._callback_answers.get(query_id)

    # == the bot's calls, faults, delays =============================================================

    @property
    def calls(self) -> list[Call]:
        """Every Bot API request in arrival order, with the HTTP status it got."""
        return self._server.calls

    def count(self, method: str | None = None, status: int | None = None) -> int:
        return sum(1 for call in self.calls
                   if (method is None or call.method.lower() == method.lower())
                   and (status is None or call.status == status))

    def inject_fault(self, method: str | None = None, status: int = 500, description: str | None = None,
                     count: int = 1, retry_after: float | None = None, chat_id: int | None = None) -> None:
        """Make the next ``count`` calls of ``method`` (any method if None; only those for
        ``chat_id`` if given) fail with ``status``. A 429 carries ``parameters.retry_after``."""
        if not 400 <= status <= 599:
            raise ValueError("faults are HTTP error statuses (400-599)")
        error = default_error(status, retry_after)
        if description is not None:
            error = ApiError(status, description, error.parameters)
        self._server.faults.append(Fault(method and method.lower(), chat_id, error, count))

    def set_delay(self, method: str, seconds: float) -> None:
        """Answer every call of ``method`` ``seconds`` late (0 removes the delay)."""
        if seconds:
            self._server.delays[method.lower()] = seconds
        else:
            self._server.delays.pop(method.lower(), None)

    def set_answer_delay(self, seconds: float) -> None:
        """Answer every call that sends a message (``send*``, ``copyMessage``, ``forwardMessage``) ``seconds``
        late, as Telegram does from far away (100-300 ms); 0 answers at once. The flood limits count a call
        when it is answered."""
        for method in SENDING_METHODS:
            self.set_delay(method, seconds)
