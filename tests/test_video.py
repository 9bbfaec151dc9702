"""The video-call schedule (bot.video.service) with a movable clock: reminders at the right local time across zones and
daylight saving, downtime and restarts (the database reopened, as after a stop), quiet hours, and a crash in
the middle of handing reminders over."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from bot.services import open_services
from bot.access.policy import PARENT, PROXY
from bot.clock import stamp
from bot.notices import REMINDERS
from storage.preferences import PreferencesRepository, QuietHours
from tests.world import World

UTC = timezone.utc


@asynccontextmanager
async def running(settings, clock):
    """The bot's services over the same database: leaving the block is a stop, entering it again a restart."""
    services = await open_services(settings, clock)
    try:
        yield services
    finally:
        await services.db.close()


@pytest.fixture
async def family(settings, clock):
    """小明 with his mother (in London), a proxy parent at the school, consent given; quiet hours off unless a
    test turns them on. Returns the ids the tests need."""
    async with running(settings, clock) as services:
        world = await World.build(services)
        await world.child("小明")
        await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=7802)
        await world.person("赵阿姨", PROXY, child="小明", user_id=7804)
        await world.consent("小明", by="李妈妈")
        prefs = PreferencesRepository(services.db)
        await prefs.set_quiet_hours(QuietHours(7802, None, None, True, "Europe/London", stamp(clock.now())))
        await prefs.set_quiet_hours(QuietHours(7804, None, None, True, None, stamp(clock.now())))
        for user_id in (7802, 7804):
            await services.preferences.set_locale(user_id, "en")
        return {"child": world.children["小明"], "mother": await world.actor("李妈妈"),
                "proxy": await world.actor("赵阿姨")}


async def agree(services, family, weekday=6, at="19:30", minutes=30, zone=None, room=None):
    sent = await services.video.propose(family["proxy"], family["child"], weekday, at, minutes, room, zone)
    return await services.video.accept(family["mother"], sent.proposal_id)


async def reminders(services, to: int | None = None) -> list[dict]:
    rows = await services.db.fetch_all("SELECT * FROM outbox WHERE dedupe_key LIKE 'video:%' ORDER BY id")
    return [dict(r) for r in rows if to is None or r["recipient"] == str(to)]


async def states(services) -> list[tuple[str, int, str]]:
    rows = await services.db.fetch_all(
        "SELECT c.starts_at, r.kind, r.offset_s, r.state FROM video_reminders r JOIN video_calls c ON c.id = r.call_id "
        "ORDER BY r.due_at")
    return [(r["starts_at"], r["kind"], r["offset_s"], r["state"]) for r in rows]


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_each_reminder_names_the_time_on_the_readers_clock_across_a_dst_change(settings, clock, family):
    """Sunday 19:30 in Shanghai is 11:30 in London in winter and 12:30 once Britain has moved its clocks
    (29 March 2026); the school's own clock never moves."""
    async with running(settings, clock) as services:
        await agree(services, family)
        for day in (21, 28):   # Saturdays 21 and 28 March, the second the eve of the change
            clock.set(at(2026, 3, day, 11, 35))
            await services.video.run_due()
        mother = [json.loads(row["payload"])["text"] for row in await reminders(services, 7802)]
    assert "📅 Reminder: 小明's video call is on Sun, Mar 22 11:30, 30 min, from home." in mother
    assert "📅 Reminder: 小明's video call is on Sun, Mar 29 12:30, 30 min, from home." in mother


async def test_a_slot_in_a_zone_with_daylight_saving_keeps_its_wall_clock_time(settings, clock, family):
    """A family in New York: Sunday 09:00 there, across the change of 8 March 2026."""
    async with running(settings, clock) as services:
        await agree(services, family, weekday=6, at="09:00", zone="America/New_York")
        for week in range(4):
            clock.set(at(2026, 3, 8, 0, 0) + timedelta(weeks=week))
            await services.video.run_due()
        starts = [r["starts_at"] for r in await services.db.fetch_all("SELECT starts_at FROM video_calls ORDER BY 1")]
        assert starts[:4] == ["2026-03-08T13:00:00.000+00:00", "2026-03-15T13:00:00.000+00:00",
                              "2026-03-22T13:00:00.000+00:00", "2026-03-29T13:00:00.000+00:00"]
    # Before the change the same wall-clock time was 14:00 UTC: a slot agreed a week earlier.
    clock.set(at(2026, 2, 27, 0, 0))
    async with running(settings, clock) as services:
        await agree(services, family, weekday=6, at="09:00", zone="America/New_York")
        first = await services.db.fetch_one("SELECT starts_at FROM video_calls WHERE outcome IS NULL ORDER BY 1")
        assert first["starts_at"] == "2026-03-01T14:00:00.000+00:00"


