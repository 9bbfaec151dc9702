"""Parents' and guardians' decisions about a child's record, kept in full: who, which rules, when."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class Consent:
    child_id: int
    person_id: int
    decision: str
    rules_version: str
    decided_at: str


class ConsentsRepository(Repository):
    async def record(self, consent: Consent) -> None:
        await self._write(
            "INSERT INTO consents (child_id, person_id, decision, rules_version, decided_at) VALUES (?, ?, ?, ?, ?)",
            (consent.child_id, consent.person_id, consent.decision, consent.rules_version, consent.decided_at))

    async def latest(self, child_id: int) -> list[Consent]:
        """Each person's latest decision about this child."""
        rows = await self._all(
            "SELECT child_id, person_id, decision, rules_version, decided_at FROM consents c WHERE child_id = ? "
            "AND id = (SELECT MAX(id) FROM consents WHERE child_id = c.child_id AND person_id = c.person_id)",
            (child_id,))
        return [Consent(r["child_id"], r["person_id"], r["decision"], r["rules_version"], r["decided_at"])
                for r in rows]
