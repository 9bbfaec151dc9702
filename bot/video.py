"""Weekly family video calls (placeholder)."""

from __future__ import annotations


class VideoService:
    def __init__(self, db, people, children, consent, outbox, preferences, clock, settings) -> None:
        self._db = db

    async def run_due(self) -> int:
        return 0
