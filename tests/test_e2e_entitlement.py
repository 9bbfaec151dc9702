"""End to end over the sandbox: what waits for someone who blocked the bot is not sent to them after they lost
the right to it. A proxy parent removed by the admin, and a grandmother after the mother withdrew consent,
unblock the bot and receive nothing about the child; the rows end as withdrawn, and nobody is told."""

from __future__ import annotations

import asyncio
import sqlite3

from bot.access.policy import ADMIN, PARENT
from bot.i18n import translator
from bot.relay import RelayService
from bot.services import open_services
from bot.settings import Settings
from sandbox import Sandbox
from tests.botprocess import BotProcess, clock_of, relay_to, until
from tests.helpers import BOT_TOKEN
from tests.world import World, seed_family

MOTHER, PROXY_PARENT, GRANDMOTHER = 5101, 5102, 5103


def states(database) -> list[str]:
    """The rows about the child that carry relayed messages: not the word of a withdrawal to the family, which
    reaches them whatever (issue 14, item 4)."""
    with sqlite3.connect(database) as db:
        return [r[0] for r in db.execute("SELECT state FROM outbox WHERE child_id IS NOT NULL "
                                         "AND dedupe_key NOT LIKE 'consent-no:%' ORDER BY id")]



async def as_school(bot, act) -> None:
    """Act through the services on the bot's database, beside the running bot (as a second process would), on
    the bot's clock."""
    services = await open_services(Settings(token=BOT_TOKEN, database_path=str(bot.database)), clock_of(bot.env))
    try:
        await act(services, await World.build(services))
    finally:
        await services.db.close()


async def test_a_removed_proxy_parent_and_a_grandmother_after_withdrawal_receive_nothing_queued(tmp_path):
    _ = translator("zh_CN").gettext
    mum = RelayService.header(_, "小明", PARENT, "mother", "李妈妈")

    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await seed_family(str(bot.database), mother=MOTHER, proxy=PROXY_PARENT, grandmother=GRANDMOTHER)
        await bot.start()
        try:
            mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
            proxy = sandbox.user(PROXY_PARENT, "赵阿姨", language_code="zh-hans")
            grandmother = sandbox.user(GRANDMOTHER, "王奶奶", language_code="zh-hans")
            proxy.started = grandmother.started = True
            await proxy.block()
            await grandmother.block()

            # A relayed text waits for the proxy parent, who blocked the bot.
            relay_mode = await relay_to(mother, "赵阿姨（代理家长）")
            await mother.send_text("小明的药在柜子里")
            await until(lambda: states(bot.database) == ["undeliverable"])

            # The admin removes the proxy parent's role; the proxy parent unblocks the bot.
            async def remove_proxy(services, world):
                await world.person("校长", ADMIN, user_id=5109)
                admin = await world.actor("校长")
                [grant_id] = [r[0] for r in await services.db.fetch_all(
                    "SELECT r.id FROM roles r JOIN identities i ON i.person_id = r.person_id "
                    "WHERE i.external_id = ? AND r.revoked_at IS NULL", (str(PROXY_PARENT),))]
                await services.invitations.remove_role(admin, grant_id)
            await as_school(bot, remove_proxy)
            await proxy.unblock()
            await until(lambda: states(bot.database) == ["withdrawn"])

            # A message waits for the grandmother, who blocked the bot; the mother withdraws consent.
            granny = _("{name} ({role})").format(name="王奶奶", role=_("grandmother (father's side)"))
            await mother.press(granny, message_id=relay_mode.message_id)
            await until(lambda: granny not in str(relay_mode.buttons))
            await mother.send_text("妈，记得给小明吃药")
            await until(lambda: states(bot.database) == ["withdrawn", "undeliverable"])

            async def withdraw(services, world):
                mother_actor = await services.directory.actor("telegram", str(MOTHER))
                child_id = (await services.db.fetch_one("SELECT id FROM children"))[0]
                await services.consent.decide(mother_actor, child_id, "withdrawn")
            await as_school(bot, withdraw)
            await grandmother.unblock()
            await until(lambda: states(bot.database) == ["withdrawn", "withdrawn"])

            await asyncio.sleep(1.0)  # anything the bot would still send has had its chance
            assert not [m for m in proxy.messages if "小明" in (m.text or m.caption or "")]
            # The grandmother hears only that the mother took her agreement back, in role terms.
            about = [m.text or m.caption or "" for m in grandmother.messages if "小明" in (m.text or m.caption or "")]
            assert len(about) == 1 and about[0].startswith("小明的母亲撤回了") and "记得给小明吃药" not in about[0]
            assert not [m for m in proxy.messages + grandmother.messages if (m.text or "").startswith(mum)]
            assert await bot.stop() == 0
            assert "Traceback" not in bot.log
        finally:
            if bot.proc is not None and bot.proc.returncode is None:
                await bot.kill()
