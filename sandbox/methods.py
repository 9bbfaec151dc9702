"""The Bot API methods, acting on the simulated chats.

Each method takes the decoded request parameters and the uploaded files and returns the
``result`` of the answer, or raises ApiError with the status and description Telegram would give.
Everything a method checks happens before it creates anything, and the rate limits are
consulted last, so a refused request leaves no trace besides its entry in ``Sandbox.calls``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sandbox.files import Upload, type_name
from sandbox.html import HtmlParseError, parse_html
from sandbox.models import (
    CONTENT_KINDS, MEDIA_KINDS, Event, SentMessage, bad_request, content_kind, forbidden,
    media_file_id, too_many_requests,
)

if TYPE_CHECKING:
    from sandbox.core import Sandbox
    from sandbox.users import SimChat

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files
DELETE_WINDOW = 48 * 3600  # seconds a message stays deletable
MEDIA_GROUP_TYPES = ("photo", "video", "document", "audio")
_CAPTIONED = frozenset(MEDIA_KINDS) - {"sticker", "video_note"}
# Descriptive parameters a send method may pass for its kind of media.
_MEDIA_ATTRIBUTES = {
    "voice": ("duration",), "video": ("duration", "width", "height"), "video_note": ("duration", "length"),
    "audio": ("duration", "performer", "title"), "animation": ("duration", "width", "height"),
}
_BUTTON_ACTIONS = ("callback_data", "url", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
                   "callback_game", "pay")
_CHAT_ACTIONS = frozenset({"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                           "upload_voice", "upload_document", "choose_sticker", "find_location",
                           "record_video_note", "upload_video_note"})
_COMMAND_SCOPES = frozenset({"default", "all_private_chats", "all_group_chats", "all_chat_administrators",
                             "chat", "chat_administrators", "chat_member"})
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly "
                 "the same as a current content and reply markup of the message")

Handler = Callable[["BotApi", dict, dict[str, Upload]], Awaitable[Any]]
_REGISTRY: dict[str, tuple[str, Handler]] = {}


def api(name: str) -> Callable[[Handler], Handler]:
    """Register a Bot API method under its canonical name; lookups ignore case, as Telegram's."""
    def register(handler: Handler) -> Handler:
        _REGISTRY[name.lower()] = (name, handler)
        return handler
    return register


def find_method(name: str) -> tuple[str, Handler] | None:
    """(canonical name, handler) for a method name in any letter case, None if unknown."""
    return _REGISTRY.get(name.lower())


