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
    assert output.count("[token]") >= 3


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
