"""The RFC 7208 conformance suite through our SPF path: each scenario's zone served by a real DNS server.

Every test's host, mailfrom and helo go through `checks.spf_eval.evaluate`, the function the `spf`
check uses for `--ip`, so the suite exercises our resolver (TXT strings joined, TCP on truncation,
timeouts mapped to temperror) as well as pyspf.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from checks.dns import Resolver
from checks.spf_eval import evaluate
from tests.dnsserver import DnsTestServer

yaml = pytest.importorskip("yaml", reason="pyyaml (a dev dependency) reads the suite")

SUITE_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "spf-suite"
SUITE = SUITE_DIR / "rfc7208-tests.yml"
TIMEOUT = 0.3  # seconds per query: TIMEOUT scenarios stay fast
# Types a resolver may ask for; a TIMEOUT name stays silent for every type it does not list first.
_QUERY_TYPES = ("A", "AAAA", "MX", "TXT", "SPF", "PTR", "CNAME", "NS", "ANY")

# Tests where pyspf 2.0.14 itself gives another result than the suite, with the reason.
PYSPF_DISAGREES: dict[str, str] = {}


@dataclass
class Zone:
    """One scenario's DNS world in the suite driver's conventions."""

    records: list[tuple[str, str, object]] = field(default_factory=list)  # (name, type, value)
    silent: list[tuple[str, str | None]] = field(default_factory=list)  # (name, type or None = all)


def load_zone(zonedata: dict) -> Zone:
    """Translate the suite's zonedata into records and timeouts.

    The suite's conventions (its header and pyspf's driver): an `SPF` record is also published as
    TXT unless the name lists TXT itself; `NONE` (or an empty list of strings) publishes nothing;
    a bare `TIMEOUT` makes every query for the name time out, except for types whose records are
    listed before it.
    """
    zone = Zone()
    for raw_name, entries in (zonedata or {}).items():
        # The test server keys names by their presentation form, where a space is written \032.
        name = raw_name.replace(" ", "\\032")
        answered: set[str] = set()
        has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
        spf_as_txt = []
        timed_out = False
        for entry in entries:
            if entry == "TIMEOUT":
                if not timed_out:
                    timed_out = True
                    if answered:
                        zone.silent.extend((name, t) for t in _QUERY_TYPES if t not in answered)
                    else:
                        zone.silent.append((name, None))
                continue
            for rdtype, value in entry.items():
                if not timed_out and value != "NONE":
                    answered.add(rdtype)
                if value == "TIMEOUT":
                    zone.silent.append((name, rdtype))
                    continue
                if value == "NONE" or value == []:
                    continue  # an empty character-string list cannot go on the wire; drivers skip it
                zone.records.append((name, rdtype, value))
                if rdtype == "SPF" and not has_txt:
                    spf_as_txt.append(value)
        zone.records.extend((name, "TXT", value) for value in spf_as_txt)
    return zone


def _scenarios() -> list[dict]:
    if not SUITE.exists():
        return []
    with SUITE.open("rb") as fh:
        return list(yaml.safe_load_all(fh))


SCENARIOS = _scenarios()
CASES = [
    pytest.param(
        index,
        test_id,
        marks=[pytest.mark.xfail(reason=PYSPF_DISAGREES[test_id], strict=True)]
        if test_id in PYSPF_DISAGREES
        else [],
        id=test_id,
    )
    for index, scenario in enumerate(SCENARIOS)
    for test_id in scenario["tests"]
]


@pytest.fixture(scope="module")
def scenario_servers():
    """One DNS server per scenario, started when its first test runs and stopped with the module."""
    servers: dict[int, DnsTestServer] = {}

    def get(index: int) -> DnsTestServer:
        if index not in servers:
            zone = load_zone(SCENARIOS[index].get("zonedata"))
            server = DnsTestServer().start()
            for name, rdtype, value in zone.records:
                server.add(name, rdtype, value)
            for name, rdtype in zone.silent:
                server.fault(name, "timeout", rdtype=rdtype)
            servers[index] = server
        return servers[index]

    yield get
    for server in servers.values():
        server.stop()


@pytest.mark.skipif(not SUITE.exists(), reason=f"RFC 7208 suite not found at {SUITE_DIR} (../shared absent)")
@pytest.mark.parametrize(("scenario", "test_id"), CASES)
async def test_rfc7208(scenario_servers, scenario: int, test_id: str):
    test = SCENARIOS[scenario]["tests"][test_id]
    server = scenario_servers(scenario)
    resolver = Resolver([server.address], timeout=TIMEOUT)
    got = await evaluate(
        resolver,
        test["host"],
        test.get("mailfrom") or "",
        test.get("helo") or "",
        default_explanation="DEFAULT",
    )
    expected = test["result"] if isinstance(test["result"], list) else [test["result"]]
    assert got.result in expected, f"{test_id} ({test.get('spec')}): {got.result}, problem {got.problem}"
    if "explanation" in test:
        assert got.explanation == test["explanation"]


def test_suite_is_present_or_skipped_with_reason():
    if not SUITE.exists():
        pytest.skip(f"RFC 7208 suite not found at {SUITE_DIR} (../shared absent)")
    assert len(CASES) == sum(len(s["tests"]) for s in SCENARIOS) > 200
