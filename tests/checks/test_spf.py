"""The `spf` check end to end against the loopback DNS server: records, trees, limits, faults and --ip."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from checks.model import Status
from checks.runner import run_checks
from checks.spf import parse_record
from checks.target import Target
from knowledge.base import load

DOMAIN = "example.com"
IP = "81.2.69.160"
OTHER_IP = "89.160.20.112"


async def spf(settings, domain: str = DOMAIN, ip: str | None = None):
    report = await run_checks(Target("domain", domain), settings, ip=ip, only=("spf",))
    for finding in report.findings:
        assert finding.check == "spf"
        assert finding.kb is None or finding.kb in load(), finding.kb
    return report.findings


def by_kb(findings, kb: str):
    return [f for f in findings if f.kb == kb]


def only(findings, kb: str):
    matches = by_kb(findings, kb)
    assert len(matches) == 1, [(f.status, f.kb, f.summary) for f in findings]
    return matches[0]


def statuses(findings) -> set[Status]:
    return {f.status for f in findings}


# -- a good record ------------------------------------------------------------------------------------


async def test_good_record_passes_with_record_and_count(dns_server, settings):
    record = f"v=spf1 ip4:{IP} a:mail.example.com mx include:_spf.provider.example -all"
    dns_server.add(DOMAIN, "TXT", "google-site-verification=abc", record)
    dns_server.add(DOMAIN, "MX", "10 mx.example.com")
    dns_server.add("mail.example.com", "A", IP)
    dns_server.add("_spf.provider.example", "TXT", "v=spf1 ip4:89.160.20.0/24 ip6:2a02:cf40::/48 ~all")
    findings = await spf(settings)
    assert [f.status for f in findings] == [Status.PASS]
    ok = only(findings, "spf-ok")
    assert ok.about == DOMAIN
    assert ok.evidence["record"] == record
    assert ok.evidence["lookups"] == 3  # a, mx, include; ip4 costs none
    assert "3 of 10" in ok.summary and "-all" in ok.summary
    include = ok.evidence["tree"]["includes"][0]
    assert include["name"] == "_spf.provider.example" and include["lookups"] == 0


async def test_softfail_all_is_a_pass_that_says_softfail(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", f"v=spf1 ip4:{IP} ~all")
    findings = await spf(settings)
    assert statuses(findings) == {Status.PASS}
    assert "softfail" in only(findings, "spf-ok").summary


async def test_redirect_supplies_the_all(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 redirect=_spf.example.com")
    dns_server.add("_spf.example.com", "TXT", f"v=spf1 ip4:{IP} -all")
    findings = await spf(settings)
    assert statuses(findings) == {Status.PASS}
    assert only(findings, "spf-ok").evidence["lookups"] == 1


# -- presence -----------------------------------------------------------------------------------------


async def test_missing_record_fails(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "google-site-verification=abc", "v=spf10 -all")
    findings = await spf(settings)
    missing = only(findings, "spf-missing")
    assert missing.status is Status.FAIL
    assert sorted(missing.evidence["lookup"]["answer"]) == ["google-site-verification=abc", "v=spf10 -all"]
    assert len(findings) == 1


async def test_domain_without_txt_fails_missing(dns_server, settings):
    dns_server.add(DOMAIN, "A", IP)
    findings = await spf(settings)
    assert only(findings, "spf-missing").status is Status.FAIL


async def test_multiple_records_fail(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", f"v=spf1 ip4:{IP} -all", "v=spf1 include:_spf.provider.example ~all")
    findings = await spf(settings)
    multiple = only(findings, "spf-multiple")
    assert multiple.status is Status.FAIL and "permerror" in multiple.summary
    assert len(multiple.evidence["records"]) == 2


# -- syntax and policy --------------------------------------------------------------------------------


async def test_syntax_error_names_the_term(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", f"v=spf1 ip4:{IP} ip4:81.2.69.300 include:_spf.example.com -all")
    dns_server.add("_spf.example.com", "TXT", "v=spf1 ip6:2a02:cf40::/129 exists:%{x}.example.com -all")
    findings = await spf(settings)
    syntax = {f.about: f for f in by_kb(findings, "spf-syntax")}
    assert syntax[DOMAIN].status is Status.FAIL
    assert "ip4:81.2.69.300" in syntax[DOMAIN].summary
    included = syntax["_spf.example.com"]
    assert any("ip6:2a02:cf40::/129" in e for e in included.evidence["errors"])
    assert any("exists:%{x}.example.com" in e for e in included.evidence["errors"])
    assert not by_kb(findings, "spf-ok")


async def test_plus_all_fails_and_question_all_warns(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 +all")
    dns_server.add("neutral.example", "TXT", f"v=spf1 ip4:{IP} ?all")
    loose = only(await spf(settings), "spf-permissive-all")
    assert loose.status is Status.FAIL and "+all" in loose.summary
    neutral = await spf(settings, "neutral.example")
    assert only(neutral, "spf-permissive-all").status is Status.WARN
    assert only(neutral, "spf-ok").status is Status.PASS  # valid, but neutral for strangers


async def test_no_all_and_no_redirect_warns(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", f"v=spf1 ip4:{IP}")
    finding = only(await spf(settings), "spf-no-all")
    assert finding.status is Status.WARN and "neutral" in finding.summary


async def test_include_that_ends_plus_all_fails(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 include:open.provider.example -all")
    dns_server.add("open.provider.example", "TXT", "v=spf1 +all")
    finding = only(await spf(settings), "spf-permissive-all")
    assert finding.status is Status.FAIL and finding.about == "open.provider.example"


async def test_ptr_mechanism_warns(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 ptr:example.com -all")
    finding = only(await spf(settings), "spf-ptr-mechanism")
    assert finding.status is Status.WARN and finding.evidence["terms"] == ["ptr:example.com"]


async def test_broad_ranges_warn_only_in_the_domains_own_records(dns_server, settings):
    dns_server.add(
        DOMAIN, "TXT", "v=spf1 ip4:81.0.0.0/8 ip6:2a02::/16 ip4:89.160.0.0/16 include:big.cloud.example -all"
    )
    dns_server.add("big.cloud.example", "TXT", "v=spf1 ip4:40.92.0.0/15 -all")
    findings = await spf(settings)
    broad = only(findings, "spf-broad-range")
    assert broad.status is Status.WARN and broad.about == DOMAIN
    assert broad.evidence["terms"] == ["ip4:81.0.0.0/8", "ip6:2a02::/16"]


async def test_zero_prefix_is_like_plus_all(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 ip4:0.0.0.0/0 -all")
    assert only(await spf(settings), "spf-permissive-all").status is Status.FAIL


# -- limits -------------------------------------------------------------------------------------------


def _over_limit_tree(server) -> None:
    # 12 lookups: own mx (1) + include:a (1 + 6) + include:b (1 + 3)
    server.add(DOMAIN, "TXT", "v=spf1 include:a.example.net include:b.example.net mx -all")
    server.add(DOMAIN, "MX", "10 mx.example.com")
    server.add("a.example.net", "TXT", "v=spf1 include:a1.example.net include:a2.example.net a -all")
    server.add("a.example.net", "A", OTHER_IP)
    server.add("a1.example.net", "TXT", "v=spf1 a:out.example.net mx:example.net -all")
    server.add("out.example.net", "A", OTHER_IP)
    server.add("example.net", "MX", "10 out.example.net")
    server.add("a2.example.net", "TXT", "v=spf1 a -all")
    server.add("a2.example.net", "AAAA", "2a02:cf40::1")
    server.add("b.example.net", "TXT", "v=spf1 a:out.example.net include:b1.example.net -all")
    server.add("b1.example.net", "TXT", "v=spf1 a:out.example.net -all")


async def test_over_limit_tree_fails_with_counts_per_include(dns_server, settings):
    _over_limit_tree(dns_server)
    findings = await spf(settings)
    over = only(findings, "spf-too-many-lookups")
    assert over.status is Status.FAIL
    assert over.evidence["lookups"] == 12
    assert "12 DNS lookups" in over.summary
    assert "include:a.example.net 7" in over.summary and "include:b.example.net 4" in over.summary
    tree = over.evidence["tree"]
    assert (tree["lookups"], tree["subtotal"]) == (3, 12)
    a, b = tree["includes"]
    assert (a["name"], a["lookups"], a["subtotal"]) == ("a.example.net", 3, 6)
    assert [(c["name"], c["lookups"], c["subtotal"]) for c in a["includes"]] == [
        ("a1.example.net", 2, 2),
        ("a2.example.net", 1, 1),
    ]
    assert (b["lookups"], b["subtotal"]) == (2, 3)
    assert not by_kb(findings, "spf-void-lookups")  # every name in the tree resolves
    # Level by level: both first-level includes are asked before any second-level one.
    txt = [name for name, rdtype, _ in dns_server.log if rdtype == "TXT"]
    assert max(txt.index("a.example.net"), txt.index("b.example.net")) < min(
        txt.index("a1.example.net"), txt.index("a2.example.net"), txt.index("b1.example.net")
    )


async def test_include_loop_is_detected(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 include:loop1.example.net -all")
    dns_server.add("loop1.example.net", "TXT", "v=spf1 include:loop2.example.net -all")
    dns_server.add("loop2.example.net", "TXT", "v=spf1 include:loop1.example.net -all")
    findings = await spf(settings)
    loop = only(findings, "spf-too-many-lookups")
    assert loop.status is Status.FAIL and "loop" in loop.summary
    assert loop.about == "loop2.example.net" and loop.evidence["loop"] == "loop1.example.net"
    assert len(dns_server.queries_for("loop1.example.net")) == 1


async def test_redirect_to_itself_is_a_loop_whatever_the_case(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 redirect=Example.COM.")
    findings = await spf(settings)
    loop = only(findings, "spf-too-many-lookups")
    assert loop.about == DOMAIN and loop.evidence["loop"] == DOMAIN
    assert not by_kb(findings, "spf-no-all")


async def test_a_long_include_chain_stays_bounded(dns_server, settings):
    for i in range(30):
        dns_server.add(f"c{i}.example.net", "TXT", f"v=spf1 include:c{i + 1}.example.net -all")
    dns_server.add(DOMAIN, "TXT", "v=spf1 include:c0.example.net -all")
    findings = await spf(settings)
    assert only(findings, "spf-too-many-lookups").evidence["lookups"] > 10
    assert not dns_server.queries_for("c20.example.net")


async def test_include_of_name_without_spf_fails(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 include:nospf.example.net include:gone.example.net -all")
    dns_server.add("nospf.example.net", "TXT", "some other text")
    findings = await spf(settings)
    missing = {f.about: f for f in by_kb(findings, "spf-include-missing")}
    assert set(missing) == {"nospf.example.net", "gone.example.net"}
    assert all(f.status is Status.FAIL for f in missing.values())
    assert "NXDOMAIN" in missing["gone.example.net"].summary


async def test_more_than_two_void_lookups_fail(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 a:gone1.example.com a:gone2.example.com mx:gone3.example.com -all")
    dns_server.add(DOMAIN, "A", IP)
    findings = await spf(settings)
    void = only(findings, "spf-void-lookups")
    assert void.status is Status.FAIL
    assert [v["term"] for v in void.evidence["void_lookups"]] == [
        "a:gone1.example.com",
        "a:gone2.example.com",
        "mx:gone3.example.com",
    ]


async def test_two_void_lookups_are_allowed(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", f"v=spf1 a:gone1.example.com a:gone2.example.com ip4:{IP} -all")
    assert not by_kb(await spf(settings), "spf-void-lookups")


async def test_more_than_ten_mx_names_fail(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 mx -all")
    dns_server.add(DOMAIN, "MX", *(f"{i} mx{i}.example.com" for i in range(11)))
    finding = only(await spf(settings), "spf-too-many-lookups")
    assert finding.status is Status.FAIL and "11 MX hosts" in finding.summary


async def test_large_record_is_fetched_over_tcp(dns_server, settings):
    record = "v=spf1 " + " ".join(f"ip4:81.2.{i}.0/24" for i in range(120)) + " -all"
    dns_server.add(DOMAIN, "TXT", record)
    findings = await spf(settings)
    assert only(findings, "spf-ok").evidence["record"] == record
    assert {t for _, _, t in dns_server.queries_for(DOMAIN)} == {"udp", "tcp"}


# -- lookups that fail are "could not check", never "no SPF" --------------------------------------------


@pytest.mark.parametrize("fault", ["timeout", "servfail", "refused"])
async def test_failed_spf_lookup_is_an_error(dns_server, settings, fault):
    dns_server.fault(DOMAIN, fault)
    findings = await spf(replace(settings, dns_timeout=0.3))
    assert [(f.status, f.kb) for f in findings] == [(Status.ERROR, "dns-lookup-failed")]
    assert findings[0].summary.startswith("could not check")


@pytest.mark.parametrize("fault", ["timeout", "servfail"])
async def test_failed_include_lookup_is_an_error(dns_server, settings, fault):
    dns_server.add(DOMAIN, "TXT", f"v=spf1 ip4:{IP} include:slow.provider.example -all")
    dns_server.fault("slow.provider.example", fault)
    findings = await spf(replace(settings, dns_timeout=0.3))
    error = only(findings, "dns-lookup-failed")
    assert error.status is Status.ERROR and error.about == "slow.provider.example"
    assert not by_kb(findings, "spf-include-missing") and not by_kb(findings, "spf-void-lookups")
    assert Status.FAIL not in statuses(findings)


async def test_failed_address_lookup_of_a_term_is_an_error_not_void(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "v=spf1 a:broken.example.com a:gone1.example.com a:gone2.example.com -all")
    dns_server.fault("broken.example.com", "servfail")
    findings = await spf(settings)
    assert only(findings, "dns-lookup-failed").about == "broken.example.com"
    assert not by_kb(findings, "spf-void-lookups")


# -- --ip: the result a receiver would compute ------------------------------------------------------------


def _ip_zone(server, ending: str = "-all") -> None:
    server.add(DOMAIN, "TXT", f"v=spf1 ip4:{IP} include:_spf.provider.example {ending}")
    server.add("_spf.provider.example", "TXT", "v=spf1 ip6:2a02:cf40::/48 -all")


async def test_ip_pass(dns_server, settings):
    _ip_zone(dns_server)
    findings = await spf(settings, ip=IP)
    result = next(f for f in findings if f.about == IP)
    assert result.status is Status.PASS and result.kb == "spf-ok"
    assert result.evidence["result"] == "pass" and result.evidence["mechanism"] == f"ip4:{IP}"
    six = next(f for f in await spf(settings, ip="2a02:cf40::1") if f.about == "2a02:cf40::1")
    assert six.evidence["result"] == "pass"


async def test_ip_fail(dns_server, settings):
    _ip_zone(dns_server)
    findings = await spf(settings, ip=OTHER_IP)
    result = only(findings, "spf-ip-not-authorised")
    assert (result.status, result.about, result.evidence["result"]) == (Status.FAIL, OTHER_IP, "fail")
    assert result.evidence["sender"] == f"postmaster@{DOMAIN}"


async def test_ip_softfail_and_neutral_warn(dns_server, settings):
    _ip_zone(dns_server, "~all")
    soft = only(await spf(settings, ip=OTHER_IP), "spf-ip-not-authorised")
    assert (soft.status, soft.evidence["result"]) == (Status.WARN, "softfail")


async def test_ip_none_fails(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "unrelated")
    findings = await spf(settings, ip=IP)
    result = next(f for f in findings if f.about == IP)
    assert (result.status, result.kb, result.evidence["result"]) == (Status.FAIL, "spf-missing", "none")


async def test_ip_permerror_over_the_limit(dns_server, settings):
    _over_limit_tree(dns_server)
    result = next(f for f in await spf(settings, ip=IP) if f.about == IP)
    assert (result.status, result.kb, result.evidence["result"]) == (
        Status.FAIL,
        "spf-too-many-lookups",
        "permerror",
    )


async def test_ip_temperror_when_an_include_times_out(dns_server, settings):
    _ip_zone(dns_server)
    dns_server.fault("_spf.provider.example", "timeout")
    findings = await spf(replace(settings, dns_timeout=0.3), ip=OTHER_IP)
    result = next(f for f in findings if f.about == OTHER_IP)
    assert (result.status, result.evidence["result"]) == (Status.ERROR, "temperror")
    assert result.summary.startswith("could not check")
    assert Status.FAIL not in statuses(findings)


async def test_ip_evaluation_shares_the_runs_lookups(dns_server, settings):
    _over_limit_tree(dns_server)
    await spf(settings, ip=OTHER_IP)
    asked = Counter((name, rdtype) for name, rdtype, transport in dns_server.log if transport == "udp")
    assert asked and max(asked.values()) == 1, asked


# -- the parser ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "bad"),
    [
        ("v=spf1 include:example.net, -all", "include:example.net,"),
        ("v=spf1 ip4:81.2.69.0/33", "ip4:81.2.69.0/33"),
        ("v=spf1 a:example.com/24/64", "a:example.com/24/64"),
        ("v=spf1 foo:bar -all", "foo:bar"),
        ("v=spf1 -all:x", "-all:x"),
        ("v=spf1 exists:%{i}.%{q}.example.com", "exists:%{i}.%{q}.example.com"),
        ("v=spf1 redirect=a.example redirect=b.example", "redirect=b.example"),
        ("v=spf1 a:mail\texample.com", "a:mail\\texample.com"),
        ("v=spf1 include:localhost", "include:localhost"),
    ],
)
def test_parser_rejects(record, bad):
    errors = parse_record(record).errors
    assert errors and bad in errors[0]


def test_parser_accepts_real_world_terms():
    parsed = parse_record(
        "v=spf1 ip4:81.2.69.0/24 ip6:2a02:cf40::/48 a mx:example.com/24//64 include:_spf.google.com "
        "exists:%{i}._spf.%{d} ~all exp=explain._spf.%{d} unknown-mod=x"
    )
    assert parsed.errors == [] and parsed.warnings == []
    assert [t.kind for t in parsed.terms if t.queries_dns] == ["a", "mx", "include", "exists"]
    assert parse_record("v=spf1 include=_spf.example.com -all").warnings  # '=' for ':' is ignored


@pytest.mark.parametrize(
    ("record", "words"),
    [
        (" v=spf1 ip4:81.2.69.160 -all", "starts with a space"),
        ('"v=spf1 ip4:81.2.69.160 -all"', "wrapped in quotes"),
        ("v=spf1ip4:81.2.69.160 -all", "no space after v=spf1"),
        ("v = spf1 ip4:81.2.69.160 -all", "spaces around '='"),
    ],
)
async def test_a_record_almost_spf_is_missing_and_says_why(dns_server, settings, record, words):
    dns_server.add(DOMAIN, "TXT", record, "google-site-verification=abc")
    missing = only(await spf(settings), "spf-missing")
    assert missing.status is Status.FAIL
    assert words in missing.summary and "receivers ignore it" in missing.summary


async def test_upper_case_and_padded_records_are_spf(dns_server, settings):
    dns_server.add(DOMAIN, "TXT", "V=SPF1   IP4:81.2.69.160   -ALL   ")
    findings = await spf(settings, ip="81.2.69.160")
    assert statuses(findings) == {Status.PASS}


async def test_include_left_dangling_by_an_authoritative_server_is_error(dns_server, settings):
    dns_server.serve_zones(DOMAIN)
    dns_server.add(DOMAIN, "TXT", f"v=spf1 include:spf.{DOMAIN} -all")
    dns_server.add(f"spf.{DOMAIN}", "CNAME", "spf.esp.example.net")  # out of the served zone
    findings = await spf(settings, ip="81.2.69.160")
    assert statuses(findings) == {Status.ERROR}  # not "include has no SPF record", not permerror
    assert any("spf.esp.example.net" in f.summary for f in findings)
