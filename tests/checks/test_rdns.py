"""The `rdns` check end to end against the loopback DNS server: PTR, forward confirmation, names."""

import pytest

from checks.dns import reverse_name
from checks.model import Status
from checks.rdns import generic_reason, provider_of
from checks.runner import run_checks
from checks.target import Target

IP = "81.2.69.160"
IP2 = "89.160.20.112"
IP6 = "2a02:cf40::1"


def ptr(server, ip, *names):
    server.add(reverse_name(ip), "PTR", *names)


async def rdns(settings, target, ip=None):
    kind = "ip" if target[0].isdigit() or ":" in target else "domain"
    report = await run_checks(Target(kind, target), settings, ip=ip, only=("rdns",))
    return report.findings


async def test_ptr_forward_confirmed_passes(dns_server, settings):
    ptr(dns_server, IP, "mail.example.com")
    dns_server.add("mail.example.com", "A", IP)
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.PASS and finding.kb == "ptr-ok"
    assert "mail.example.com" in finding.summary
    assert finding.evidence["ptr"]["query"] == "160.69.2.81.in-addr.arpa PTR"


async def test_missing_ptr_fails(dns_server, settings):
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.FAIL and finding.kb == "ptr-missing"


async def test_ptr_whose_name_points_elsewhere_fails(dns_server, settings):
    ptr(dns_server, IP, "mail.example.com")
    dns_server.add("mail.example.com", "A", IP2)
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.FAIL and finding.kb == "ptr-not-fcrdns"
    assert IP2 in finding.summary


async def test_ptr_whose_name_does_not_exist_fails(dns_server, settings):
    ptr(dns_server, IP, "gone.example.com")
    dns_server.add("example.com", "A", IP2)
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.FAIL and "does not resolve" in finding.summary


async def test_one_confirming_name_among_several_is_enough(dns_server, settings):
    ptr(dns_server, IP, "old.example.com", "mail.example.com")
    dns_server.add("mail.example.com", "A", IP)
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.PASS and "mail.example.com" in finding.summary


async def test_generic_name_warns(dns_server, settings):
    ptr(dns_server, IP, "81-2-69-160.dyn.isp.example.net")
    dns_server.add("81-2-69-160.dyn.isp.example.net", "A", IP)
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.WARN and finding.kb == "ptr-generic"
    assert "digits" in finding.evidence["generic"]["reason"]


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("81-2-69-160.static.isp.example", True),
        ("160.69.2.81.rev.isp.example", True),
        ("host081002069160.isp.example", True),
        ("ec2-81-2-69-160.compute-1.amazonaws.com", True),
        ("pool-44.dsl.isp.example", True),
        ("cpe-abc.cable.isp.example", True),
        ("ppp12.isp.example", True),
        ("mail.example.com", False),
        ("smtp-out-2.example.com", False),
        ("liverpool.example.com", False),  # "pool" inside a word is not the word
        ("dsl.example", False),  # the registered domain itself says nothing about the host
        ("mx-160.example.com", False),
    ],
)
def test_generic_names(name, generic):
    assert (generic_reason(name, IP) is not None) is generic


def test_generic_ipv6_name():
    assert generic_reason("2a02-cf40--1.pool.isp.example", IP6) is not None
    assert generic_reason("mail6.example.com", IP6) is None


def test_providers():
    assert provider_of("alt1.aspmx.l.google.com") == "Google"
    assert provider_of("example-com.mail.protection.outlook.com") == "Microsoft 365"
    assert provider_of("mx0a-001.pphosted.com") == "Proofpoint"
    assert provider_of("inbound-smtp.eu-west-1.amazonaws.com") == "Amazon SES"
    assert provider_of("ec2-81-2-69-160.compute-1.amazonaws.com") is None
    assert provider_of("notgoogle.com") is None


async def test_ptr_servfail_is_error_not_missing(dns_server, settings):
    dns_server.fault(reverse_name(IP), "servfail")
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.ERROR and finding.kb == "dns-lookup-failed"
    assert "SERVFAIL" in finding.summary


async def test_forward_timeout_is_error_not_mismatch(dns_server, settings):
    ptr(dns_server, IP, "mail.example.com")
    dns_server.fault("mail.example.com", "timeout")
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.ERROR and "mail.example.com failed (timed out)" in finding.summary


async def test_ipv6_ptr(dns_server, settings):
    ptr(dns_server, IP6, "mail6.example.com")
    dns_server.add("mail6.example.com", "AAAA", IP6)
    [finding] = await rdns(settings, IP6)
    assert finding.status is Status.PASS
    assert finding.evidence["ptr"]["query"].endswith(".0.4.f.c.2.0.a.2.ip6.arpa PTR")
    assert dns_server.queries_for("mail6.example.com") == [("mail6.example.com", "AAAA", "udp")]


def self_hosted(server, ptr_name="mail.example.com"):
    server.add("example.com", "MX", "10 mail.example.com")
    server.add("mail.example.com", "A", IP)
    ptr(server, IP, ptr_name)
    if ptr_name != "mail.example.com":
        server.add(ptr_name, "A", IP)


async def test_domain_mx_addresses_in_the_domain_pass(dns_server, settings):
    self_hosted(dns_server)
    [finding] = await rdns(settings, "example.com")
    assert finding.status is Status.PASS and "in example.com" in finding.summary
    assert "MX host mail.example.com" in finding.summary


