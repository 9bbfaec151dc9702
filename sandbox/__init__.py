"""An offline Telegram Bot API for tests, the demo and benchmarks.

    async with Sandbox() as sb:
        bot = telegram.Bot(sb.token, base_url=sb.base_url, base_file_url=sb.base_file_url)
        li = sb.user(1001, "Li")
        await li.start()
        ...  # run the bot against sb, then look at li.messages / await li.wait_message()

See sandbox.core.Sandbox for the server side and sandbox.users for the simulated people.
"""

from sandbox.core import DEFAULT_TOKEN, Sandbox
from sandbox.files import Upload
from sandbox.models import Call, Event, SentMessage
from sandbox.users import SimChat, SimGroup, SimUser

__all__ = ["DEFAULT_TOKEN", "Call", "Event", "Sandbox", "SentMessage", "SimChat", "SimGroup", "SimUser", "Upload"]
