"""The `mx` check end to end against the loopback DNS server."""

import checks.mx
from checks.model import Status
from checks.runner import Context, make_resolver, run_checks
from checks.target import Target
from knowledge.base import load


async def mx(settings, domain="example.com"):
    report = await run_checks(Target("domain", domain), settings, only=("mx",))
    return report.findings


def by_status(findings, status):
    return [f for f in findings if f.status is status]


async def test_good_mx_passes_and_memoises_hosts(dns_server, settings):
    dns_server.add("example.com", "MX", "10 mx1.example.com", "20 mx2.example.com")
    dns_server.add("mx1.example.com", "A", "81.2.69.160")
    dns_server.add("mx1.example.com", "AAAA", "2a02:cf40::1")
    dns_server.add("mx2.example.com", "A", "89.160.20.112")
    findings = await mx(settings)
    assert [f.status for f in findings] == [Status.PASS]
    assert findings[0].kb == "mx-ok"
    assert "mx1.example.com (10), mx2.example.com (20)" in findings[0].summary
    assert findings[0].evidence["hosts"][0]["host"] == "mx1.example.com"


async def test_memo_holds_hosts_and_addresses(dns_server, settings):
    dns_server.add("example.com", "MX", "10 mx1.example.com")
    dns_server.add("mx1.example.com", "A", "81.2.69.160")
    dns_server.add("mx1.example.com", "AAAA", "2a02:cf40::1")
    ctx = Context(Target("domain", "example.com"), make_resolver(settings), settings)
    await checks.mx.check(ctx)
    assert ctx.memo["mx_hosts"] == {"mx1.example.com": ["81.2.69.160", "2a02:cf40::1"]}


async def test_no_mx_and_no_address_fails(dns_server, settings):
    dns_server.add("example.com", "TXT", "v=spf1 -all")  # the name exists, without MX or address
    [finding] = await mx(settings)
    assert finding.status is Status.FAIL and finding.kb == "mx-missing"
    assert "cannot receive mail" in finding.summary


async def test_nonexistent_domain_fails_without_asking_for_addresses(dns_server, settings):
    [finding] = await mx(settings, "nowhere.example")
    assert finding.status is Status.FAIL and "NXDOMAIN" in finding.summary
    assert not dns_server.queries_for("nowhere.example")[1:]  # only the MX query was sent


async def test_no_mx_but_an_address_is_implicit_mx(dns_server, settings):
    dns_server.add("example.com", "A", "81.2.69.160")
    [finding] = await mx(settings)
    assert finding.status is Status.WARN and finding.kb == "mx-implicit"
    assert "81.2.69.160" in finding.summary


async def test_null_mx_is_info(dns_server, settings):
    dns_server.add("example.com", "MX", "0 .")
    [finding] = await mx(settings)
    assert finding.status is Status.INFO and finding.kb == "mx-null"
    assert "accepts no mail" in finding.summary


async def test_null_mx_beside_other_records_warns(dns_server, settings):
    dns_server.add("example.com", "MX", "0 .", "10 mx1.example.com")
    dns_server.add("mx1.example.com", "A", "81.2.69.160")
    findings = await mx(settings)
    [warn] = by_status(findings, Status.WARN)
    assert warn.kb == "mx-null" and "RFC 7505" in warn.summary


async def test_mx_pointing_at_a_cname_warns(dns_server, settings):
    dns_server.add("example.com", "MX", "10 mail.example.com")
    dns_server.add("mail.example.com", "CNAME", "real.example.net")
    dns_server.add("real.example.net", "A", "81.2.69.160")
    findings = await mx(settings)
    assert [f.kb for f in findings] == ["mx-cname"]
    assert findings[0].status is Status.WARN and "real.example.net" in findings[0].summary


async def test_ip_literal_mx_fails_and_is_not_resolved(dns_server, settings):
    dns_server.add("example.com", "MX", "10 81.2.69.160")
    [finding] = await mx(settings)
    assert finding.status is Status.FAIL and finding.kb == "mx-ip-literal"
    assert finding.about == "81.2.69.160"
    assert not dns_server.queries_for("81.2.69.160")