async def test_domain_mx_ptr_outside_the_domain_warns(dns_server, settings):
    self_hosted(dns_server, "server7.hoster.example")
    [finding] = await rdns(settings, "example.com")
    assert finding.status is Status.WARN and finding.kb == "ptr-domain-mismatch"


async def test_hosted_mx_is_info(dns_server, settings):
    dns_server.add("example.com", "MX", "1 aspmx.l.google.com", "5 alt1.aspmx.l.google.com")
    dns_server.add("aspmx.l.google.com", "A", IP)
    dns_server.add("alt1.aspmx.l.google.com", "A", IP2)
    dns_server.add("alt1.aspmx.l.google.com", "AAAA", IP6)
    for ip, name in ((IP, "wa-in-f26.1e100.net"), (IP2, "wb-in-f27.1e100.net"), (IP6, "wc-in-x1b.1e100.net")):
        ptr(dns_server, ip, name)
        dns_server.add(name, "AAAA" if ":" in ip else "A", ip)
    findings = await rdns(settings, "example.com")
    assert sorted(f.about for f in findings) == sorted([IP, IP2, IP6])
    assert {(f.status, f.kb) for f in findings} == {(Status.INFO, "ptr-hosted")}
    assert all(f.evidence["provider"] == "Google" for f in findings)


async def test_third_party_mx_whose_ptr_names_its_operator_is_info(dns_server, settings):
    dns_server.add("example.com", "MX", "10 mx1.mailhost.example")
    dns_server.add("mx1.mailhost.example", "A", IP)
    ptr(dns_server, IP, "out1.mailhost.example")
    dns_server.add("out1.mailhost.example", "A", IP)
    [finding] = await rdns(settings, "example.com")
    assert finding.status is Status.INFO and finding.evidence["provider"] == "mailhost.example"


async def test_no_mx_checks_the_domain_address(dns_server, settings):
    dns_server.add("example.com", "A", IP)
    ptr(dns_server, IP, "example.com")
    [finding] = await rdns(settings, "example.com")
    assert finding.status is Status.PASS and finding.about == IP


async def test_mx_lookup_failure_is_error(dns_server, settings):
    dns_server.fault("example.com", "servfail", rdtype="MX")
    [finding] = await rdns(settings, "example.com")
    assert finding.status is Status.ERROR and "MX lookup failed (" in finding.summary


async def test_sending_ip_compared_with_the_domain(dns_server, settings):
    dns_server.add("example.com", "MX", "0 .")
    ptr(dns_server, IP, "mta.other.example")
    dns_server.add("mta.other.example", "A", IP)
    [finding] = await rdns(settings, "example.com", ip=IP)
    assert finding.status is Status.WARN and finding.kb == "ptr-domain-mismatch"
    assert "sending IP" in finding.summary and "Proofpoint" in finding.summary


async def test_sending_ip_of_a_known_provider_is_info(dns_server, settings):
    dns_server.add("example.com", "MX", "0 .")
    ptr(dns_server, IP, "o1.ptr1234.sendgrid.net")
    dns_server.add("o1.ptr1234.sendgrid.net", "A", IP)
    [finding] = await rdns(settings, "example.com", ip=IP)
    assert finding.status is Status.INFO and finding.evidence["provider"] == "SendGrid"


async def test_sending_ip_shared_with_an_mx_host_is_checked_once(dns_server, settings):
    self_hosted(dns_server)
    findings = await rdns(settings, "example.com", ip=IP)
    assert len(findings) == 1 and findings[0].status is Status.PASS
    assert "sending IP" in findings[0].summary
    assert len(dns_server.queries_for(reverse_name(IP))) == 1


async def test_every_mx_host_is_followed_to_its_ptr(dns_server, settings):
    self_hosted(dns_server)
    dns_server.add("example.com", "MX", "20 slow.example.com")
    dns_server.add("slow.example.com", "A", IP2)
    dns_server.fault("slow.example.com", "delay", 0.3, rdtype="A")
    ptr(dns_server, IP2, "slow.example.com")
    findings = await rdns(settings, "example.com")
    assert sorted(f.about for f in findings) == sorted([IP, IP2])
    assert all(f.status is Status.PASS for f in findings)


async def test_ptr_naming_the_root_is_missing_not_an_empty_name(dns_server, settings):
    ptr(dns_server, IP, ".")
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.FAIL and finding.kb == "ptr-missing"
    assert "'.'" in finding.summary and "is ," not in finding.summary


async def test_ptr_behind_a_cname_out_of_an_authoritative_zone_is_error(dns_server, settings):
    # RFC 2317 delegation: the PTR name is a CNAME into a zone this (authoritative) server doesn't hold.
    dns_server.serve_zones("69.2.81.in-addr.arpa")
    dns_server.add(reverse_name(IP), "CNAME", "160.rev.isp.example.net")
    [finding] = await rdns(settings, IP)
    assert finding.status is Status.ERROR and finding.kb == "dns-lookup-failed"
    assert "160.rev.isp.example.net" in finding.summary


async def test_mx_host_whose_addresses_are_refused_is_one_error(dns_server, settings):
    dns_server.serve_zones("example.com")
    dns_server.add("example.com", "MX", "10 aspmx.l.google.com")
    findings = await rdns(settings, "example.com")
    [finding] = findings
    assert finding.status is Status.ERROR and finding.about == "aspmx.l.google.com"
    assert "A query refused" in finding.summary and "AAAA query refused" in finding.summary
