"""The demo plays through whatever the hour: run late in the evening, its messages must not wait for quiet
hours (it once stopped at 22:01 Beijing time)."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock, ShiftedClock, SystemClock
from sandbox.demo import play

# The intake calls getUpdates through do_api_request on purpose (see bot.runtime.runner).
pytestmark = pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'")


async def test_the_demo_plays_to_the_end_late_at_night():
    late = ShiftedClock.reading(SystemClock(), time(23, 30), ZoneInfo("Asia/Shanghai"))
    out = io.StringIO()
    await play("en", out, base_clock=late)
    transcript = out.getvalue()
    assert "The demo has ended." in transcript
    assert "received 📒" in transcript  # the update reached the mother and she confirmed it


def test_a_shifted_clock_reads_the_chosen_hour_and_runs_with_its_base():
    base = FixedClock(datetime(2026, 11, 22, 14, 1, tzinfo=timezone.utc))  # 22:01 in Beijing
    clock = ShiftedClock.reading(base, time(10, 0), ZoneInfo("Asia/Shanghai"))
    assert clock.now().astimezone(ZoneInfo("Asia/Shanghai")) == datetime(2026, 11, 22, 10, 0,
                                                                         tzinfo=ZoneInfo("Asia/Shanghai"))
    base.advance(timedelta(minutes=5))
    assert clock.now().astimezone(ZoneInfo("Asia/Shanghai")).time() == time(10, 5)