async def test_reminders_fire_at_their_time_and_not_before(settings, clock, family):
    async with running(settings, clock) as services:
        await agree(services, family)       # Sunday 8 March 19:30 Shanghai = 11:30 UTC
        clock.set(at(2026, 3, 7, 11, 29))
        assert await services.video.run_due() == 0
        clock.set(at(2026, 3, 7, 11, 30))
        assert await services.video.run_due() == 1
        assert {r["recipient"] for r in await reminders(services)} == {"7802", "7804"}
        clock.set(at(2026, 3, 8, 10, 59))
        assert await services.video.run_due() == 0
        clock.set(at(2026, 3, 8, 11, 0))
        assert await services.video.run_due() == 1
        texts = [r["payload"] for r in await reminders(services, 7804)]
        assert "⏰ Soon: 小明's video call at Sun, Mar 8 19:30, 30 min, from home." in texts[-1]


async def test_a_reminder_missed_while_stopped_is_sent_once_after_the_restart(settings, clock, family):
    async with running(settings, clock) as services:
        await agree(services, family)
    # Stopped from Monday until Sunday 19:05, past both reminders' times but before the call.
    clock.set(at(2026, 3, 8, 11, 5))
    async with running(settings, clock) as services:
        assert await services.video.run_due() == 2
        sent = await reminders(services)
        assert len(sent) == 4   # two reminders, to the mother and the proxy parent
    for _restart in range(2):
        clock.advance(timedelta(minutes=1))
        async with running(settings, clock) as services:
            assert await services.video.run_due() == 0
            assert len(await reminders(services)) == 4


async def test_reminders_that_come_too_late_are_skipped_and_recorded(settings, clock, family):
    async with running(settings, clock) as services:
        await agree(services, family)
    # Stopped until 20:10 Shanghai time: the call has begun (and ended). The reminders would only confuse;
    # the question after the call is still worth asking.
    clock.set(at(2026, 3, 8, 12, 10))
    async with running(settings, clock) as services:
        await services.video.run_due()
        first_call = [s for s in await states(services) if s[0] == "2026-03-08T11:30:00.000+00:00"]
        assert first_call == [("2026-03-08T11:30:00.000+00:00", "before", 86400, "skipped"),
                              ("2026-03-08T11:30:00.000+00:00", "before", 1800, "skipped"),
                              ("2026-03-08T11:30:00.000+00:00", "followup", 0, "pending")]
        assert await reminders(services) == []
        clock.set(at(2026, 3, 8, 12, 15))
        await services.video.run_due()
        assert [r["recipient"] for r in await reminders(services)] == ["7804"]


async def test_after_weeks_of_downtime_only_calls_still_worth_asking_about_are_written(settings, clock, family):
    async with running(settings, clock) as services:
        await agree(services, family)
    clock.set(at(2026, 4, 1, 0, 0))     # a Wednesday, three and a half weeks later
    async with running(settings, clock) as services:
        await services.video.run_due()
        starts = [r["starts_at"] for r in await services.db.fetch_all("SELECT starts_at FROM video_calls ORDER BY 1")]
        # The first call (written when agreed), the Sunday just gone (its question still useful), the next one.
        assert starts == ["2026-03-08T11:30:00.000+00:00", "2026-03-29T11:30:00.000+00:00",
                          "2026-04-05T11:30:00.000+00:00"]
        assert [r["recipient"] for r in await reminders(services)] == ["7804"]   # only the question of the 29th


async def test_a_crash_while_handing_over_leaves_every_reminder_pending(settings, clock, family, monkeypatch):
    async with running(settings, clock) as services:
        await agree(services, family)
        clock.set(at(2026, 3, 7, 11, 30))
        calls = 0
        real = services.outbox.add

        async def failing(conn, rows):
            nonlocal calls
            calls += 1
            await real(conn, rows)
            raise OSError("disk gone")   # after the outbox rows were written, before the commit

        monkeypatch.setattr(services.outbox, "add", failing)
        with pytest.raises(OSError):
            await services.video.run_due()
        assert calls == 1 and await reminders(services) == []
        assert [s[3] for s in await states(services)] == ["pending", "pending", "pending"]
        monkeypatch.setattr(services.outbox, "add", real)
        assert await services.video.run_due() == 1
        assert len(await reminders(services)) == 2


