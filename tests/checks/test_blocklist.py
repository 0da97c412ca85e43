"""The `blocklist` check end to end against the loopback DNS server, with lists emulated as zones."""

import json
from dataclasses import replace

import pytest

from checks import blocklist
from checks.blocklist import LISTS, read, zones
from checks.model import Status
from checks.runner import run_checks
from checks.target import Target
from tests.conftest import run_cli_json

IP = "81.2.69.160"
REV = "160.69.2.81"
ZONE = "bl.test-rbl.example"  # a list the code knows nothing about: read by RFC 5782 convention


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """A fresh test-point cache per test, on a clock the test moves."""
    clock = Clock()
    blocklist.TEST_POINTS.reset()
    monkeypatch.setattr(blocklist.TEST_POINTS, "clock", clock)
    yield clock
    blocklist.TEST_POINTS.reset()


def ip_list(server, zone, listed=("127.0.0.2",), clean_listed=()):
    """A zone that passes its test points (unless told otherwise)."""
    if listed:
        server.add(f"2.0.0.127.{zone}", "A", *listed)
    if clean_listed:
        server.add(f"1.0.0.127.{zone}", "A", *clean_listed)


def sent_test_points(server, zone):
    return [q for q in server.log if q[0].endswith(f"0.0.127.{zone}")]


async def run(settings, target=IP, ip=None, ip_lists=(), domain_lists=()):
    settings = replace(settings, blocklists_ip=ip_lists, blocklists_domain=domain_lists)
    kind = "ip" if target[0].isdigit() else "domain"
    report = await run_checks(Target(kind, target), settings, ip=ip, only=("blocklist",))
    return report.findings


async def answered(server, settings, zone, answer, listed=("127.0.0.2",)):
    """The one finding about IP when `zone` (passing its test points) answers `answer` for it."""
    ip_list(server, zone, listed=listed)
    server.add(f"{REV}.{zone}", "A", answer)
    [finding] = await run(settings, ip_lists=(zone,))
    return finding


async def test_listed_ip_fails_with_txt_reason_and_delisting_page(dns_server, settings):
    ip_list(dns_server, ZONE)
    ip_list(dns_server, "bl.spamcop.net")
    dns_server.add(f"{REV}.bl.spamcop.net", "A", "127.0.0.2")
    dns_server.add(
        f"{REV}.bl.spamcop.net", "TXT", "Blocked - see https://www.spamcop.net/bl.shtml?81.2.69.160"
    )
    findings = await run(settings, ip_lists=(ZONE, "bl.spamcop.net"))
    [listed] = [f for f in findings if f.status is Status.FAIL]
    assert listed.kb == "blocklist-ip-listed" and "SpamCop" in listed.summary
    assert listed.evidence["reason"] == ["Blocked - see https://www.spamcop.net/bl.shtml?81.2.69.160"]
    assert listed.evidence["delist"] == "https://www.spamcop.net/bl.shtml"
    assert listed.evidence["query"] == f"{REV}.bl.spamcop.net A"
    [clean] = [f for f in findings if f.status is Status.PASS]
    assert "not listed on 1 of 2" in clean.summary and ZONE in clean.summary


async def test_txt_is_only_asked_when_listed(dns_server, settings):
    ip_list(dns_server, ZONE)
    [finding] = await run(settings, ip_lists=(ZONE,))
    assert finding.status is Status.PASS and finding.kb == "blocklist-clean"
    assert not [q for q in dns_server.log if q[1] == "TXT"]


async def test_zen_codes_are_read_exactly(dns_server, settings):
    test_points = ("127.0.0.2", "127.0.0.4", "127.0.0.10")
    finding = await answered(dns_server, settings, "zen.spamhaus.org", "127.0.0.4", listed=test_points)
    assert finding.status is Status.FAIL
    assert finding.evidence["meaning"] == {"127.0.0.4": "XBL: compromised or exploited host"}


async def test_pbl_alone_is_a_policy_warning(dns_server, settings):
    finding = await answered(dns_server, settings, "zen.spamhaus.org", "127.0.0.10")
    assert finding.status is Status.WARN and finding.kb == "blocklist-policy-listed"
    assert "end-user" in finding.summary


async def test_uceprotect_level_3_is_information(dns_server, settings):
    finding = await answered(dns_server, settings, "dnsbl-3.uceprotect.net", "127.0.0.2")
    assert finding.status is Status.INFO and "network" in finding.summary


async def test_refusal_code_is_error_never_listed(dns_server, settings):
    finding = await answered(dns_server, settings, "zen.spamhaus.org", "127.255.255.254")
    assert finding.status is Status.ERROR and finding.kb == "blocklist-refused"
    assert "resolver not allowed" in finding.summary


