"""The dmarc check end to end against the loopback DNS server: policy, fallback, tags, reports, failures."""

from dataclasses import replace

import pytest

from checks.dmarc import parse_record
from checks.model import Finding, Status
from checks.runner import run_checks
from checks.target import Target
from knowledge.base import load


async def dmarc(settings, domain: str = "example.com") -> list[Finding]:
    report = await run_checks(Target("domain", domain), settings, only=("dmarc",))
    kb = load()
    for finding in report.findings:
        assert finding.check == "dmarc"
        assert finding.kb in kb, finding
    return report.findings


def by_kb(findings: list[Finding]) -> dict[str, Finding]:
    result = {f.kb: f for f in findings}
    assert len(result) == len(findings), findings
    return result


async def test_enforced_policy_with_own_reports_passes(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; adkim=s; rua=mailto:dmarc@example.com")
    f = by_kb(await dmarc(settings))
    assert set(f) == {"dmarc-ok"}
    ok = f["dmarc-ok"]
    assert ok.status is Status.PASS and ok.about == "_dmarc.example.com"
    assert "p=reject" in ok.summary and "adkim=s" in ok.summary
    assert ok.evidence["tags"]["p"] == "reject"
    assert not [
        q for q in dns_server.log if "._report._dmarc." in q[0]
    ]  # same domain: no authorisation query


async def test_p_none_is_monitoring_only(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=none; rua=mailto:d@example.com")
    f = by_kb(await dmarc(settings))
    assert set(f) == {"dmarc-policy-none"}
    assert f["dmarc-policy-none"].status is Status.WARN
    assert "monitoring only" in f["dmarc-policy-none"].summary


async def test_no_record_anywhere_fails(dns_server, settings):
    dns_server.add("example.com", "TXT", "v=spf1 -all")
    dns_server.add("_dmarc.example.com", "TXT", "some-verification=abc")  # not a DMARC record
    (f,) = await dmarc(settings, "mail.example.com")
    assert (f.status, f.kb) == (Status.FAIL, "dmarc-missing")
    assert "_dmarc.mail.example.com or _dmarc.example.com" in f.summary
    assert [lookup["query"] for lookup in f.evidence["lookups"]] == [
        "_dmarc.mail.example.com TXT",
        "_dmarc.example.com TXT",
    ]


async def test_subdomain_falls_back_to_the_organisational_domain(dns_server, settings):
    dns_server.add(
        "_dmarc.example.co.uk", "TXT", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:r@example.co.uk"
    )
    findings = await dmarc(settings, "a.b.example.co.uk")
    f = by_kb(findings)
    assert set(f) == {"dmarc-ok", "dmarc-subdomain-weaker"}
    ok = f["dmarc-ok"]
    assert ok.about == "_dmarc.example.co.uk"
    assert "sp=quarantine for a.b.example.co.uk" in ok.summary
    assert "organisational domain" in ok.summary
    assert ok.evidence["applies_from"] == "_dmarc.example.co.uk"
    # The fallback goes straight to the organisational domain, not through b.example.co.uk.
    asked = [name for name, rdtype, _ in dns_server.log if rdtype == "TXT"]
    assert asked == ["_dmarc.a.b.example.co.uk", "_dmarc.example.co.uk"]


async def test_subdomain_under_sp_none_is_not_protected(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; sp=none; rua=mailto:r@example.com")
    f = by_kb(await dmarc(settings, "news.example.com"))
    assert f["dmarc-policy-none"].status is Status.WARN
    assert "sp=none for news.example.com" in f["dmarc-policy-none"].summary
    assert f["dmarc-subdomain-weaker"].status is Status.WARN


async def test_own_record_wins_over_the_organisational_domain(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=none")
    dns_server.add("_dmarc.shop.example.com", "TXT", "v=DMARC1; p=quarantine; rua=mailto:d@example.com")
    f = by_kb(await dmarc(settings, "shop.example.com"))
    assert set(f) == {"dmarc-ok"}
    assert f["dmarc-ok"].about == "_dmarc.shop.example.com"
    assert not dns_server.queries_for("_dmarc.example.com")


async def test_several_records_fail(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject", "v=DMARC1; p=none")
    (f,) = await dmarc(settings)
    assert (f.status, f.kb) == (Status.FAIL, "dmarc-multiple")
    assert f.summary.startswith("2 DMARC records at _dmarc.example.com")
    assert len(f.evidence["records"]) == 2


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ("v=DMARC1; p=block", "p=block is not none"),
        ("v=DMARC1; rua=mailto:d@example.com", "no p= tag"),
        ("v=DMARC1; p=reject; pct=150", "pct=150"),
        ("v=DMARC1; p=reject; adkim=x", "adkim=x"),
        ("v=DMARC1; p=reject; sp=all", "sp=all"),
        ("p=reject; v=DMARC1", "must start with v=DMARC1"),
        ("v=DMARC1; p=reject; p=none", "appears twice"),
    ],
)
async def test_invalid_tags_fail(dns_server, settings, record, words):
    dns_server.add("_dmarc.example.com", "TXT", record)
    f = by_kb(await dmarc(settings))
    syntax = f["dmarc-syntax"]
    assert syntax.status is Status.FAIL
    assert words in syntax.summary
    assert "dmarc-ok" not in f


async def test_non_mailto_report_uris_warn(dns_server, settings):
    dns_server.add(
        "_dmarc.example.com", "TXT", "v=DMARC1; p=reject; rua=dmarc@example.com, https://r.example.com/x"
    )
    f = by_kb(await dmarc(settings))
    assert f["dmarc-syntax"].status is Status.WARN
    assert "(+1 more)" in f["dmarc-syntax"].summary
    assert f["dmarc-ok"].status is Status.PASS  # the policy itself still works
    assert f["dmarc-no-reports"].status is Status.INFO  # no usable rua address is left


async def test_partial_enforcement_warns(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=quarantine; pct=25; rua=mailto:d@example.com")
    f = by_kb(await dmarc(settings))
    assert f["dmarc-pct"].status is Status.WARN
    assert "25%" in f["dmarc-pct"].summary


async def test_missing_rua_is_information(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject")
    f = by_kb(await dmarc(settings))
    assert f["dmarc-no-reports"].status is Status.INFO
    assert f["dmarc-ok"].status is Status.PASS


async def test_reports_to_another_domain_need_its_authorisation(dns_server, settings):
    dns_server.add(
        "_dmarc.example.com",
        "TXT",
        "v=DMARC1; p=reject; rua=mailto:a@reports.example.net,mailto:b@agg.example.org!10m; "
        "ruf=mailto:f@reports.example.net; rf=afrf",
    )
    dns_server.add("*._report._dmarc.reports.example.net", "TXT", "v=DMARC1")
    findings = await dmarc(settings)
    external = {f.about: f for f in findings if f.kb == "dmarc-external-reports"}
    ok = external["example.com._report._dmarc.reports.example.net"]
    assert ok.status is Status.PASS and ok.evidence["tags"] == ["rua", "ruf"]
    missing = external["example.com._report._dmarc.agg.example.org"]
    assert missing.status is Status.WARN
    assert "agg.example.org will not receive them" in missing.summary
    assert len(dns_server.queries_for("example.com._report._dmarc.reports.example.net")) == 1


async def test_authorisation_lookup_failure_is_an_error(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; rua=mailto:a@reports.example.net")
    dns_server.fault("example.com._report._dmarc.reports.example.net", "servfail")
    f = {x.kb: x for x in await dmarc(settings)}
    assert f["dns-lookup-failed"].status is Status.ERROR
    assert f["dns-lookup-failed"].summary.startswith("could not check:")
    assert f["dmarc-ok"].status is Status.PASS


@pytest.mark.parametrize("fault", ["timeout", "servfail", "refused"])
async def test_failed_lookup_is_an_error_not_a_missing_record(dns_server, settings, fault):
    dns_server.fault("_dmarc.sub.example.com", fault)
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject")
    (f,) = await dmarc(replace(settings, dns_timeout=0.3), "sub.example.com")
    assert (f.status, f.kb) == (Status.ERROR, "dns-lookup-failed")
    assert f.summary.startswith("could not check: the lookup of _dmarc.sub.example.com failed")
    assert not dns_server.queries_for("_dmarc.example.com")  # no fallback past a failure


async def test_failed_fallback_lookup_is_an_error(dns_server, settings):
    dns_server.fault("_dmarc.example.com", "servfail")
    (f,) = await dmarc(settings, "sub.example.com")
    assert (f.status, f.kb) == (Status.ERROR, "dns-lookup-failed")
    assert "_dmarc.example.com" in f.summary


def test_parse_record_details():
    record = parse_record("v=DMARC1;p=Quarantine; pct=100 ;fo=1:d;rua=mailto:x%40y@example.com!5m;")
    assert record.p == "quarantine" and record.pct == 100
    assert not record.errors and not record.warnings
    assert record.reports == {"rua": ["example.com"]}
    assert parse_record("v=DMARC1; p=none; fo=2; ri=daily").warnings == [
        "fo=2 has options other than 0, 1, d, s",
        "ri=daily is not a number of seconds",
    ]


async def test_upper_case_tag_names_are_valid(dns_server, settings):
    # RFC 7489 §6.4: tag names are case-insensitive; only the version value is fixed as DMARC1.
    dns_server.add("_dmarc.example.com", "TXT", "V=DMARC1; P=REJECT; ADKIM=S; RUA=mailto:d@example.com")
    f = by_kb(await dmarc(settings))
    assert set(f) == {"dmarc-ok"}
    assert "p=reject" in f["dmarc-ok"].summary and "adkim=s" in f["dmarc-ok"].summary


async def test_tags_without_semicolons_say_so(dns_server, settings):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1 p=reject rua=mailto:d@example.com")
    syntax = by_kb(await dmarc(settings))["dmarc-syntax"]
    assert syntax.status is Status.FAIL
    assert "separated by ';'" in syntax.summary and "must start with" not in syntax.summary


def test_lower_case_version_is_named():
    [error] = parse_record("v=dmarc1; p=reject").errors
    assert error.startswith("v=dmarc1: the version must be written DMARC1")
    assert parse_record("v = DMARC1 ; p = reject ; ").errors == []


async def test_record_alias_left_dangling_by_an_authoritative_server_is_error(dns_server, settings):
    dns_server.serve_zones("example.com")
    dns_server.add("_dmarc.example.com", "CNAME", "_dmarc.provider.example.net")
    (f,) = await dmarc(settings)
    assert (f.status, f.kb) == (Status.ERROR, "dns-lookup-failed")  # not "no DMARC record"
    assert "_dmarc.provider.example.net" in f.summary