class BotApi:
    def __init__(self, sandbox: Sandbox):
        self._sb = sandbox
        self._media_groups = itertools.count(1)

    # == the bot itself ===========================================================================

    @api("getMe")
    async def get_me(self, p: dict, files: dict) -> dict:
        return {**self._sb.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    @api("logOut")
    async def log_out(self, p: dict, files: dict) -> bool:
        return True

    @api("close")
    async def close(self, p: dict, files: dict) -> bool:
        return True

    # == updates ===================================================================================

    @api("getUpdates")
    async def get_updates(self, p: dict, files: dict) -> list[dict]:
        allowed = p.get("allowed_updates")
        if allowed is not None and not (isinstance(allowed, list) and all(isinstance(t, str) for t in allowed)):
            raise bad_request("can't parse allowed_updates JSON object")
        timeout = p.get("timeout") or 0
        if not isinstance(timeout, int | float):
            raise bad_request("invalid timeout specified")
        return await self._sb.updates.get(offset=_optional_int(p, "offset"), limit=_optional_int(p, "limit"),
                                          timeout=float(timeout), allowed_updates=allowed)

    @api("deleteWebhook")
    async def delete_webhook(self, p: dict, files: dict) -> bool:
        if p.get("drop_pending_updates"):
            self._sb.updates.drop_all()
        return True

    @api("getWebhookInfo")
    async def get_webhook_info(self, p: dict, files: dict) -> dict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._sb.updates)}

    # == sending ===================================================================================

    @api("sendMessage")
    async def send_message(self, p: dict, files: dict) -> dict:
        chat = self._target(p)
        text, entities, mode = self._formatted(p, "text", "entities", MAX_TEXT, required=True)
        reply, markup = self._reply_to(chat, p), self._reply_markup(p)
        self._limit(chat)
        content = _with_entities({"text": text}, "entities", entities)
        return self._deliver(chat, content, p, parse_mode=mode, reply=reply, markup=markup).message

    @api("sendPhoto")
    async def send_photo(self, p: dict, files: dict) -> dict:
        return self._send_media("photo", p, files)

    @api("sendVoice")
    async def send_voice(self, p: dict, files: dict) -> dict:
        return self._send_media("voice", p, files)

    @api("sendVideo")
    async def send_video(self, p: dict, files: dict) -> dict:
        return self._send_media("video", p, files)

    @api("sendVideoNote")
    async def send_video_note(self, p: dict, files: dict) -> dict:
        return self._send_media("video_note", p, files)

    @api("sendAudio")
    async def send_audio(self, p: dict, files: dict) -> dict:
        return self._send_media("audio", p, files)

    @api("sendAnimation")
    async def send_animation(self, p: dict, files: dict) -> dict:
        return self._send_media("animation", p, files)

    @api("sendDocument")
    async def send_document(self, p: dict, files: dict) -> dict:
        return self._send_media("document", p, files)

    @api("sendSticker")
    async def send_sticker(self, p: dict, files: dict) -> dict:
        return self._send_media("sticker", p, files)

    @api("sendLocation")
    async def send_location(self, p: dict, files: dict) -> dict:
        chat = self._target(p)
        latitude, longitude = _coordinate(p, "latitude", 90), _coordinate(p, "longitude", 180)
        reply, markup = self._reply_to(chat, p), self._reply_markup(p)
        self._limit(chat)
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._deliver(chat, content, p, reply=reply, markup=markup).message

    @api("sendContact")
    async def send_contact(self, p: dict, files: dict) -> dict:
        chat = self._target(p)
        contact = {"phone_number": _required_str(p, "phone_number"), "first_name": _required_str(p, "first_name")}
        if p.get("last_name"):
            contact["last_name"] = str(p["last_name"])
        reply, markup = self._reply_to(chat, p), self._reply_markup(p)
        self._limit(chat)
        return self._deliver(chat, {"contact": contact}, p, reply=reply, markup=markup).message

    @api("sendMediaGroup")
    async def send_media_group(self, p: dict, files: dict) -> list[dict]:
        chat = self._target(p)
        items = p.get("media")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise bad_request("can't parse media JSON object")
        if not 2 <= len(items) <= 10:
            raise bad_request("wrong number of media in the media group: 2-10 items expected")
        prepared = []
        for item in items:
            kind = item.get("type")
            if kind not in MEDIA_GROUP_TYPES:
                raise bad_request(f"unsupported media type {kind!r} in the media group")
            source = self._file_source(kind, item.get("media"), files)
            caption = self._formatted(item, "caption", "caption_entities", MAX_CAPTION, required=False)
            prepared.append((kind, source, caption, item))
        reply = self._reply_to(chat, p)
        self._limit(chat, len(prepared))  # every item is a message of its own for the limits

        group_id = str(10**16 + next(self._media_groups))
        sent = []
        for kind, source, (caption, entities, mode), item in prepared:
            content = {kind: self._store_media(kind, source, item)}
            content = _with_caption(content, caption, entities)
            sent.append(self._deliver(chat, content, p, parse_mode=mode, reply=reply, media_group_id=group_id))
        return [message.message for message in sent]

    @api("copyMessage")
    async def copy_message(self, p: dict, files: dict) -> dict:
        chat = self._target(p)
        original = self._source_message(p, "copy", "copied")
        content = {k: v for k, v in original.items() if k in _COPIED_FIELDS}
        mode = None
        if "caption" in p and content_kind(content) in MEDIA_KINDS:  # a new caption replaces the old
            caption, entities, mode = self._formatted(p, "caption", "caption_entities", MAX_CAPTION,
                                                      required=False)
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content = _with_caption(content, caption, entities)
        reply, markup = self._reply_to(chat, p), self._reply_markup(p)
        self._limit(chat)
        sent = self._deliver(chat, content, p, parse_mode=mode, reply=reply, markup=markup, from_copy=True)
        return {"message_id": sent.message_id}

    @api("forwardMessage")
    async def forward_message(self, p: dict, files: dict) -> dict:
        chat = self._target(p)
        original = self._source_message(p, "forward", "forwarded")
        content = {k: v for k, v in original.items() if k in _COPIED_FIELDS}
        # A forward of a forward still names the first author.
        content["forward_origin"] = original.get("forward_origin") or {
            "type": "user", "sender_user": original["from"], "date": original["date"]}
        self._limit(chat)
        return self._deliver(chat, content, p).message

    @api("sendChatAction")
    async def send_chat_action(self, p: dict, files: dict) -> bool:
        self._target(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # == changing what was sent ===================================================================

    @api("editMessageText")
    async def edit_message_text(self, p: dict, files: dict) -> dict:
        chat, sent = self._editable(p)
        if "text" not in sent.message:
            raise bad_request("there is no text in the message to edit")
        text, entities, mode = self._formatted(p, "text", "entities", MAX_TEXT, required=True)
        markup = self._inline_markup(p)
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        edited = _edited(sent.message, {"text": text, "entities": entities or None, "reply_markup": markup})
        return self._commit_edit(chat, sent, edited, mode, markup, new_content=True)

    @api("editMessageCaption")
    async def edit_message_caption(self, p: dict, files: dict) -> dict:
        chat, sent = self._editable(p)
        if content_kind(sent.message) not in _CAPTIONED:
            raise bad_request("there is no caption in the message to edit")
        caption, entities, mode = self._formatted(p, "caption", "caption_entities", MAX_CAPTION, required=False)
        markup = self._inline_markup(p)
        edited = _edited(sent.message, {"caption": caption, "caption_entities": entities or None,
                                        "reply_markup": markup})
        return self._commit_edit(chat, sent, edited, mode, markup, new_content=True)

    @api("editMessageReplyMarkup")
    async def edit_message_reply_markup(self, p: dict, files: dict) -> dict:
        chat, sent = self._editable(p)
        markup = self._inline_markup(p)
        edited = _edited(sent.message, {"reply_markup": markup})
        return self._commit_edit(chat, sent, edited, sent.parse_mode, markup, new_content=False)

    @api("deleteMessage")
    async def delete_message(self, p: dict, files: dict) -> bool:
        chat = self._chat(p)
        message_id = _message_id(p)
        message = chat.stored(message_id)
        if message is None:
            raise bad_request("message to delete not found")
        own = message.get("from", {}).get("id") == self._sb.bot_id
        too_old = self._sb.now() - message["date"] >= DELETE_WINDOW
        if too_old or not chat.bot_may_delete(own):
            raise bad_request("message can't be deleted")
        deleted = chat.delete(message_id)
        self._sb.emit(Event("delete", chat.id, chat.recipient, deleted))
        return True

    # == callback queries and files ================================================================

    @api("answerCallbackQuery")
    async def answer_callback_query(self, p: dict, files: dict) -> bool:
        answer = {"text": p.get("text"), "show_alert": bool(p.get("show_alert")), "url": p.get("url")}
        if not self._sb.record_callback_answer(str(p.get("callback_query_id", "")), answer):
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        return True

    @api("getFile")
    async def get_file(self, p: dict, files: dict) -> dict:
        info = self._sb.files.info(str(p.get("file_id", "")))
        if info is None:
            raise bad_request("invalid file_id")
        if info["file_size"] > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return info

    # == commands and profile ======================================================================

    @api("setMyCommands")
    async def set_my_commands(self, p: dict, files: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(p)
        if commands:
            self._sb.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:  # an empty list is how Telegram deletes
            self._sb.commands.pop(key, None)
        return True

    @api("getMyCommands")
    async def get_my_commands(self, p: dict, files: dict) -> list[dict]:
        return self._sb.commands.get(self._commands_key(p), [])

    @api("deleteMyCommands")
    async def delete_my_commands(self, p: dict, files: dict) -> bool:
        self._sb.commands.pop(self._commands_key(p), None)
        return True

    @api("setMyName")
    async def set_my_name(self, p: dict, files: dict) -> bool:
        return self._set_profile("name", p)

    @api("setMyDescription")
    async def set_my_description(self, p: dict, files: dict) -> bool:
        return self._set_profile("description", p)

    @api("setMyShortDescription")
    async def set_my_short_description(self, p: dict, files: dict) -> bool:
        return self._set_profile("short_description", p)

    @api("getMyName")
    async def get_my_name(self, p: dict, files: dict) -> dict:
        return self._get_profile("name", p)

    @api("getMyDescription")
    async def get_my_description(self, p: dict, files: dict) -> dict:
        return self._get_profile("description", p)

    @api("getMyShortDescription")
    async def get_my_short_description(self, p: dict, files: dict) -> dict:
        return self._get_profile("short_description", p)

    @api("setChatMenuButton")
    async def set_chat_menu_button(self, p: dict, files: dict) -> bool:
        return True

    # == helpers: chats ============================================================================

    def _chat(self, p: dict, key: str = "chat_id") -> SimChat:
        chat_id = p.get(key)
        if chat_id is None or chat_id == "":
            raise bad_request(f"{key} is empty")
        chat = self._sb.chat(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _target(self, p: dict) -> SimChat:
        """The chat a message is to be sent to, if the bot may write there."""
        chat = self._chat(p)
        user = chat.recipient
        if user is not None:
            if user.blocked:
                raise forbidden("bot was blocked by the user")
            if not user.started:
                raise forbidden("bot can't initiate conversation with a user")
        return chat

    def _limit(self, chat: SimChat, messages: int = 1) -> None:
        if self._sb.enforce_limits:
            wait = self._sb.limiter.acquire(chat.id, messages)
            if wait:
                raise too_many_requests(wait)

    def _source_message(self, p: dict, verb: str, participle: str) -> dict:
        """The message copyMessage/forwardMessage take their content from."""
        source = self._chat(p, "from_chat_id")
        original = source.stored(_message_id(p))
        if original is None:
            raise bad_request(f"message to {verb} not found")
        # Protected content stays where it is; service messages have nothing to copy.
        if original.get("has_protected_content") or content_kind(original) is None:
            raise bad_request(f"message can't be {participle}")
        return original

    def _editable(self, p: dict) -> tuple[SimChat, SentMessage]:
        if p.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the sandbox")
        chat = self._chat(p)
        message_id = _message_id(p)
        if chat.stored(message_id) is None:
            raise bad_request("message to edit not found")
        sent = chat.sent(message_id)
        if sent is None:
            raise bad_request("message can't be edited")
        return chat, sent

    def _commit_edit(self, chat: SimChat, sent: SentMessage, edited: dict, mode: str | None,
                     markup: dict | None, *, new_content: bool) -> dict:
        """Make ``edited`` the current version; ``new_content``: keep the old text in sent.edits."""
        if _without_edit_date(edited) == _without_edit_date(sent.message):
            raise bad_request(_NOT_MODIFIED)
        if new_content:
            sent.edits.append(sent.content)
        edited["edit_date"] = self._sb.now()
        sent.refresh(edited, mode, markup)
        chat.replace(sent.message_id, edited)
        self._sb.emit(Event("edit", chat.id, chat.recipient, sent))
        return edited

    # == helpers: content ==========================================================================

    def _formatted(self, source: dict, key: str, entities_key: str, limit: int, *,
                   required: bool) -> tuple[str | None, list[dict], str | None]:
        """(text, entities, parse_mode) of a text or caption parameter, validated as Telegram does.

        HTML is parsed into entities; Markdown and MarkdownV2 pass through unparsed (their
        entities are not worked out, so text with Markdown marks counts them in its length).
        """
        raw = source.get(key)
        mode = source.get("parse_mode") or None
        if raw is None or raw == "":
            if required:
                raise bad_request("message text is empty")
            return None, [], mode
        raw = str(raw)
        if mode is None:
            text, entities = raw, _entities(source.get(entities_key))
        elif mode.lower() == "html":
            try:
                text, entities = parse_html(raw)
            except HtmlParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        elif mode.lower() in ("markdown", "markdownv2"):
            text, entities = raw, []
        else:
            raise bad_request("unsupported parse_mode")
        if not text.strip():
            if required:
                raise bad_request("message text is empty")
            return None, [], mode
        if len(text) > limit:
            raise bad_request("message is too long" if key == "text" else "message caption is too long")
        return text, entities, mode

    def _reply_to(self, chat: SimChat, p: dict) -> dict | None:
        """The message being replied to, as embedded in the reply (one level deep)."""
        parameters = p.get("reply_parameters") or {}
        if not isinstance(parameters, dict):
            raise bad_request("can't parse reply parameters JSON object")
        message_id = parameters.get("message_id", p.get("reply_to_message_id"))
        if message_id is None:
            return None
        if parameters.get("chat_id") not in (None, chat.id):
            raise bad_request("replies to other chats are not supported by the sandbox")
        target = chat.stored(message_id) if isinstance(message_id, int) else None
        if target is None:
            if parameters.get("allow_sending_without_reply", p.get("allow_sending_without_reply")):
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def _reply_markup(self, p: dict) -> dict | None:
        markup = p.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            _check_inline_keyboard(markup["inline_keyboard"])
        return markup

    def _inline_markup(self, p: dict) -> dict | None:
        """Edits only take inline keyboards."""
        markup = self._reply_markup(p)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return markup

    def _file_source(self, kind: str, value: Any, files: dict[str, Upload]) -> Upload | str:
        """What a media parameter refers to: a new upload, or the file_id of a stored file."""
        if value is None or value == "":
            upload = files.get(kind)  # a direct upload is a multipart part named after the parameter
            if upload is None:
                raise bad_request(f"there is no {kind} in the request")
            return upload
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://"):])
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            return upload
        stored = self._sb.files.get(value) if isinstance(value, str) else None
        if stored is None:  # URLs included: the sandbox has no internet to fetch them from
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {type_name(stored.kind)} as {type_name(kind)}")
        return value

    def _store_media(self, kind: str, source: Upload | str, p: dict) -> dict | list:
        if isinstance(source, str):
            return self._sb.files.media(source)
        attributes = {name: p.get(name) for name in _MEDIA_ATTRIBUTES.get(kind, ())}
        return self._sb.files.add(kind, source.data, file_name=source.filename,
                                  mime_type=source.content_type, **attributes)

    def _send_media(self, kind: str, p: dict, files: dict[str, Upload]) -> dict:
        chat = self._target(p)
        source = self._file_source(kind, p.get(kind), files)
        if kind not in _CAPTIONED:
            caption, entities, mode = None, [], None
        else:
            caption, entities, mode = self._formatted(p, "caption", "caption_entities", MAX_CAPTION,
                                                      required=False)
        reply, markup = self._reply_to(chat, p), self._reply_markup(p)
        self._limit(chat)
        media = self._store_media(kind, source, p)
        content = {kind: media}
        if kind == "animation":  # Telegram also presents an animation as a document, for old clients
            content["document"] = {k: v for k, v in media.items() if k not in ("width", "height", "duration")}
        content = _with_caption(content, caption, entities)
        return self._deliver(chat, content, p, parse_mode=mode, reply=reply, markup=markup).message

    def _deliver(self, chat: SimChat, content: dict, p: dict, *, parse_mode: str | None = None,
                 reply: dict | None = None, markup: dict | None = None, from_copy: bool = False,
                 media_group_id: str | None = None) -> SentMessage:
        """Create the bot's message in ``chat``, show it to the user side and return it."""
        protect = bool(p.get("protect_content"))
        message = {"message_id": chat.next_message_id(), "from": self._sb.bot_user, "chat": chat.chat,
                   "date": self._sb.now(), **content}
        if media_group_id:
            message["media_group_id"] = media_group_id
        if reply:
            message["reply_to_message"] = reply
        if markup and "inline_keyboard" in markup:  # reply keyboards are not part of the message
            message["reply_markup"] = markup
        if protect:
            message["has_protected_content"] = True
        sent = SentMessage(
            message_id=message["message_id"], chat_id=chat.id,
            kind="media_group_item" if media_group_id else content_kind(message),
            message=message, protect_content=protect, reply_to_message_id=reply and reply["message_id"],
            file_id=media_file_id(message), media_group_id=media_group_id, from_copy=from_copy)
        sent.refresh(message, parse_mode, markup)
        chat.add_sent(sent)
        self._sb.emit(Event("bot_message", chat.id, chat.recipient, sent))
        return sent

    # == helpers: commands and profile =============================================================

    def _commands_key(self, p: dict) -> tuple[str, str]:
        """sb.commands key: (scope type, language code); chat scopes are "chat:<id>" and similar."""
        scope = p.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        scope_type = scope["type"]
        if scope_type.startswith("chat"):
            chat = self._chat(scope)
            scope_type = f"{scope_type}:{chat.id}"
            if scope["type"] == "chat_member":
                scope_type += f":{_optional_int(scope, 'user_id')}"
        return scope_type, self._language(p)

    @staticmethod
    def _language(p: dict) -> str:
        language = p.get("language_code") or ""
        if language and not (len(language) == 2 and language.isascii() and language.isalpha()
                             and language.islower()):
            raise bad_request("invalid language code specified")  # two-letter ISO 639-1 codes only
        return language

    def _set_profile(self, field: str, p: dict) -> bool:
        self._sb.bot_profile[(field, self._language(p))] = str(p.get(field) or "")
        return True

    def _get_profile(self, field: str, p: dict) -> dict:
        return {field: self._sb.bot_profile.get((field, self._language(p)), "")}


# What copyMessage and forwardMessage carry over: the content, not the envelope.
_COPIED_FIELDS = frozenset({*CONTENT_KINDS, "entities", "caption", "caption_entities", "has_media_spoiler"})


def _with_entities(content: dict, key: str, entities: list[dict]) -> dict:
    return {**content, key: entities} if entities else content


def _with_caption(content: dict, caption: str | None, entities: list[dict]) -> dict:
    if caption is None:
        return content
    return _with_entities({**content, "caption": caption}, "caption_entities", entities)


def _edited(message: dict, changes: dict) -> dict:
    """A copy of ``message`` with ``changes`` applied; a None value removes the field."""
    edited = dict(message)
    for key, value in changes.items():
        if value is None:
            edited.pop(key, None)
        else:
            edited[key] = value
    return edited


def _without_edit_date(message: dict) -> dict:
    return {k: v for k, v in message.items() if k != "edit_date"}


def _entities(value: Any) -> list[dict]:
    if value is None or value == "":
        return []
    valid = isinstance(value, list) and all(
        isinstance(e, dict) and isinstance(e.get("type"), str) and isinstance(e.get("offset"), int)
        and isinstance(e.get("length"), int) for e in value)
    if not valid:
        raise bad_request("can't parse entities JSON object")
    return value


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request("can't parse inline keyboard button: Field \"text\" must be of type String")
        if not any(action in button for action in _BUTTON_ACTIONS):
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the "
                              "inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")


def _message_id(p: dict) -> int:
    value = p.get("message_id")
    if not isinstance(value, int):
        raise bad_request("message identifier is not specified")
    return value


def _optional_int(p: dict, key: str) -> int | None:
    value = p.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, int):
        raise bad_request(f"invalid {key} specified")
    return value


def _required_str(p: dict, key: str) -> str:
    value = p.get(key)
    if value is None or value == "":
        raise bad_request(f"{key} is empty")
    return str(value)


def _coordinate(p: dict, key: str, bound: float) -> float:
    value = p.get(key)
    if not isinstance(value, int | float) or not -bound <= value <= bound:
        raise bad_request(f"wrong {key} specified")
    return float(value)


# The methods that create messages (the ones the flood limits count): what `Sandbox.set_answer_delay` slows.
SENDING_METHODS = tuple(name for name, _ in _REGISTRY.values()
                        if (name.startswith("send") and name != "sendChatAction")
                        or name in ("copyMessage", "forwardMessage"))
