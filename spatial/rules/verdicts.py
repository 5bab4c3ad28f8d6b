"""Verdicts of a project check, ranked as the catalogue orders them (``[verdicts]``: worst first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

__all__ = ["Verdicts"]


@dataclass(frozen=True)
class Verdicts:
    """The verdict vocabulary of a catalogue.

    Parameters
    ----------
    order : tuple of str
        Verdict ids, worst first (``prohibited`` … ``no_conflict``); the last is the verdict of no conflict.
    labels : mapping
        Bilingual label per verdict id (``禁止 Prohibited``).
    fallback : mapping
        Verdict per layer ``rule_class`` when none of a kind's rules names the project type.

    Examples
    --------
    >>> v = Verdicts(("prohibited", "allowed", "no_conflict"), {}, {})
    >>> v.worst(["allowed", "no_conflict"])
    'allowed'
    """

    order: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    fallback: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_table(cls, raw: Mapping[str, Any]) -> "Verdicts":
        return cls(order=tuple(raw["order"]), labels=dict(raw.get("labels", {})), fallback=dict(raw.get("fallback", {})))

    @property
    def none(self) -> str:
        """The verdict of a project that touches no constraint (``no_conflict``)."""
        return self.order[-1]

    @property
    def rank(self) -> dict[str, int]:
        """Verdict id -> rank, 0 for no conflict, growing with severity (best first, as a table sorts)."""
        return {v: i for i, v in enumerate(reversed(self.order))}

    @property
    def ascending(self) -> tuple[str, ...]:
        """Verdict ids from no conflict to the worst."""
        return tuple(reversed(self.order))

    def label(self, verdict: str) -> str:
        return self.labels.get(verdict, verdict)

    def worst(self, verdicts: Iterable[str]) -> str:
        """The most severe of ``verdicts`` (no conflict for none)."""
        rank = self.rank
        return max(verdicts, key=lambda v: rank.get(v, 0), default=self.none)

    def for_rule_class(self, rule_class: str) -> str:
        return self.fallback.get(rule_class, "needs_approval")
