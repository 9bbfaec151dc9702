"""The HTTP side: routes, request decoding, the token check, faults, delays and the call log.

Routes, as on api.telegram.org:

* ``GET|POST /bot<token>/<method>``: a Bot API call; the answer is always JSON
  (``{"ok": true, "result": ...}`` or an error with the matching HTTP status);
* ``GET /file/bot<token>/<file_path>``: a file download (the path comes from getFile).

An unknown method is answered with 404 "Not Found: method not found", as Telegram does (it says
"Not Found"); python-telegram-bot reports a 404 as InvalidToken, or as EndPointNotFound from
``Bot.do_api_request``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.files import Upload
from sandbox.methods import BotApi, find_method
from sandbox.models import ApiError, Call, Fault, bad_request

if TYPE_CHECKING:
    from sandbox.core import Sandbox

log = logging.getLogger("sandbox")

MAX_REQUEST = 60 * 1024 * 1024  # Telegram takes uploads up to 50 MB, plus the form around them
# How long stop() lets requests in flight finish; long polls are released before that.
SHUTDOWN_GRACE = 1.0

# python-telegram-bot (like most clients) sends forms in which every non-string value is JSON
# encoded. These are the parameters whose values are JSON objects or arrays...
_JSON_PARAMS = frozenset({
    "reply_markup", "entities", "caption_entities", "media", "allowed_updates", "reply_parameters",
    "commands", "scope", "link_preview_options", "menu_button", "message_ids",
})
# ...and these the numbers and flags. chat ids may also be "@channelusername" strings.
_CHAT_ID_PARAMS = frozenset({"chat_id", "from_chat_id"})
_INT_PARAMS = frozenset({
    "message_id", "offset", "limit", "duration", "width", "height", "length",
    "reply_to_message_id", "cache_time", "user_id", "message_thread_id", "live_period", "heading",
    "proximity_alert_radius",
})
_FLOAT_PARAMS = frozenset({"latitude", "longitude", "horizontal_accuracy", "timeout"})
_BOOL_PARAMS = frozenset({
    "protect_content", "disable_notification", "show_alert", "drop_pending_updates",
    "allow_sending_without_reply", "disable_web_page_preview", "has_spoiler", "supports_streaming",
    "show_caption_above_media", "disable_content_type_detection", "allow_paid_broadcast",
})

_dumps = functools.partial(json.dumps, ensure_ascii=False)


class ApiServer:
    def __init__(self, sandbox: Sandbox, host: str, port: int):
        self._sb = sandbox
        self._api = BotApi(sandbox)
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.delays: dict[str, float] = {}  # lower-cased method -> seconds

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._port

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_REQUEST)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await self._runner.setup()
        # Binding the socket ourselves tells us the port the OS picked for port=0.
        sock = socket.create_server((self._host, self._requested_port))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._port = None

    # == Bot API calls ===============================================================================

    async def _handle_api(self, request: web.Request) -> web.Response:
        call = Call(method=request.match_info["method"], params={}, at=time.monotonic())
        self.calls.append(call)
        try:
            body = {"ok": True, "result": await self._call(request, call)}
            status = 200
        except ApiError as error:
            body, status = error.payload(), error.status
        except Exception:
            # A sandbox bug: answer like a Telegram outage, but loudly in the log.
            log.exception("sandbox failed on %s %s", call.method, call.params)
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error: sandbox failure"}
            status = 500
        call.status = status
        return web.json_response(body, status=status, dumps=_dumps)

    async def _call(self, request: web.Request, call: Call) -> Any:
        if request.match_info["token"] != self._sb.token:
            raise ApiError(401, "Unauthorized")
        found = find_method(call.method)
        if found is None:
            raise ApiError(404, "Not Found: method not found")
        call.method, handler = found
        params, files = await _read_params(request)
        call.params = {**params, **files}
        delay = self.delays.get(call.method.lower())
        if delay:
            await asyncio.sleep(delay)
        fault = self._take_fault(call.method, params)
        if fault is not None:
            raise fault
        return await handler(self._api, params, files)

    def _take_fault(self, method: str, params: dict) -> ApiError | None:
        for fault in self.faults:
            if fault.matches(method, params):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault.error
        return None

    # == file downloads ==============================================================================

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._sb.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        data = self._sb.files.read(request.match_info["path"])
        if data is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=data, content_type="application/octet-stream")


async def _read_params(request: web.Request) -> tuple[dict, dict[str, Upload]]:
    """The call's parameters from the query string and the body, and any uploaded files."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise bad_request("the JSON request body must be an object")
            raw.update(body)
        else:  # application/x-www-form-urlencoded or multipart/form-data
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
    return {key: _decode(key, value) if isinstance(value, str) else value for key, value in raw.items()}, files


def _decode(key: str, value: str) -> Any:
    """Turn a form field back into the value the client JSON-encoded (strings stay strings)."""
    try:
        if key in _JSON_PARAMS:
            return json.loads(value)
        if key in _CHAT_ID_PARAMS:
            return int(value) if value.lstrip("-").isdigit() else value
        if key in _INT_PARAMS:
            return int(value)
        if key in _FLOAT_PARAMS:
            return float(value)
    except ValueError:
        raise bad_request(f"can't parse parameter {key!r}: {value[:50]!r}") from None
    if key in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value
