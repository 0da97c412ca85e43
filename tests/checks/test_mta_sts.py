"""mta-sts end to end: records from the loopback DNS server, the policy from a loopback HTTPS server."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from checks import mta_sts
from checks.http import FetchError, HttpPolicy, PinnedResolver, fetch, split_addresses
from checks.model import Status
from checks.runner import Context, make_resolver, run_checks
from checks.target import Target
from knowledge.base import load
from tests.httpsserver import HttpsTestServer, make_certificates

DOMAIN = "example.com"
POLICY_PATH = "/.well-known/mta-sts.txt"
GOOD_POLICY = "\r\n".join(
    [
        "version: STSv1",
        "mode: enforce",
        "mx: *.mail.example.com",
        "mx: backup.example.net",
        "max_age: 604800",
        "",
    ]
)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    made = make_certificates(tmp_path_factory.mktemp("tls"), ["mta-sts.example.com"])
    if made is None:
        pytest.skip("the openssl command is not installed: cannot make a test certificate")
    return made


@pytest.fixture
def web(certs):
    with HttpsTestServer(certs) as server:
        yield server


def context(settings, web=None, certs=None, domain=DOMAIN, **policy) -> Context:
    http = None
    if web is not None:
        http = HttpPolicy(allow_private=True, port=web.port, ca_file=certs.ca_file, **policy)
    return Context(Target("domain", domain), make_resolver(settings), settings, http=http)


def publish(
    dns_server, web, policy=GOOD_POLICY, mx=("10 a.mail.example.com", "20 backup.example.net"), **route
):
    dns_server.add(f"_mta-sts.{DOMAIN}", "TXT", "v=STSv1; id=20240601T1200")
    dns_server.add(f"mta-sts.{DOMAIN}", "A", "127.0.0.1")
    if mx:
        dns_server.add(DOMAIN, "MX", *mx)
    dns_server.add(DOMAIN, "TXT", "v=spf1 -all")
    web.set(POLICY_PATH, policy, **route)


def by_status(findings):
    return {(f.status, f.kb) for f in findings}


# -- parsing ---------------------------------------------------------------------------------------


def test_record_syntax():
    good = mta_sts.parse_record("v=STSv1; id=20240601T1200;")
    assert good.problems == [] and good.id == "20240601T1200"
    assert mta_sts.parse_record("v=STSv1;id=abc;ext.name=x").extensions == {"ext.name": "x"}
    for text, problem in [
        ("v=STSv1", "no id"),
        ("v=STSv1; id=2024-06-01", "letters or digits"),
        ("v=STSv1; id=" + "a" * 33, "1 to 32"),
        ("v=stsv1; id=1", "exactly v=STSv1"),
        ("v=STSv1; id = 1", "spaces around"),
        ("v=STSv1;; id=1", "empty field"),
        ("v=STSv1; id=1; id=2", "more than once"),
        ("v=STSv1 id=1", "exactly v=STSv1"),
    ]:
        problems = mta_sts.parse_record(text).problems
        assert any(problem in p for p in problems), (text, problems)


def test_policy_syntax():
    policy = mta_sts.parse_policy(GOOD_POLICY)
    assert policy.errors == [] and policy.warnings == []
    assert (policy.version, policy.mode, policy.max_age) == ("STSv1", "enforce", 604800)
    assert policy.mx == ["*.mail.example.com", "backup.example.net"]
    assert mta_sts.parse_policy("version: STSv1\nmode: none\nmax_age: 0\n").errors == []
    for text, problem in [
        ("mode: enforce\nmx: a.example.com\nmax_age: 1", "no version"),
        ("version: STSv2\nmode: enforce\nmx: a.example.com\nmax_age: 86400", "must be STSv1"),
        ("version: STSv1\nmode: strict\nmx: a.example.com\nmax_age: 86400", "enforce, testing or none"),
        ("version: STSv1\nmode: enforce\nmax_age: 86400", "no mx"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 31557601", "above the limit"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 1w", "number of seconds"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com", "no max_age"),
        ("version: STSv1\nMode: enforce\nmx: a.example.com\nmax_age: 86400", "case-sensitive"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com b.example.com\nmax_age: 86400", "not a host name"),
        ("version: STSv1\nmode: enforce\nmx: **.example.com\nmax_age: 86400", "not a host name"),
        ("<html>oops</html>", "not 'key: value'"),
    ]:
        errors = mta_sts.parse_policy(text).errors
        assert any(problem in e for e in errors), (text, errors)
    short = mta_sts.parse_policy("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 300")
    assert short.errors == [] and "only 300s" in short.warnings[0]


def test_mx_patterns_match_one_label():
    assert mta_sts.mx_matches("a.mail.example.com", "*.mail.example.com")
    assert mta_sts.mx_matches("A.Mail.Example.com.", "*.mail.example.com")
    assert not mta_sts.mx_matches("mail.example.com", "*.mail.example.com")
    assert not mta_sts.mx_matches("x.a.mail.example.com", "*.mail.example.com")
    assert mta_sts.mx_matches("mx.example.net", "mx.example.net")
    assert not mta_sts.mx_matches("mx2.example.net", "mx.example.net")


def test_addresses_that_are_not_public_are_dropped_unless_allowed():
    allowed, refused = split_addresses(["127.0.0.1", "81.2.69.160", "10.1.2.3", "::1"], HttpPolicy())
    assert allowed == ["81.2.69.160"]
    assert set(refused) == {"127.0.0.1", "10.1.2.3", "::1"} and "loopback" in refused["127.0.0.1"]
    assert split_addresses(["127.0.0.1"], HttpPolicy(allow_private=True)) == (["127.0.0.1"], {})


async def test_pinned_resolver_answers_only_for_its_host():
    resolver = PinnedResolver("mta-sts.example.com", ["81.2.69.160", "2a02:cf40::1"])
    both = await resolver.resolve("mta-sts.example.com", 443, family=socket.AF_UNSPEC)
    assert [r["host"] for r in both] == ["81.2.69.160", "2a02:cf40::1"]
    v6 = await resolver.resolve("MTA-STS.example.com.", 443, family=socket.AF_INET6)
    assert [r["host"] for r in v6] == ["2a02:cf40::1"]
    with pytest.raises(OSError, match="refusing"):
        await resolver.resolve("evil.example.net", 443)


# -- end to end --------------------------------------------------------------------------------------


async def test_no_record_is_info_and_nothing_is_fetched(dns_server, settings, web, certs):
    dns_server.add(f"_mta-sts.{DOMAIN}", "TXT", "some-verification=abc")
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.INFO, "mta-sts-missing")]
    assert web.log == [] and dns_server.queries_for(f"mta-sts.{DOMAIN}") == []


async def test_good_policy_covering_every_mx_passes(dns_server, settings, web, certs):
    publish(dns_server, web)
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.PASS, "mta-sts-ok")]
    evidence = findings[0].evidence
    assert evidence["mx_hosts"] == {
        "a.mail.example.com": "*.mail.example.com",
        "backup.example.net": "backup.example.net",
    }
    assert evidence["fetch"]["connected_to"] == "127.0.0.1"
    # The address came from our resolver (the system's knows nothing of this zone); SNI and Host are the name.
    assert {q[1] for q in dns_server.queries_for(f"mta-sts.{DOMAIN}")} == {"A", "AAAA"}
    assert web.log == [
        {"host": f"mta-sts.{DOMAIN}:{web.port}", "sni": f"mta-sts.{DOMAIN}", "path": POLICY_PATH}
    ]


async def test_mx_outside_the_policy_fails_in_enforce_mode(dns_server, settings, web, certs):
    publish(dns_server, web, mx=("10 a.mail.example.com", "20 x.a.mail.example.com", "30 mx.example.org"))
    findings = await mta_sts.check(context(settings, web, certs))
    failed = sorted(f.about for f in findings if f.status is Status.FAIL)
    assert failed == ["mx.example.org", "x.a.mail.example.com"]
    assert all(f.kb == "mta-sts-mx-mismatch" for f in findings)
    assert not any(f.status is Status.PASS for f in findings)


async def test_testing_mode_is_info_and_uncovered_mx_warns(dns_server, settings, web, certs):
    policy = GOOD_POLICY.replace("enforce", "testing")
    publish(dns_server, web, policy=policy, mx=("10 a.mail.example.com", "20 mx.example.org"))
    findings = await mta_sts.check(context(settings, web, certs))
    assert by_status(findings) == {(Status.INFO, "mta-sts-testing"), (Status.WARN, "mta-sts-mx-mismatch")}
    assert next(f for f in findings if f.status is Status.WARN).about == "mx.example.org"


async def test_mode_none_is_info(dns_server, settings, web, certs):
    publish(dns_server, web, policy="version: STSv1\nmode: none\nmax_age: 86400\n")
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.INFO, "mta-sts-testing")]


async def test_domain_without_mx_is_compared_as_its_own_mx(dns_server, settings, web, certs):
    publish(dns_server, web, policy=GOOD_POLICY.replace("backup.example.net", DOMAIN), mx=())
    findings = await mta_sts.check(context(settings, web, certs))
    assert [f.status for f in findings] == [Status.PASS]
    assert findings[0].evidence["mx_hosts"] == {DOMAIN: DOMAIN}


async def test_invalid_policy_fails_and_short_max_age_warns(dns_server, settings, web, certs):
    publish(dns_server, web, policy="version: STSv1\nmode: enforce\nmax_age: 86400\n")
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.FAIL, "mta-sts-policy-invalid")]
    assert "no mx field" in findings[0].summary

    web.set(POLICY_PATH, GOOD_POLICY.replace("604800", "600"))
    findings = await mta_sts.check(context(settings, web, certs))
    assert by_status(findings) == {(Status.WARN, "mta-sts-policy-invalid"), (Status.PASS, "mta-sts-ok")}


async def test_wrong_content_type_only_warns(dns_server, settings, web, certs):
    publish(dns_server, web, content_type="text/html")
    findings = await mta_sts.check(context(settings, web, certs))
    assert by_status(findings) == {(Status.WARN, "mta-sts-policy-fetch"), (Status.PASS, "mta-sts-ok")}


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ({"status": 404}, "HTTP 404"),
        (
            {"status": 301, "headers": {"Location": "https://www.example.com/mta-sts.txt"}},
            "redirect to https://www",
        ),
        (
            {"status": 200, "body": b"mx: a.example.com\n" * 5000},
            "declares 90000 bytes, more than the 65536 allowed",
        ),
        ({"status": 200, "body": b"mx: a.example.com\n" * 5000, "chunked": True}, "larger than 65536 bytes"),
    ],
    ids=["404", "redirect", "too-large", "too-large-chunked"],
)
async def test_a_bad_answer_is_could_not_fetch(dns_server, settings, web, certs, route, expected):
    publish(dns_server, web)
    web.set(POLICY_PATH, route.pop("body", GOOD_POLICY), **route)
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.ERROR, "mta-sts-policy-fetch")]
    assert findings[0].summary.startswith("could not fetch the policy:")
    assert expected in findings[0].summary
    assert len(web.log) == 1  # the redirect was not followed


async def test_server_down_is_error_not_missing(dns_server, settings, web, certs):
    publish(dns_server, web)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    ctx = context(settings, web, certs)
    ctx.http = replace(ctx.http, port=port)
    findings = await mta_sts.check(ctx)
    assert [f.status for f in findings] == [Status.ERROR]
    assert "could not connect" in findings[0].summary


async def test_slow_server_times_out(dns_server, settings, web, certs):
    publish(dns_server, web, delay=5.0)
    findings = await mta_sts.check(context(settings, web, certs, timeout=0.5))
    assert [f.status for f in findings] == [Status.ERROR]
    assert "no answer from mta-sts.example.com within 0.5s" in findings[0].summary


async def test_certificate_for_another_name_is_refused(dns_server, settings, web, certs):
    other = "example.net"
    dns_server.add(f"_mta-sts.{other}", "TXT", "v=STSv1; id=1")
    dns_server.add(f"mta-sts.{other}", "A", "127.0.0.1")
    web.set(POLICY_PATH, GOOD_POLICY)
    findings = await mta_sts.check(context(settings, web, certs, domain=other))
    assert [f.status for f in findings] == [Status.ERROR]
    assert "certificate" in findings[0].summary and web.log == []


async def test_policy_host_without_address_is_could_not_fetch(dns_server, settings, web, certs):
    dns_server.add(f"_mta-sts.{DOMAIN}", "TXT", "v=STSv1; id=1")
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.ERROR, "mta-sts-policy-fetch")]
    assert "has no address" in findings[0].summary


async def test_production_policy_refuses_a_loopback_policy_host(dns_server, settings):
    dns_server.add(f"_mta-sts.{DOMAIN}", "TXT", "v=STSv1; id=1")
    dns_server.add(f"mta-sts.{DOMAIN}", "A", "127.0.0.1")
    dns_server.add(f"mta-sts.{DOMAIN}", "AAAA", "::1")
    report = await run_checks(Target("domain", DOMAIN), settings, only=("mta-sts",))
    [finding] = report.findings
    assert finding.status is Status.ERROR and finding.kb == "mta-sts-policy-fetch"
    assert "not a public address" in finding.summary
    assert finding.evidence["fetch"]["refused_addresses"].keys() == {"127.0.0.1", "::1"}
    assert "http_status" not in finding.evidence["fetch"]


async def test_fetch_refuses_private_addresses_before_connecting(dns_server, settings):
    dns_server.add("mta-sts.example.org", "A", "10.0.0.1")
    with pytest.raises(FetchError, match="not a public address"):
        await fetch(make_resolver(settings), "mta-sts.example.org", POLICY_PATH, HttpPolicy())


@pytest.mark.parametrize("fault", ["timeout", "servfail"])
async def test_record_lookup_failure_is_error(dns_server, settings, web, certs, fault):
    dns_server.fault(f"_mta-sts.{DOMAIN}", fault)
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.ERROR, "dns-lookup-failed")]
    assert findings[0].summary.startswith(f"could not check: the lookup of _mta-sts.{DOMAIN} TXT failed (")
    assert web.log == []


async def test_mx_lookup_failure_is_error(dns_server, settings, web, certs):
    publish(dns_server, web)
    dns_server.fault(DOMAIN, "servfail", rdtype="MX")
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.ERROR, "dns-lookup-failed")]
    assert "MX lookup failed (server failure (SERVFAIL))" in findings[0].summary


async def test_several_or_broken_records_fail_without_fetching(dns_server, settings, web, certs):
    dns_server.add(f"_mta-sts.{DOMAIN}", "TXT", "v=STSv1; id=1", "v=STSv1; id=2")
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.FAIL, "mta-sts-syntax")]
    dns_server.set(f"_mta-sts.{DOMAIN}", "TXT", "v=STSv1; id=not-valid!")
    findings = await mta_sts.check(context(settings, web, certs))
    assert [(f.status, f.kb) for f in findings] == [(Status.FAIL, "mta-sts-syntax")]
    assert web.log == []


def test_knowledge_entries_exist():
    kb = load()
    for entry_id in (
        "mta-sts-missing",
        "mta-sts-syntax",
        "mta-sts-policy-fetch",
        "mta-sts-policy-invalid",
        "mta-sts-mx-mismatch",
        "mta-sts-testing",
        "mta-sts-ok",
    ):
        assert kb[entry_id].category == "transport" and kb[entry_id].receiver == "any"
        assert any("rfc8461" in s for s in kb[entry_id].sources)
