"""Log hygiene in-process: the token is masked whatever logs it, and chatty libraries stay quiet."""

from __future__ import annotations

import io
import logging

import pytest

from bot.runtime.logs import configure_logging
from tests.helpers import BOT_TOKEN


@pytest.fixture
def stream():
    buf = io.StringIO()
    handler = configure_logging("DEBUG", token=BOT_TOKEN, stream=buf)
    yield buf
    logging.getLogger().removeHandler(handler)


def test_the_token_is_masked_in_messages_args_and_tracebacks(stream):
    log = logging.getLogger("anything")
    log.info("POST https://api.telegram.org/bot%s/getMe", BOT_TOKEN)
    log.info(f"url with token bot{BOT_TOKEN}/sendMessage")
    try:
        raise RuntimeError(f"failed at /bot{BOT_TOKEN}/getUpdates")
    except RuntimeError:
        log.exception("request failed")
    output = stream.getvalue()
    assert BOT_TOKEN not in output
    assert output.count("[token]") >= 2
    assert "builtins.RuntimeError" in output and "RuntimeError: failed at" not in output


def test_a_traceback_keeps_the_class_and_frames_but_never_the_message(stream):
    def check_name(name):
        raise ValueError(f"bad name {name}")

    typed = "".join(["李", "小明"])  # as a person would type it: not in the source lines the traceback shows
    try:
        try:
            check_name(typed)
        except ValueError as first:
            raise KeyError(typed) from first
    except KeyError:
        logging.getLogger("anything").exception("update 7 raised KeyError")
    output = stream.getvalue()
    assert "李小明" not in output
    assert "builtins.ValueError" in output and "builtins.KeyError" in output
    assert "in check_name" in output


def test_a_token_shaped_string_is_masked_even_if_not_ours(stream):
    logging.getLogger("x").warning("other 987654321:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ")
    assert "AAbbCC" not in stream.getvalue()


def test_library_debug_output_is_capped_at_debug_level(stream):
    logging.getLogger("telegram.ext.Application").debug("Processing update {'text': '小明今天发烧'}")
    logging.getLogger("httpx").info("HTTP Request: POST ...")
    logging.getLogger("bot.runtime.intake").debug("our own debug line")
    output = stream.getvalue()
    assert "小明" not in output and "HTTP Request" not in output
    assert "our own debug line" in output
