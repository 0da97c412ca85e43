"""`--log` for the CLI: record what `check` or `diagnose` found in the incident log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from incidents.model import Incident, Observation
from incidents.store import Store

if TYPE_CHECKING:
    from bot.settings import Settings


def log_report(
    settings: Settings, report_dict: Mapping[str, Any], target: str | None = None, *, reporter: str = "cli"
) -> tuple[Incident, bool] | None:
    """Record a check run (subject: the target, receiver: `dns`, reason: the worst finding's check).

    Returns (incident, created), or None when no finding failed, errored or warned: a clean check
    is not an incident.
    """
    obs = Observation.from_report(report_dict, target=target, reporter=reporter)
    if obs.reason == "ok":
        return None
    with Store.from_settings(settings) as store:
        return store.record(obs)


def log_diagnoses(
    settings: Settings, diagnoses: Iterable[Any], *, reporter: str = "cli", raw_text: str | None = None
) -> list[tuple[Incident, bool]]:
    """Record each diagnosed failure (delivery reports and auto-replies are skipped), in order."""
    observations = [
        Observation.from_diagnosis(d, reporter=reporter, raw_text=raw_text)
        for d in diagnoses
        if Observation.is_problem(d)
    ]
    if not observations:
        return []
    with Store.from_settings(settings) as store:
        return [store.record(obs) for obs in observations]
