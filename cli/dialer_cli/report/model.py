"""What a report is made of: the API's own documents, as they came (JSON-able, so a fixture is a file)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ReportData:
    """A campaign as the API describes it, at ``generated_at``.

    ``leads`` are lead details (``GET /leads/{id}``, with ``history``: the attempts). ``stats`` is
    ``GET /campaigns/{id}/stats`` when the API has it, else None; ``assistants`` maps assistant id
    to name for the A/B table; ``caller_ids`` are the campaign's pool entries with their health.
    """

    campaign: dict[str, Any]
    progress: dict[str, Any]
    leads: list[dict[str, Any]]
    generated_at: str
    stats: dict[str, Any] | None = None
    assistants: dict[str, str] = field(default_factory=dict)
    api_url: str = ""
    # The campaign's caller IDs as ``GET /caller-ids`` shows them (with ``health``).
    caller_ids: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ReportData:
        return cls(**doc)
