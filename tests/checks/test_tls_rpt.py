"""The tls-rpt check end to end against the loopback DNS server, and its record parser."""

from __future__ import annotations

import pytest

from checks import tls_rpt
from checks.model import Status
from checks.runner import Context, make_resolver, run_checks
from checks.target import Target
from knowledge.base import load

DOMAIN = "example.com"
NAME = f"_smtp._tls.{DOMAIN}"


def context(settings) -> Context:
    return Context(Target("domain", DOMAIN), make_resolver(settings), settings)


def test_record_syntax():
    good = tls_rpt.parse_record("v=TLSRPTv1; rua=mailto:tls@example.com, https://reports.example.net/tlsrpt;")
    assert good.problems == []
    assert good.rua == ["mailto:tls@example.com", "https://reports.example.net/tlsrpt"]
    assert tls_rpt.parse_record("v=TLSRPTv1;rua=mailto:a@example.com;x-ext=1").extensions == {"x-ext": "1"}
    for text, problem in [
        ("v=TLSRPTv1", "no rua"),
        ("v=TLSRPTv1; rua=tls@example.com", "has no scheme: write mailto:"),
        ("v=TLSRPTv1; rua=http://reports.example.net/", "only to mailto: or https:"),
        ("v=TLSRPTv1; rua=mailto:", "no email address"),
        ("v=TLSRPTv1; rua=mailto:tls@", "no email address"),
        ("v=TLSRPTv1; rua=https:///path", "has no host"),
        ("v=TLSRPTv1; rua=mailto:a@example.com,", "empty URI"),
        ("v=TLSRPTv1; rua=mailto:a b@example.com", "not a URI"),
        ("v=TLSRPTv1; rua = mailto:a@example.com", "spaces around"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", "more than once"),
        ("v=tlsrptv1; rua=mailto:a@example.com", "exactly v=TLSRPTv1"),
        ("v=TLSRPTv1 rua=mailto:a@example.com", "exactly v=TLSRPTv1"),
        ("v=TLSRPTv1;; rua=mailto:a@example.com", "empty field"),
    ]:
        problems = tls_rpt.parse_record(text).problems
        assert any(problem in p for p in problems), (text, problems)


async def test_good_record_passes(dns_server, settings):
    dns_server.add(NAME, "TXT", "v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.net/v1")
    dns_server.add(NAME, "TXT", "unrelated=1")
    findings = await tls_rpt.check(context(settings))
    assert [(f.status, f.kb) for f in findings] == [(Status.PASS, "tls-rpt-ok")]
    assert findings[0].evidence["rua"] == ["mailto:tls@example.com", "https://reports.example.net/v1"]
    assert "mailto:tls@example.com" in findings[0].summary


@pytest.mark.parametrize("zone", ["nxdomain", "other-txt"])
async def test_missing_record_is_info(dns_server, settings, zone):
    dns_server.add(DOMAIN, "A", "81.2.69.160")
    if zone == "other-txt":
        dns_server.add(NAME, "TXT", "v=spf1 -all")
    findings = await tls_rpt.check(context(settings))
    assert [(f.status, f.kb) for f in findings] == [(Status.INFO, "tls-rpt-missing")]


async def test_syntax_error_fails(dns_server, settings):
    dns_server.add(NAME, "TXT", "v=TLSRPTv1; rua=tls@example.com")
    findings = await tls_rpt.check(context(settings))
    assert [(f.status, f.kb) for f in findings] == [(Status.FAIL, "tls-rpt-syntax")]
    assert "write mailto:tls@example.com" in findings[0].summary


async def test_several_records_fail(dns_server, settings):
    dns_server.add(
        NAME, "TXT", "v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"
    )
    findings = await tls_rpt.check(context(settings))
    assert [(f.status, f.kb) for f in findings] == [(Status.FAIL, "tls-rpt-syntax")]
    assert findings[0].summary.startswith("2 TLS-RPT records")


@pytest.mark.parametrize("fault", ["servfail", "timeout", "refused"])
async def test_lookup_failure_is_error_not_missing(dns_server, settings, fault):
    dns_server.fault(NAME, fault)
    report = await run_checks(Target("domain", DOMAIN), settings, only=("tls-rpt",))
    [finding] = report.findings
    assert finding.status is Status.ERROR and finding.kb == "dns-lookup-failed"
    assert finding.summary.startswith(f"could not check: the lookup of {NAME} TXT failed (")


def test_knowledge_entries_exist():
    kb = load()
    for entry_id in ("tls-rpt-missing", "tls-rpt-syntax", "tls-rpt-ok"):
        assert kb[entry_id].category == "transport" and kb[entry_id].receiver == "any"
        assert any("rfc8460" in s for s in kb[entry_id].sources)
