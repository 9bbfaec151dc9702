"""/import and /template: rosters as Excel or CSV files."""

from __future__ import annotations

HANDLERS: list = []
