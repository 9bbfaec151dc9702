"""The /ledger buttons, declared once (bot.payloads). The scope and its id are checked again by
bot.ledgers.service on every press against bot.access.policy.ledger_scopes: a forged id, another class or
another village gets the one refusal and nothing is exported.

  ldg:<scope>:<place>           the ledgers of one class, school, village or township: choose one
  ldg:<scope>:<place>:<kind>    export that ledger
"""

from __future__ import annotations

from typing import Literal

from bot.payloads import payload


@payload("ldg")
class LedgerButton:
    scope: Literal["class", "school", "village", "township"]
    place: int
    kind: Literal["children", "musts", "video", "calendar"] | None = None
