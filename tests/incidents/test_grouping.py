"""Naming and grouping: the subject rule, the window, and observations from diagnoses and check reports."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from incidents.grouping import subject_for
from incidents.model import Observation
from knowledge.bounce.model import BounceResult
from tests.incidents.conftest import observation


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # An IP named in the bounce wins, whatever the reason.
        (
            {"reason": "userunknown", "ips": ["81.2.69.160"], "recipient": "bob@example.org"},
            ("81.2.69.160", "ip"),
        ),
        ({"reason": "blocked", "ips": ["not-an-ip", "2a02:cf40::1"]}, ("2a02:cf40::1", "ip")),
        # Sender-side reasons name the sending domain: from the sender, else the domains named.
        (
            {"reason": "authfailure", "sender": "news@Mail.Shop.example", "recipient": "bob@example.org"},
            ("mail.shop.example", "sending-domain"),
        ),
        (
            {"reason": "spamdetected", "domains": ["shop.example"], "recipient": "bob@example.org"},
            ("shop.example", "sending-domain"),
        ),
        ({"reason": "requireptr", "sender": "a@shop.example"}, ("shop.example", "sending-domain")),
        # Anything else names the recipient's domain.
        (
            {"reason": "mailboxfull", "sender": "news@shop.example", "recipient": "bob@Example.org"},
            ("example.org", "recipient-domain"),
        ),
        ({"reason": "undefined"}, ("unknown", "unknown")),
    ],
)
def test_subject_rule(fields, expected):
    assert subject_for(**fields) == expected


def test_same_key_within_the_window_adds_occurrences(store, clock):
    first, created = store.record(observation())
    assert created and first.occurrences == 1
    clock.advance(hours=23, minutes=59)
    again, created = store.record(observation(reporter="U2"))
    assert (again.id, created, again.occurrences) == (first.id, False, 2)
    assert again.last_seen == clock.now and again.first_seen == first.first_seen
    timeline = store.timeline(first.id)
    assert [(e.kind, e.actor) for e in timeline] == [("created", "U1"), ("seen_again", "U2")]


def test_window_counts_from_the_last_sighting(store, clock):
    first, _ = store.record(observation())
    for _ in range(3):  # seen every 20 hours: it stays one incident
        clock.advance(hours=20)
        assert store.record(observation())[0].id == first.id
    clock.advance(hours=24, seconds=1)  # silence longer than the window: a new incident
    later, created = store.record(observation())
    assert created and later.id != first.id
    assert store.get(first.id).occurrences == 4


def test_window_is_configurable(db_path, clock):
    from incidents.store import Store

    with Store.open(db_path, clock=clock, window=3600) as store:
        store.record(observation())
        clock.advance(minutes=61)
        assert store.record(observation())[1] is True


@pytest.mark.parametrize(
    "change",
    [
        {"workspace": "T2"},
        {"receiver": "google"},
        {"reason": "spamdetected"},
        {"subject": "89.160.20.112"},
    ],
)
def test_a_different_key_opens_another_incident(store, change):
    first, _ = store.record(observation(workspace="T1"))
    other, created = store.record(observation(**({"workspace": "T1"} | change)))
    assert created and other.id != first.id


def test_resolved_incidents_are_not_grouped_into(store, clock):
    first, _ = store.record(observation())
    store.set_status(first.id, "resolved", actor="U1")
    clock.advance(minutes=10)
    second, created = store.record(observation())
    assert created and second.id != first.id
    assert store.earlier_incident(second).id == first.id


def test_investigating_incidents_are_grouped_into(store):
    first, _ = store.record(observation())
    store.set_status(first.id, "investigating", actor="U1")
    assert store.record(observation())[0].id == first.id


def test_grouping_ignores_case_and_merges_knowledge(store):
    store.record(observation(subject="Shop.Example", receiver="Microsoft", kb_ids=["a"]))
    again, created = store.record(
        observation(subject="shop.example", receiver="microsoft", kb_ids=["b", "a"])
    )
    assert not created and again.kb_ids == ["a", "b"] and again.subject == "shop.example"


@dataclass
class FakeMatch:  # the shape of a knowledge match: an object holding an entry with an id
    entry: object


@dataclass
class FakeEntry:
    id: str


@dataclass
class Diagnosis:
    recipient: str | None
    reply_code: str | None
    enhanced_code: str | None
    reason: str
    provider: str | None
    ips: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    sender: str | None = None
    diagnostic: str = ""
    kb_matches: list[object] = field(default_factory=list)


def test_observation_from_a_diagnosis_object():
    diagnosis = Diagnosis(
        recipient="jane.doe@outlook.example",
        reply_code="550",
        enhanced_code="5.7.1",
        reason="blocked",
        provider="microsoft",
        ips=["81.2.69.160"],
        diagnostic="550 5.7.1 Service unavailable; Client host [81.2.69.160] blocked",
        kb_matches=[FakeMatch(FakeEntry("ms-s3150")), "ms-snds", FakeMatch(FakeEntry("ms-s3150"))],
    )
    obs = Observation.from_diagnosis(diagnosis, workspace="T1", channel="C1", thread_ts="1.2", reporter="U1")
    assert (obs.subject, obs.subject_kind, obs.receiver, obs.reason) == (
        "81.2.69.160",
        "ip",
        "microsoft",
        "blocked",
    )
    assert (obs.reply_code, obs.enhanced_code, obs.kb_ids) == ("550", "5.7.1", ["ms-s3150", "ms-snds"])
    assert obs.raw_text == diagnosis.diagnostic
    assert (obs.workspace, obs.channel, obs.thread_ts, obs.reporter) == ("T1", "C1", "1.2", "U1")


def test_observation_from_a_diagnosis_json_dict_and_a_bounce_result():
    as_json = {
        "result": BounceResult(
            recipient="bob@example.org", reason="authfailure", provider="google", sender="news@shop.example"
        ).to_dict(),
        "kb_matches": [{"entry": {"id": "dmarc-fail"}}, {"id": "spf-fail"}],
    }
    obs = Observation.from_diagnosis(as_json)
    assert (obs.subject, obs.receiver, obs.reason, obs.kb_ids) == (
        "shop.example",
        "google",
        "authfailure",
        ["dmarc-fail", "spf-fail"],
    )
    plain = Observation.from_diagnosis(BounceResult(recipient="bob@example.org", reason="mailboxfull"))
    assert (plain.subject, plain.receiver) == ("example.org", "unknown")
    assert not Observation.is_problem(BounceResult(action="delivered"))
    assert Observation.is_problem({"action": "failed"})


def test_observation_from_a_check_report():
    report = {
        "target": "Shop.Example",
        "kind": "domain",
        "findings": [
            {
                "check": "dmarc",
                "status": "warn",
                "about": "shop.example",
                "summary": "p=none",
                "kb": "dmarc-none",
            },
            {
                "check": "spf",
                "status": "fail",
                "about": "shop.example",
                "summary": "no SPF record",
                "kb": "spf-missing",
            },
            {"check": "mx", "status": "pass", "about": "shop.example", "summary": "2 MX", "kb": None},
        ],
    }
    obs = Observation.from_report(report)
    assert (obs.subject, obs.receiver, obs.reason, obs.source) == ("shop.example", "dns", "spf", "check")
    assert obs.kb_ids == ["dmarc-none", "spf-missing"]
    assert obs.raw_text == "spf: no SPF record"
    clean = Observation.from_report({"target": "x.example", "findings": [{"check": "mx", "status": "pass"}]})
    assert clean.reason == "ok"
