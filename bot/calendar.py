"""The teachers' care calendar (placeholder: filled in by the calendar work)."""

from __future__ import annotations


class CalendarService:
    def __init__(self, db, people, children, care, outbox, preferences, clock, timezone_name: str) -> None:
        self._db = db

    async def run_due(self) -> int:
        return 0