async def test_answer_outside_documented_codes_is_error(dns_server, settings):
    ip_list(dns_server, "zen.spamhaus.org")
    ip_list(dns_server, ZONE)
    dns_server.add(f"{REV}.zen.spamhaus.org", "A", "127.0.0.99")
    dns_server.add(f"{REV}.{ZONE}", "A", "10.0.0.2")  # an NXDOMAIN-rewriting resolver's landing page, say
    findings = await run(settings, ip_lists=("zen.spamhaus.org", ZONE))
    assert [f.status for f in findings] == [Status.ERROR, Status.ERROR]
    assert all("outside" in f.summary and "not read as a listing" in f.summary for f in findings)


def test_reading_bitmasks_and_refusals():
    surbl, uribl = LISTS["multi.surbl.org"], LISTS["multi.uribl.com"]
    assert read(surbl, ("127.0.0.80",)).meanings == {"127.0.0.80": "MW: malware + ABUSE: spam"}
    assert read(surbl, ("127.0.0.1",)).state == "refused"
    test_point = read(uribl, ("127.0.0.14",)).meanings["127.0.0.14"]
    assert test_point == "black + grey (may be legitimate bulk mail) + red (newly seen)"
    assert read(uribl, ("127.0.0.255",)).state == "unexpected"
    assert read(uribl, ("127.0.0.33",)).state == "unexpected"  # bit 1 and an undocumented bit 32
    dbl = LISTS["dbl.spamhaus.org"]
    assert read(dbl, ("127.0.1.255",)).state == "refused"
    assert read(dbl, ("127.0.0.2",)).state == "unexpected"  # an IP list's code from a domain list


async def test_domain_lists(dns_server, settings):
    dns_server.add("dbltest.com.dbl.spamhaus.org", "A", "127.0.1.2")
    dns_server.add("test.uribl.com.multi.uribl.com", "A", "127.0.0.14")
    dns_server.add("shop.example.dbl.spamhaus.org", "A", "127.0.1.4")
    dns_server.add(
        "shop.example.dbl.spamhaus.org", "TXT", "https://www.spamhaus.org/query/domain/shop.example"
    )
    dns_server.add("shop.example.multi.uribl.com", "A", "127.0.0.6")
    findings = await run(settings, "shop.example", domain_lists=("dbl.spamhaus.org", "multi.uribl.com"))
    listed = {f.evidence["list"]: f for f in findings}
    assert {f.status for f in findings} == {Status.FAIL}
    assert all(f.kb == "blocklist-domain-listed" for f in findings)
    assert "phishing" in listed["dbl.spamhaus.org"].summary
    assert "spamhaus.org/query" in listed["dbl.spamhaus.org"].summary
    assert listed["multi.uribl.com"].evidence["meaning"] == {
        "127.0.0.6": "black + grey (may be legitimate bulk mail)"
    }


async def test_domain_check_with_ip_checks_both(dns_server, settings):
    ip_list(dns_server, ZONE)
    dns_server.add("dbltest.com.dbl.spamhaus.org", "A", "127.0.1.2")
    findings = await run(
        settings, "mail.shop.example", ip=IP, domain_lists=("dbl.spamhaus.org",), ip_lists=(ZONE,)
    )
    assert sorted(f.about for f in findings) == sorted(["mail.shop.example", "shop.example", IP])
    assert {f.status for f in findings} == {Status.PASS}


async def test_list_failing_its_test_points_is_unusable_and_not_trusted(dns_server, settings):
    dns_server.add(f"{REV}.{ZONE}", "A", "127.0.0.2")  # says "listed", but 127.0.0.2 is not listed
    [finding] = await run(settings, ip_lists=(ZONE,))
    assert finding.status is Status.ERROR and finding.kb == "blocklist-unusable"
    assert "unusable from this resolver" in finding.summary and finding.about == ZONE


async def test_list_that_lists_everything_is_unusable(dns_server, settings):
    dns_server.add(f"*.{ZONE}", "A", "127.0.0.2")
    [finding] = await run(settings, ip_lists=(ZONE,))
    assert finding.status is Status.ERROR and "lists everything" in finding.summary


async def test_test_point_refusal_reports_the_list_once(dns_server, settings):
    dns_server.add("*.multi.uribl.com", "A", "127.0.0.1")
    findings = await run(settings, "mail.shop.example", domain_lists=("multi.uribl.com",))
    [finding] = findings  # two domains asked, one finding about the list
    assert finding.status is Status.ERROR and finding.kb == "blocklist-refused"
    assert finding.about == "multi.uribl.com" and "resolver not allowed" in finding.summary


