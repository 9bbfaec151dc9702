"""The user side: simulated chats, users who talk to the bot, and groups they talk in."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.models import Event, SentMessage
from sandbox.text import command_entities

if TYPE_CHECKING:
    from sandbox.core import Sandbox

# Stand-in content when a test does not care what the user's photo or voice note contains.
_SAMPLE_BYTES = itertools.count(1)
# Long numeric strings like Telegram's, in a range apart from the bot's albums (sendMediaGroup).
_USER_MEDIA_GROUPS = itertools.count(2 * 10**16 + 1)


def _sample(kind: str) -> bytes:
    return f"sandbox {kind} #{next(_SAMPLE_BYTES)}".encode()


class SimChat:
    """A chat the bot is in: its message history (both directions) and the bot's messages in it.

    Message ids increase per chat, shared by both directions as in Telegram, so replies and
    copies can point at any message.
    """

    def __init__(self, sandbox: Sandbox, chat: dict):
        self._sb = sandbox
        self.id: int = chat["id"]
        self.chat = chat  # the Chat object in messages
        self.messages: list[SentMessage] = []  # what the bot sent here, in order
        self._store: dict[int, dict] = {}  # message_id -> raw message, both directions
        self._sent: dict[int, SentMessage] = {}
        self._deleted: set[int] = set()
        self._message_ids = itertools.count(1)
        self._read: set[int] = set()  # ids handed out by wait_message
        self._first_unread = 0  # index into messages: everything before it was handed out
        self._changed = asyncio.Event()

    @property
    def recipient(self) -> SimUser | None:
        """The user on the other end of a private chat (None in groups)."""
        return None

    def bot_may_delete(self, own: bool) -> bool:
        """In private chats the bot may delete messages in both directions."""
        return True

    # -- the record, shared with the Bot API methods ------------------------------------------

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def stored(self, message_id: int) -> dict | None:
        """The current raw message with this id, unless it does not exist or was deleted."""
        return None if message_id in self._deleted else self._store.get(message_id)

    def sent(self, message_id: int) -> SentMessage | None:
        """The bot's own message with this id, if it is still there."""
        return None if message_id in self._deleted else self._sent.get(message_id)

    def add_sent(self, sent: SentMessage) -> None:
        self._store[sent.message_id] = sent.message
        self._sent[sent.message_id] = sent
        self.messages.append(sent)
        self._notify()

    def replace(self, message_id: int, message: dict) -> None:
        """Record a new version of a message (after an edit); earlier updates keep the old one."""
        self._store[message_id] = message
        self._notify()

    def delete(self, message_id: int) -> dict | SentMessage:
        self._deleted.add(message_id)
        sent = self._sent.get(message_id)
        if sent is not None:
            sent.deleted = True
            self._notify()
            return sent
        return self._store[message_id]

    def _notify(self) -> None:
        # Waiters hold the event they started with; replacing it wakes them all exactly once.
        self._changed.set()
        self._changed = asyncio.Event()

    # -- messages from users -------------------------------------------------------------------

    def _receive(self, sender: SimUser, fields: dict, reply_to: int | None = None,
                 update_type: str = "message") -> dict:
        """Create a message from ``sender`` in this chat and queue it as an update for the bot."""
        message = {"message_id": self.next_message_id(), "from": sender.user, "chat": self.chat,
                   "date": self._sb.now(), **fields}
        if reply_to is not None:
            message["reply_to_message"] = self._reply_target(reply_to)
        self._store[message["message_id"]] = message
        self._sb.push_update({update_type: message})
        self._sb.emit(Event("user_message", self.id, sender, message))
        return message

    def _reply_target(self, message_id: int) -> dict:
        target = self.stored(message_id)
        if target is None:
            raise LookupError(f"no message {message_id} in chat {self.id} to reply to")
        # Telegram nests only one level: the replied-to message comes without its own reply.
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    # -- waiting for the bot --------------------------------------------------------------------

    async def wait_message(self, timeout: float = 5.0,
                           predicate: Callable[[SentMessage], bool] | None = None) -> SentMessage:
        """The bot's next message here not handed out before (optionally: the next matching one).

        Messages skipped because they did not match stay unread for later calls. Raises
        TimeoutError (asyncio.TimeoutError) when nothing arrives in time.
        """
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                found = self._next_unread(predicate)
                if found is not None:
                    return found
                await changed.wait()

    async def wait_until(self, condition: Callable[[], object], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` is true, checking again whenever the bot changes something
        here (a new message, an edit, a deletion); for what the bot does asynchronously."""
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                if condition():
                    return
                await changed.wait()

    async def wait_messages(self, n: int, timeout: float = 5.0) -> list[SentMessage]:
        """The next ``n`` unread messages, all within one ``timeout``."""
        async with asyncio.timeout(timeout):
            return [await self.wait_message(timeout) for _ in range(n)]

    def clear(self) -> None:
        """Mark everything the bot sent so far as read."""
        self._read.update(m.message_id for m in self.messages)
        self._first_unread = len(self.messages)

    def _next_unread(self, predicate: Callable[[SentMessage], bool] | None) -> SentMessage | None:
        for message in self.messages[self._first_unread:]:
            if message.message_id in self._read or (predicate is not None and not predicate(message)):
                continue
            self._read.add(message.message_id)
            while (self._first_unread < len(self.messages)
                   and self.messages[self._first_unread].message_id in self._read):
                self._first_unread += 1
            return message
        return None


class SimUser(SimChat):
    """A Telegram user in a private chat with the bot (the chat id is the user id)."""

    def __init__(self, sandbox: Sandbox, user_id: int, first_name: str, *, last_name: str | None = None,
                 username: str | None = None, language_code: str | None = "zh-hans"):
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.started = False  # pressed Start: the bot may write to this user
        self.blocked = False
        names = {"first_name": first_name, "last_name": last_name, "username": username}
        user = {"id": user_id, "is_bot": False, **names, "language_code": language_code}
        self.user = {k: v for k, v in user.items() if v is not None}
        chat = {"id": user_id, "type": "private", **{k: v for k, v in names.items() if v is not None}}
        super().__init__(sandbox, chat)

    def __repr__(self) -> str:
        return f"SimUser({self.id}, {self.first_name!r})"

    @property
    def recipient(self) -> SimUser:
        return self

    # -- talking to the bot ----------------------------------------------------------------------

    async def start(self, payload: str | None = None) -> dict:
        """Press Start (or open a t.me/bot?start=payload deep link)."""
        return await self.send_command("start", payload or "")

    async def send_text(self, text: str, reply_to: int | None = None) -> dict:
        fields: dict = {"text": text}
        if entities := command_entities(text):
            fields["entities"] = entities
        return self._say(fields, reply_to)

    async def send_command(self, command: str, args: str = "") -> dict:
        return await self.send_text(f"/{command} {args}" if args else f"/{command}")

    async def send_photo(self, data: bytes | None = None, caption: str | None = None,
                         reply_to: int | None = None) -> dict:
        photo = self._sb.files.add("photo", data if data is not None else _sample("photo"))
        return self._say(_with_caption({"photo": photo}, caption), reply_to)

    async def send_album(self, count: int = 3, caption: str | None = None) -> list[dict]:
        """``count`` photos sent together: like a client, one message (and one update) per photo, sharing a
        ``media_group_id``; the album's caption is the first photo's."""
        if not 2 <= count <= 10:
            raise ValueError("an album holds 2 to 10 items")
        group_id = str(next(_USER_MEDIA_GROUPS))
        return [self._say({"photo": self._sb.files.add("photo", _sample("photo")), "media_group_id": group_id,
                           **({"caption": caption} if caption is not None and n == 0 else {})})
                for n in range(count)]

    async def send_voice(self, data: bytes | None = None, duration: int = 3, caption: str | None = None,
                         reply_to: int | None = None) -> dict:
        voice = self._sb.files.add("voice", data if data is not None else _sample("voice"), duration=duration)
        return self._say(_with_caption({"voice": voice}, caption), reply_to)

    async def send_video(self, data: bytes | None = None, duration: int = 5, caption: str | None = None,
                         reply_to: int | None = None) -> dict:
        video = self._sb.files.add("video", data if data is not None else _sample("video"), duration=duration)
        return self._say(_with_caption({"video": video}, caption), reply_to)

    async def send_document(self, filename: str, data: bytes, mime_type: str = "application/octet-stream",
                            caption: str | None = None, reply_to: int | None = None) -> dict:
        document = self._sb.files.add("document", data, file_name=filename, mime_type=mime_type)
        return self._say(_with_caption({"document": document}, caption), reply_to)

    async def send_contact(self, phone_number: str, first_name: str, user_id: int | None = None) -> dict:
        contact = {"phone_number": phone_number, "first_name": first_name}
        if user_id is not None:
            contact["user_id"] = user_id
        return self._say({"contact": contact})

    async def send_location(self, latitude: float, longitude: float) -> dict:
        return self._say({"location": {"latitude": latitude, "longitude": longitude}})

    async def send_sticker(self) -> dict:
        return self._say({"sticker": self._sb.files.add("sticker", _sample("sticker"))})

    async def send_raw_message(self, fields: dict) -> dict:
        """A message with arbitrary extra fields, for content types without a helper."""
        return self._say(dict(fields))

    async def edit_text(self, message_id: int, new_text: str) -> dict:
        """Edit one of this user's text messages: the bot gets an edited_message update."""
        original = self.stored(message_id)
        if original is None or original.get("from", {}).get("id") != self.id or "text" not in original:
            raise LookupError(f"{self!r} has no text message {message_id} to edit")
        edited = {**original, "text": new_text, "edit_date": self._sb.now()}
        edited.pop("entities", None)
        if entities := command_entities(new_text):
            edited["entities"] = entities
        self.replace(message_id, edited)
        self._sb.push_update({"edited_message": edited})
        self._sb.emit(Event("edit", self.id, self, edited))
        return edited

    # -- inline keyboards -------------------------------------------------------------------------

    async def press(self, label: str, message_id: int | None = None) -> str:
        """Press the inline button labelled ``label`` on the newest bot message that has one
        (or on message ``message_id``); returns the callback query id."""
        for sent in reversed(self.messages):
            if sent.deleted or (message_id is not None and sent.message_id != message_id):
                continue
            data = sent.find_callback_data(label)
            if data is not None:
                return self._press(sent.message, data, label)
        where = f"message {message_id}" if message_id is not None else "any message"
        raise LookupError(f"no inline button {label!r} with callback_data on {where} to {self!r}")

    async def press_data(self, message_id: int, callback_data: str) -> str:
        """Send a callback query with any data, as a forged or replayed press would."""
        message = self.stored(message_id)
        if message is None:  # deleted or unknown: Telegram sends an "inaccessible message"
            message = {"chat": self.chat, "message_id": message_id, "date": 0}
        return self._press(message, callback_data, None)

    def callback_answer(self, query_id: str) -> dict | None:
        """What the bot answered to a press ({"text", "show_alert", "url"}), None if not yet."""
        return self._sb.callback_answer(query_id)

    def _press(self, message: dict, data: str, label: str | None) -> str:
        self._begin_conversation()
        query_id = self._sb.new_callback_query(self.id)
        query = {"id": query_id, "from": self.user, "message": message,
                 "chat_instance": f"sandbox-{self.id}", "data": data}
        self._sb.push_update({"callback_query": query})
        self._sb.emit(Event("callback", self.id, self, query, label=label))
        return query_id

    # -- the relationship with the bot ------------------------------------------------------------

    async def block(self) -> None:
        """Block the bot: its messages now fail with 403, and it is told via my_chat_member."""
        if not self.blocked:
            self.blocked = True
            self._member_update("member", "kicked")

    async def unblock(self) -> None:
        if self.blocked:
            self.blocked = False
            self._member_update("kicked", "member")

    def _say(self, fields: dict, reply_to: int | None = None) -> dict:
        self._begin_conversation()
        return self._receive(self, fields, reply_to)

    def _begin_conversation(self) -> None:
        # Writing to a bot needs Start first, and writing to a blocked bot unblocks it (the
        # client's "Restart" button); either way the bot may answer from now on.
        if self.blocked:
            self.blocked = False
            self._member_update("kicked", "member")
        self.started = True

    def _member_update(self, old: str, new: str) -> None:
        bot = self._sb.bot_user
        status = {"kicked": {"status": "kicked", "until_date": 0}, "member": {"status": "member"}}
        self._sb.push_update({"my_chat_member": {
            "chat": self.chat, "from": self.user, "date": self._sb.now(),
            "old_chat_member": {"user": bot, **status[old]},
            "new_chat_member": {"user": bot, **status[new]},
        }})


class SimGroup(SimChat):
    """A supergroup with the bot and some simulated users in it."""

    def __init__(self, sandbox: Sandbox, chat_id: int, title: str, members: list[SimUser],
                 bot_is_admin: bool = True):
        super().__init__(sandbox, {"id": chat_id, "type": "supergroup", "title": title})
        self.title = title
        self.members = list(members)
        self.bot_is_admin = bot_is_admin  # admins may delete anyone's messages

    def __repr__(self) -> str:
        return f"SimGroup({self.id}, {self.title!r})"

    def bot_may_delete(self, own: bool) -> bool:
        return own or self.bot_is_admin

    async def send_text(self, member: SimUser, text: str, reply_to: int | None = None) -> dict:
        """``member`` writes ``text`` in the group (joining it first if needed)."""
        if member not in self.members:
            self.members.append(member)
        fields: dict = {"text": text}
        if entities := command_entities(text):
            fields["entities"] = entities
        return self._receive(member, fields, reply_to)


def _with_caption(fields: dict, caption: str | None) -> dict:
    return fields if caption is None else {**fields, "caption": caption}
