"""The resolver against the loopback DNS server: answers, absence and failure kept apart, TCP, caching."""

import asyncio

from checks.dns import Outcome, Resolver, blocklist_name, reverse_name
from tests.dnsserver import DnsTestServer


async def test_answers_absence_and_failures(dns_server):
    dns_server.add("example.com", "MX", "10 mx.example.com")
    dns_server.add("mx.example.com", "A", "81.2.69.160")
    dns_server.add("www.example.com", "CNAME", "mx.example.com")
    dns_server.add("deep.sub.example.com", "A", "81.2.69.161")
    dns_server.fault("broken.example.com", "servfail")
    dns_server.fault("closed.example.com", "refused")
    dns_server.fault("silent.example.com", "timeout")
    r = Resolver([dns_server.address], timeout=0.5)
    mx = await r.query("example.com", "MX")
    assert mx.ok and mx.records == ((10, "mx.example.com"),)
    www = await r.query("www.example.com", "A")
    assert www.records == ("81.2.69.160",) and www.cnames == ("mx.example.com",)
    assert (await r.query("nope.example.com", "A")).outcome is Outcome.NXDOMAIN
    assert (await r.query("sub.example.com", "A")).outcome is Outcome.NODATA  # empty non-terminal
    assert (await r.query("example.com", "AAAA")).outcome is Outcome.NODATA
    for name, outcome in [
        ("broken.example.com", Outcome.SERVFAIL),
        ("closed.example.com", Outcome.REFUSED),
        ("silent.example.com", Outcome.TIMEOUT),
    ]:
        result = await r.query(name, "A")
        assert result.outcome is outcome
        assert result.failed and not result.absent


async def test_large_txt_retries_over_tcp_and_joins_strings(dns_server):
    text = "v=spf1 " + " ".join(f"ip4:81.2.{i}.0/24" for i in range(120)) + " -all"
    dns_server.add("big.example.com", "TXT", text)
    r = Resolver([dns_server.address], timeout=1)
    result = await r.query("big.example.com", "TXT")
    assert result.records == (text,)
    transports = {t for _, _, t in dns_server.queries_for("big.example.com")}
    assert transports == {"udp", "tcp"}


async def test_each_name_and_type_is_asked_once(dns_server):
    dns_server.add("example.com", "TXT", "hello")
    dns_server.fault("example.com", "delay", 0.2)
    r = Resolver([dns_server.address], timeout=1)
    results = await asyncio.gather(*(r.query("Example.COM.", "txt") for _ in range(5)))
    assert all(res.records == ("hello",) for res in results)
    assert len(dns_server.queries_for("example.com")) == 1
    assert r.queries == 1


async def test_blocking_query_from_a_thread_shares_the_cache(dns_server):
    dns_server.add("example.com", "A", "81.2.69.160")
    r = Resolver([dns_server.address], timeout=1)
    r.bind_loop()
    result = await asyncio.to_thread(r.blocking_query, "example.com", "A")
    again = await r.query("example.com", "A")
    assert result.records == again.records == ("81.2.69.160",)
    assert r.queries == 1


def test_query_names():
    assert reverse_name("81.2.69.160") == "160.69.2.81.in-addr.arpa"
    assert blocklist_name("81.2.69.160", "zen.example.org.") == "160.69.2.81.zen.example.org"
    assert blocklist_name("2a00:1450::1", "bl.example").startswith("1.0.0.0.")
    assert blocklist_name("2a00:1450::1", "bl.example").endswith(".0.5.4.1.0.0.a.2.bl.example")


async def test_a_cname_left_dangling_by_an_authoritative_server_is_followed(dns_server):
    # nsd answers a CNAME to a name outside its zones with the CNAME alone (NOERROR, no SOA).
    dns_server.serve_zones("example.com", "provider.example.net")
    dns_server.add("s1._domainkey.example.com", "CNAME", "s1.dkim.provider.example.net")
    dns_server.add("s1.dkim.provider.example.net", "TXT", "v=DKIM1; p=")
    dns_server.add("s2._domainkey.example.com", "CNAME", "s2.dkim.esp.example.org")
    r = Resolver([dns_server.address], timeout=1)
    found = await r.query("s1._domainkey.example.com", "TXT")
    assert found.ok and found.records == ("v=DKIM1; p=",)
    assert found.cnames == ("s1.dkim.provider.example.net",)
    outside = await r.query("s2._domainkey.example.com", "TXT")
    assert outside.outcome is Outcome.REFUSED and outside.failed  # not "no record"
    assert outside.cnames == ("s2.dkim.esp.example.org",)
    assert "s2.dkim.esp.example.org" in outside.describe()


async def test_a_true_nodata_after_a_cname_is_not_asked_again(dns_server):
    dns_server.serve_zones("example.com")
    dns_server.add("www.example.com", "CNAME", "host.example.com")
    dns_server.add("host.example.com", "A", "81.2.69.160")
    r = Resolver([dns_server.address], timeout=1)
    result = await r.query("www.example.com", "AAAA")
    assert result.outcome is Outcome.NODATA and result.cnames == ("host.example.com",)
    assert dns_server.queries_for("host.example.com") == []  # the SOA said NODATA for the target


async def test_a_cname_loop_between_two_servers_is_an_error_not_a_hang(dns_server):
    # Two authoritative servers, each leaving the chain dangling into the other's zone.
    dns_server.serve_zones("example.com")
    dns_server.add("a.example.com", "CNAME", "b.example.org")
    with DnsTestServer() as other:
        other.serve_zones("example.org")
        other.add("b.example.org", "CNAME", "a.example.com")
        r = Resolver([dns_server.address, other.address], timeout=1)
        result = await r.query("a.example.com", "TXT")
    assert result.outcome is Outcome.ERROR and "loop" in result.detail
    assert result.cnames == ("b.example.org", "a.example.com")


async def test_an_alias_of_a_missing_name_keeps_its_chain(dns_server):
    dns_server.add("alias.example.com", "CNAME", "gone.example.com")
    dns_server.add("example.com", "A", "81.2.69.160")
    result = await Resolver([dns_server.address], timeout=1).query("alias.example.com", "A")
    assert result.outcome is Outcome.NXDOMAIN and result.cnames == ("gone.example.com",)


async def test_a_nameserver_given_by_name_is_asked(dns_server):
    # dnspython needs addresses; given `localhost` it used to retry until "timed out".
    dns_server.add("example.com", "A", "81.2.69.160")
    r = Resolver([("localhost", dns_server.port)], timeout=1)
    result = await r.query("example.com", "A")
    assert result.ok and result.records == ("81.2.69.160",)


async def test_a_dead_first_server_leaves_time_for_the_next(dns_server):
    import socket

    dns_server.add("example.com", "A", "81.2.69.160")
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never answers
    silent.bind(("127.0.0.1", 0))
    try:
        r = Resolver([silent.getsockname(), dns_server.address], timeout=2.0)
        result = await r.query("example.com", "A")
    finally:
        silent.close()
    assert result.ok and result.records == ("81.2.69.160",)


async def test_a_server_without_edns_is_asked_again_plainly(dns_server):
    dns_server.add("old.example.com", "TXT", "v=spf1 -all")
    dns_server.fault("old.example.com", "formerr-edns")
    r = Resolver([dns_server.address], timeout=1.0)
    result = await r.query("old.example.com", "TXT")
    assert result.ok and result.records == ("v=spf1 -all",)
    assert len(dns_server.queries_for("old.example.com")) == 2  # with EDNS (FORMERR), then without
