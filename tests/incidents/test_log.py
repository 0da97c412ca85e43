"""`--log` support: recording a check report or diagnoses through the settings' database."""

from __future__ import annotations

from dataclasses import replace

from bot.settings import Settings
from incidents import log_diagnoses, log_report
from incidents.store import Store
from knowledge.bounce.model import BounceResult

FAILING = {
    "target": "shop.example",
    "kind": "domain",
    "findings": [
        {"check": "spf", "status": "fail", "about": "shop.example", "summary": "no SPF record", "kb": None},
        {"check": "mx", "status": "pass", "about": "shop.example", "summary": "2 MX", "kb": None},
    ],
    "elapsed_ms": 40,
}


def test_log_report(tmp_path):
    settings = replace(Settings.from_env({}), database_path=str(tmp_path / "x.db"))
    incident, created = log_report(settings, FAILING, "shop.example")
    assert created and (incident.subject, incident.receiver, incident.reason) == (
        "shop.example",
        "dns",
        "spf",
    )
    incident, created = log_report(settings, FAILING, "shop.example")
    assert not created and incident.occurrences == 2
    clean = {"target": "ok.example", "kind": "domain", "findings": [FAILING["findings"][1]]}
    assert log_report(settings, clean, "ok.example") is None
    with Store.from_settings(settings) as store:
        assert len(store.list("all")) == 1


def test_log_diagnoses(tmp_path):
    settings = replace(Settings.from_env({}), database_path=str(tmp_path / "x.db"), store_raw=False)
    results = [
        BounceResult(
            recipient="a@example.org",
            reason="blocked",
            provider="microsoft",
            ips=["81.2.69.160"],
            diagnostic="550 5.7.1 a@example.org blocked",
        ),
        BounceResult(recipient="b@example.org", reason="blocked", provider="microsoft", ips=["81.2.69.160"]),
        BounceResult(recipient="c@example.org", action="delivered"),
    ]
    logged = log_diagnoses(settings, results)
    assert [(i.id, created) for i, created in logged] == [(1, True), (1, False)]
    with Store.from_settings(settings) as store:
        assert store.timeline(1)[0].raw_text == "550 5.7.1 a***@example.org blocked"
    assert log_diagnoses(settings, [results[2]]) == []