async def test_test_points_are_cached_for_an_hour(dns_server, settings, clock):
    ip_list(dns_server, ZONE)
    await run(settings, ip_lists=(ZONE,))
    assert len(sent_test_points(dns_server, ZONE)) == 2
    clock.now += 3599
    await run(settings, ip_lists=(ZONE,))
    assert len(sent_test_points(dns_server, ZONE)) == 2  # the second run sent none
    assert len(dns_server.queries_for(f"{REV}.{ZONE}")) == 2  # but did ask about the IP
    clock.now += 2
    await run(settings, ip_lists=(ZONE,))
    assert len(sent_test_points(dns_server, ZONE)) == 4


async def test_failed_test_point_lookup_is_not_cached(dns_server, settings):
    ip_list(dns_server, ZONE)
    dns_server.fault(f"2.0.0.127.{ZONE}", "servfail")
    [finding] = await run(settings, ip_lists=(ZONE,))
    assert finding.status is Status.ERROR and "could not" in finding.summary
    dns_server.clear_faults()
    [finding] = await run(settings, ip_lists=(ZONE,))
    assert finding.status is Status.PASS


async def test_timeout_is_error_not_clean(dns_server, settings):
    ip_list(dns_server, ZONE)
    dns_server.fault(f"{REV}.{ZONE}", "timeout")
    [finding] = await run(settings, ip_lists=(ZONE,))
    assert finding.status is Status.ERROR and finding.kb == "dns-lookup-failed"
    assert "timed out" in finding.summary


async def test_retired_lists_are_not_queried(dns_server, settings):
    [finding] = await run(settings, ip_lists=("dnsbl.sorbs.net",))
    assert finding.status is Status.ERROR and "2024" in finding.summary
    assert not dns_server.log


def test_dqs_key_moves_spamhaus_to_dqs(settings):
    keyed = replace(settings, spamhaus_dqs_key="k3y", blocklists_ip=("zen.spamhaus.org", "bl.spamcop.net"))
    assert [(z.query, z.shown) for z in zones(keyed, "ip")] == [
        ("k3y.zen.dq.spamhaus.net", "zen.dq.spamhaus.net"),
        ("bl.spamcop.net", "bl.spamcop.net"),
    ]
    added = replace(keyed, blocklists_ip=("bl.spamcop.net",))
    assert [z.query for z in zones(added, "ip")] == ["bl.spamcop.net", "k3y.zen.dq.spamhaus.net"]
    assert zones(replace(keyed, blocklists_ip=()), "ip") == []  # an empty list stays empty
    assert [z.query for z in zones(replace(settings, blocklists_ip=("zen.dq.spamhaus.net",)), "ip")] == []
    embedded = replace(
        settings, blocklists_ip=("k3y.dbl.dq.spamhaus.net",), blocklists_domain=("k3y.dbl.dq.spamhaus.net",)
    )
    [dbl] = zones(embedded, "domain")
    assert (dbl.query, dbl.shown, dbl.secret) == ("k3y.dbl.dq.spamhaus.net", "dbl.dq.spamhaus.net", "k3y")
    assert zones(embedded, "ip") == []


async def test_dqs_key_is_masked(dns_server, settings):
    key = "s3cretdqskey0123456789"
    zone = f"{key}.zen.dq.spamhaus.net"
    ip_list(dns_server, zone)
    dns_server.add(f"{REV}.{zone}", "A", "127.0.0.2")
    dns_server.add(f"{REV}.{zone}", "TXT", f"listed, queried via {key}")
    keyed = replace(settings, spamhaus_dqs_key=key)
    findings = await run(keyed, ip_lists=("zen.spamhaus.org",))
    [finding] = findings
    assert finding.status is Status.FAIL and "Spamhaus ZEN (DQS)" in finding.summary
    assert key not in json.dumps([f.to_dict() for f in findings])
    assert dns_server.queries_for(f"{REV}.{zone}")  # the key did go into the query


def test_dqs_key_is_masked_in_cli_output(dns_server):
    key = "s3cretdqskey0123456789"
    zone = f"{key}.zen.dq.spamhaus.net"
    dns_server.add(f"2.0.0.127.{zone}", "A", "127.0.0.2")
    dns_server.add(f"{REV}.{zone}", "A", "127.255.255.251")
    proc, data = run_cli_json(
        "check", IP, server=dns_server, SPAMHAUS_DQS_KEY=key, BLOCKLISTS_IP="zen.spamhaus.org"
    )
    assert key not in proc.stdout and key not in proc.stderr
    [finding] = [f for f in data["findings"] if f["check"] == "blocklist"]
    assert finding["status"] == "error" and "DQS key was rejected" in finding["summary"]
    assert proc.returncode == 1


async def test_a_listing_on_an_unknown_list_names_its_code_once(dns_server, settings):
    finding = await answered(dns_server, settings, ZONE, "127.0.0.3")
    assert finding.status is Status.FAIL
    assert f"listed on {ZONE} (127.0.0.3 listed)" in finding.summary  # was "(127.0.0.3 listed (127.0.0.3))"
