"""The /stats buttons, declared once (bot.payloads). The place and the period are checked again by
bot.stats.service on every press (bot.access.policy.ledger_scopes): a forged id or another class gets the one
refusal and nothing is shown; a period that was never frozen gets a clear answer.

  sts:<scope>:<place>:<period>:v    the figures (chart and text); period "now" (the quarter so far), "2026-Q1", "2026"
  sts:<scope>:<place>:<period>:x    the same figures as an Excel table
  sts:<scope>:<place>:<period>:p    the frozen periods of the place, to choose one
"""

from __future__ import annotations

from typing import Annotated, Literal

from bot.payloads import payload


@payload("sts")
class StatsButton:
    scope: Literal["class", "school", "village", "township"]
    place: int
    period: Annotated[str, 7] = "now"
    act: Literal["v", "x", "p"] = "v"