async def test_unresolvable_hosts_fail_each(dns_server, settings):
    dns_server.add("example.com", "MX", "10 gone.example.com", "20 empty.example.com", "30 ok.example.com")
    dns_server.add("empty.example.com", "TXT", "no address here")
    dns_server.add("ok.example.com", "A", "81.2.69.160")
    findings = await mx(settings)
    fails = {f.about: f for f in by_status(findings, Status.FAIL)}
    assert set(fails) == {"gone.example.com", "empty.example.com"}
    assert all(f.kb == "mx-unresolvable" for f in fails.values())
    assert "does not exist" in fails["gone.example.com"].summary
    assert "no A or AAAA" in fails["empty.example.com"].summary
    assert not by_status(findings, Status.PASS)  # no blanket "all good" beside the failures


async def test_private_addresses_only_fail(dns_server, settings):
    dns_server.add("example.com", "MX", "10 mx.example.com")
    dns_server.add("mx.example.com", "A", "10.1.2.3")
    [finding] = await mx(settings)
    assert finding.status is Status.FAIL and "non-public" in finding.summary


async def test_host_lookup_failure_is_error_not_unresolvable(dns_server, settings):
    dns_server.add("example.com", "MX", "10 mx.example.com")
    dns_server.fault("mx.example.com", "servfail")
    [finding] = await mx(settings)
    assert finding.status is Status.ERROR
    assert finding.kb == "dns-lookup-failed" and "SERVFAIL" in finding.summary


async def test_mx_timeout_is_error(dns_server, settings):
    dns_server.fault("example.com", "timeout", rdtype="MX")
    [finding] = await mx(settings)
    assert finding.status is Status.ERROR and "timed out" in finding.summary


async def test_each_host_is_asked_once_for_each_address_type(dns_server, settings):
    hosts = [f"mx{i}.example.com" for i in range(4)]
    dns_server.add("example.com", "MX", *(f"{i} {h}" for i, h in enumerate(hosts)))
    for host in hosts:
        dns_server.add(host, "A", "81.2.69.160")
    await mx(settings)
    asked = [name for name, rdtype, _ in dns_server.log if rdtype in ("A", "AAAA")]
    assert sorted(asked) == sorted(h for h in hosts for _ in (0, 1))


def test_kb_entries_exist():
    kb = load()
    for entry in (
        "mx-missing",
        "mx-null",
        "mx-cname",
        "mx-ip-literal",
        "mx-unresolvable",
        "mx-implicit",
        "mx-ok",
    ):
        assert entry in kb


async def test_many_hosts_keep_the_summary_one_short_line(dns_server, settings):
    hosts = [f"{n} h{n}.example.com" for n in range(1, 21)]
    dns_server.add("example.com", "MX", *hosts)
    for n in range(1, 21):
        dns_server.add(f"h{n}.example.com", "A", f"81.2.69.{100 + n}")
    [finding] = await mx(settings)
    assert finding.status is Status.PASS and finding.summary.startswith("20 MX hosts")
    assert "h5.example.com (5) and 15 more" in finding.summary and "h6." not in finding.summary
    assert len(finding.evidence["hosts"]) == 20


async def test_alias_whose_target_does_not_exist_names_the_target(dns_server, settings):
    dns_server.add("example.com", "MX", "10 alias.example.com")
    dns_server.add("alias.example.com", "CNAME", "gone.example.com")
    dns_server.add("example.com", "A", "81.2.69.160")
    [fail] = by_status(await mx(settings), Status.FAIL)
    assert "alias of gone.example.com, which does not exist" in fail.summary


async def test_mx_alias_left_dangling_by_an_authoritative_server_is_error(dns_server, settings):
    # nsd answers the alias with the CNAME alone; its target is in nobody's zone on this server.
    dns_server.serve_zones("example.com")
    dns_server.add("example.com", "MX", "10 alias.example.com")
    dns_server.add("alias.example.com", "CNAME", "mail.provider.example.net")
    findings = await mx(settings)
    assert not by_status(findings, Status.FAIL)  # not "has no A or AAAA record"
    [error] = by_status(findings, Status.ERROR)
    assert error.about == "alias.example.com" and "mail.provider.example.net" in error.summary
