"""The parent ↔ carer relay."""

from __future__ import annotations

HANDLERS: list = []
