"""The bimi check end to end against the loopback DNS server: absence, syntax, DMARC enforcement, failures."""

from dataclasses import replace

import pytest

from checks.bimi import parse_record
from checks.model import Finding, Status
from checks.runner import run_checks
from checks.target import Target
from knowledge.base import load

GOOD = "v=BIMI1; l=https://brand.example.com/logo.svg; a=https://brand.example.com/vmc.pem"


async def bimi(settings, domain: str = "example.com", only: tuple[str, ...] = ("bimi",)) -> list[Finding]:
    report = await run_checks(Target("domain", domain), settings, only=only)
    kb = load()
    for finding in report.findings:
        assert finding.kb in kb, finding
    return [f for f in report.findings if f.check == "bimi"]


async def test_no_record_is_information_only(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject")
    (f,) = await bimi(settings)
    assert (f.status, f.kb) == (Status.INFO, "bimi-missing")
    assert f.about == "default._bimi.example.com"


async def test_good_record_under_enforced_dmarc_passes(dns_server, settings):
    dns_server.add("default._bimi.example.com", "TXT", GOOD)
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=quarantine; rua=mailto:d@example.com")
    (f,) = await bimi(settings)
    assert (f.status, f.kb) == (Status.PASS, "bimi-ok")
    assert f.evidence["tags"]["l"] == "https://brand.example.com/logo.svg"
    assert f.evidence["dmarc"]["policy"] == "quarantine"


async def test_dmarc_is_asked_once_per_run_with_the_dmarc_check(dns_server, settings):
    dns_server.add("default._bimi.example.com", "TXT", GOOD)
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; rua=mailto:d@example.com")
    findings = await bimi(settings, only=("bimi", "dmarc"))
    assert [f.status for f in findings] == [Status.PASS]
    assert len(dns_server.queries_for("_dmarc.example.com")) == 1


@pytest.mark.parametrize(
    ("dmarc", "words"),
    [
        (None, "no usable DMARC record"),
        ("v=DMARC1; p=none", "DMARC is p=none"),
        ("v=DMARC1; p=reject; pct=50", "pct=50"),
        ("v=DMARC1; p=reject; sp=none", "sp=none"),
    ],
)
async def test_bimi_needs_dmarc_enforcement(dns_server, settings, dmarc, words):
    dns_server.add("default._bimi.example.com", "TXT", GOOD)
    if dmarc:
        dns_server.add("_dmarc.example.com", "TXT", dmarc)
    (f,) = await bimi(settings)
    assert (f.status, f.kb) == (Status.WARN, "bimi-needs-enforcement")
    assert words in f.summary


async def test_subdomain_uses_the_organisational_records(dns_server, settings):
    dns_server.add("default._bimi.example.com", "TXT", GOOD)
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; sp=quarantine")
    (f,) = await bimi(settings, "news.example.com")
    assert (f.status, f.kb) == (Status.PASS, "bimi-ok")
    assert f.about == "default._bimi.example.com"
    assert f.evidence["dmarc"]["policy"] == "quarantine"


@pytest.mark.parametrize(
    ("record", "status", "words"),
    [
        (
            "v=BIMI1; l=http://brand.example.com/logo.svg; a=https://brand.example.com/vmc.pem",
            Status.FAIL,
            "https",
        ),
        ("v=BIMI1; l=https://brand.example.com/logo.png; a=https://b.example.com/v.pem", Status.WARN, ".svg"),
        ("v=BIMI1; l=https://brand.example.com/logo.svg", Status.WARN, "no mark certificate"),
        ("v=BIMI1; a=https://brand.example.com/vmc.pem", Status.FAIL, "no logo"),
        ("v=BIMI1; l=https://brand.example.com/logo.svg; a=ftp://x.example.com/v.pem", Status.FAIL, "a=ftp"),
        ("l=https://brand.example.com/logo.svg; v=BIMI1", Status.FAIL, "must start with v=BIMI1"),
    ],
)
async def test_record_syntax(dns_server, settings, record, status, words):
    dns_server.add("default._bimi.example.com", "TXT", record)
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject")
    (f,) = await bimi(settings)
    assert (f.status, f.kb) == (status, "bimi-syntax")
    assert words in f.summary


async def test_several_records_fail(dns_server, settings):
    dns_server.add("default._bimi.example.com", "TXT", GOOD, "v=BIMI1; l=https://x.example.com/y.svg")
    (f,) = await bimi(settings)
    assert (f.status, f.kb) == (Status.FAIL, "bimi-syntax")
    assert f.summary.startswith("2 BIMI records")


async def test_declination_record_is_information(dns_server, settings):
    dns_server.add("default._bimi.example.com", "TXT", "v=BIMI1; l=; a=;")
    (f,) = await bimi(settings)
    assert (f.status, f.kb) == (Status.INFO, "bimi-missing")
    assert "declines" in f.summary


@pytest.mark.parametrize("fault", ["timeout", "servfail"])
async def test_failed_lookup_is_an_error(dns_server, settings, fault):
    dns_server.fault("default._bimi.example.com", fault)
    (f,) = await bimi(replace(settings, dns_timeout=0.3))
    assert (f.status, f.kb) == (Status.ERROR, "dns-lookup-failed")
    assert f.summary.startswith("could not check: the lookup of default._bimi.example.com failed")


async def test_failed_dmarc_lookup_makes_enforcement_unknown(dns_server, settings):
    dns_server.add("default._bimi.example.com", "TXT", GOOD)
    dns_server.fault("_dmarc.example.com", "servfail")
    (f,) = await bimi(settings)
    assert (f.status, f.kb) == (Status.ERROR, "dns-lookup-failed")
    assert f.summary.startswith("could not check: whether DMARC is enforced")


def test_parse_record_accepts_whitespace_and_trailing_semicolon():
    record = parse_record(" v=BIMI1 ;  l = https://b.example.com/l.svg ; a=https://b.example.com/v.pem ; ")
    assert not record.issues and record.tags["l"] == "https://b.example.com/l.svg"