async def test_quiet_hours_hold_a_reminder_unless_the_call_falls_inside_them(settings, clock, family):
    async with running(settings, clock) as services:
        prefs = PreferencesRepository(services.db)
        await prefs.set_quiet_hours(QuietHours(7804, "22:00", "07:00", False, None, stamp(clock.now())))
        await agree(services, family, at="22:30")     # Sunday 22:30 Shanghai = 14:30 UTC, inside quiet hours
        clock.set(at(2026, 3, 7, 14, 30))              # the day before, 22:30: quiet
        await services.video.run_due()
        day_before = (await reminders(services, 7804))[-1]
        # Not urgent: the sender holds it while the quiet hours (as they are set when it is sent) last: 07:00 local.
        assert not day_before["urgent"] and day_before["lane"] == REMINDERS
        assert stamp(await services.outbox.quiet_until(day_before["recipient"], clock.now())).startswith(
            "2026-03-07T23:00")
        clock.set(at(2026, 3, 8, 14, 0))               # 22:00, half an hour before: waiting would be too late
        await services.video.run_due()
        soon = (await reminders(services, 7804))[-1]
        assert soon["urgent"] and soon["not_before"].startswith("2026-03-08T14:00")


async def test_a_new_weekly_time_cancels_the_old_ones_reminders(settings, clock, family):
    async with running(settings, clock) as services:
        await agree(services, family)                      # Sundays
        await agree(services, family, weekday=2, at="20:00")  # then Wednesdays instead
        clock.set(at(2026, 3, 8, 12, 30))
        await services.video.run_due()
        clock.set(at(2026, 3, 11, 11, 45))   # the second Wednesday, a quarter of an hour before
        await services.video.run_due()
        kept = {r["starts_at"] for r in await services.db.fetch_all(
            "SELECT starts_at FROM video_calls WHERE outcome IS NULL")}
        assert kept == {"2026-03-04T12:00:00.000+00:00", "2026-03-11T12:00:00.000+00:00"}
        texts = [r["payload"] for r in await reminders(services)]
        assert any("Wed, Mar 11 20:00" in t for t in texts) and all("Sun" not in t for t in texts)


def test_settings_change_the_offsets(settings):
    from bot.video.service import VideoService
    service = VideoService(None, None, None, None, None, None, None, replace(settings, video_reminders=(120, 10),
                                                                            video_followup=5))
    assert service.offsets == (timedelta(hours=2), timedelta(minutes=10)) and service.followup == timedelta(minutes=5)


async def sunday_families(services, count: int) -> None:
    """`count` children, each with a consenting mother and a proxy parent, who agreed Sunday 19:30."""
    world = await World.build(services)
    for n in range(count):
        await world.child(f"孩子{n}")
        await world.person(f"妈妈{n}", PARENT, child=f"孩子{n}", relation="mother", user_id=8000 + n)
        await world.person(f"代理{n}", PROXY, child=f"孩子{n}", user_id=8100 + n)
        await world.consent(f"孩子{n}", by=f"妈妈{n}")
        sent = await services.video.propose(await world.actor(f"代理{n}"), world.children[f"孩子{n}"], 6, "19:30",
                                            30, None, None)
        await services.video.accept(await world.actor(f"妈妈{n}"), sent.proposal_id)


async def test_a_busy_half_hour_hands_reminders_over_early_enough_to_arrive_in_their_window(settings, clock):
    """Twenty families chose Sunday 19:30, and the outbox may send only 0.1 a second: the "in 30 minutes"
    reminders (40 messages) cannot all go at 19:00 and still arrive by 19:05, so some are handed over from
    about 18:55, none before 18:50, soonest deadline first; at a normal rate they all wait for 19:00."""
    slow = replace(settings, send_rate=0.1)
    async with running(slow, clock) as services:
        await sunday_families(services, 20)
        clock.set(at(2026, 3, 7, 12, 0))   # the day-before reminders go out of the way
        await services.video.run_due()
        await services.db.write("UPDATE outbox SET state = 'sent'")
        before = len(await reminders(services))

        handed = []
        for minute in (49, 53, 55, 57, 59, 60):   # 18:49 … 19:00 in Shanghai
            clock.set(at(2026, 3, 8, 10, 0) + timedelta(minutes=minute))
            handed.append(await services.video.run_due())
        # At 0.08 a second for reminders, 40 messages take 500 s: to arrive by 19:04 the first must go at 18:55:40.
        assert handed[:2] == [0, 0]        # 18:49 and 18:53: nothing yet
        assert 0 < sum(handed[:5]) < 20    # from 18:55 some go early …
        assert sum(handed) == 20           # … and by 19:00 all of them
        soon = (await reminders(services))[before:]
        assert len(soon) == 40 and all(r["due_by"] == "2026-03-08T11:05:00.000+00:00" for r in soon)

    clock.set(at(2026, 3, 1, 0, 0))
    fast = replace(settings, database_path=settings.database_path + ".fast")
    async with running(fast, clock) as services:
        await sunday_families(services, 3)
        clock.set(at(2026, 3, 8, 10, 59))
        await services.video.run_due()
        assert not [r for r in await reminders(services) if r["due_by"] == "2026-03-08T11:05:00.000+00:00"]
        clock.set(at(2026, 3, 8, 11, 0))
        assert await services.video.run_due() == 3
