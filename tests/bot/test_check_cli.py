"""`deliverability check` end to end: the CLI as a subprocess, DNS from the loopback server."""

import json

import pytest

from tests.conftest import run_cli, run_cli_json

KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAudGE9HHiIr5aUUmuknDWJp5w7wFIvHQN8yp5GVQnIw8W35XSV9uQ2ZQKg4Sy"
    "1/3AOJWyI7bBL7JApBU3uxG811c8+3Fn021ke64GJYmSSXNHOOD51VYo9PMD3nx7GBPt4mssVhCu+Wuj7YNo/Quk9P1T+bMYNVxVCz6h"
    "tKuk6BjeVo6YrA3WtU8iQixVVMNxsjARKsS4qMnJ8Asp4bA7+o3tsIadiaaKLtHiKjS3vrdyV0350kS3dfVUyF6YQ7gV2745JYznl2bM"
    "b+b99jFO0ZJ3JnORhs69iqWzeqsSBp5lU3LUksAvne/JU7m9LQ/Y3v7x33cM9QZoDkszAbqAvwIDAQAB"
)
LISTS = {"BLOCKLISTS_IP": "zen.bl.example", "BLOCKLISTS_DOMAIN": "dbl.bl.example"}


def good_domain(server, domain="shop.example"):
    server.add(domain, "MX", f"10 mx1.{domain}")
    server.add(f"mx1.{domain}", "A", "81.2.69.160")
    server.add("160.69.2.81.in-addr.arpa", "PTR", f"mx1.{domain}")
    server.add(domain, "TXT", "v=spf1 mx ip4:89.160.20.0/24 -all")
    server.add(f"google._domainkey.{domain}", "TXT", f"v=DKIM1; k=rsa; p={KEY}")
    server.add(f"_dmarc.{domain}", "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@" + domain)
    server.add("2.0.0.127.zen.bl.example", "A", "127.0.0.2")
    server.add("test.dbl.bl.example", "A", "127.0.0.2")


def test_json_contract_for_a_domain(dns_server):
    good_domain(dns_server)
    proc, data = run_cli_json("check", "postmaster@Shop.Example.", server=dns_server, **LISTS)
    assert proc.returncode in (0, 1), proc.stderr
    assert set(data) == {"target", "kind", "findings", "elapsed_ms"}
    assert data["target"] == "shop.example" and data["kind"] == "domain"
    checks = {f["check"] for f in data["findings"]}
    assert {"mx", "spf", "dkim", "dmarc", "rdns", "blocklist"} <= checks
    for finding in data["findings"]:
        assert set(finding) >= {"check", "status", "summary", "evidence", "kb"}
        assert finding["status"] in {"pass", "warn", "fail", "error", "info"}
    ranks = ["fail", "error", "warn", "info", "pass"]
    order = [ranks.index(f["status"]) for f in data["findings"]]
    assert order == sorted(order), "findings are listed worst first"
    spf = [f for f in data["findings"] if f["check"] == "spf"]
    assert spf and all(f["status"] != "fail" for f in spf)
    assert proc.returncode == (1 if any(f["status"] in ("fail", "error") for f in data["findings"]) else 0)


def test_ip_target_runs_rdns_and_blocklist_only(dns_server):
    good_domain(dns_server)
    proc, data = run_cli_json("check", "81.2.69.160", server=dns_server, **LISTS)
    assert data["kind"] == "ip"
    assert {f["check"] for f in data["findings"]} == {"rdns", "blocklist"}
    assert proc.returncode == 0, data


def test_spf_for_a_sending_ip(dns_server):
    good_domain(dns_server)
    _, data = run_cli_json("check", "shop.example", "--ip", "89.160.20.112", server=dns_server, **LISTS)
    ip_findings = [f for f in data["findings"] if f.get("about") == "89.160.20.112"]
    assert any(f["check"] == "spf" and f["status"] == "pass" for f in ip_findings)
    _, data = run_cli_json("check", "shop.example", "--ip", "89.160.99.1", server=dns_server, **LISTS)
    assert any(
        f["check"] == "spf" and f["status"] == "fail" and f["about"] == "89.160.99.1"
        for f in data["findings"]
    )


def test_servers_that_fail_give_error_never_fail(dns_server):
    dns_server.fault("shop.example", "servfail")
    dns_server.fault("_dmarc.shop.example", "servfail")
    proc, data = run_cli_json("check", "shop.example", server=dns_server, **LISTS)
    assert proc.returncode == 1
    by_check = {}
    for f in data["findings"]:
        by_check.setdefault(f["check"], set()).add(f["status"])
    for check in ("mx", "spf", "dmarc"):
        assert "error" in by_check[check], (check, by_check)
        assert "fail" not in by_check[check], (check, by_check)


def test_deadline_reports_unfinished_checks_as_errors(dns_server):
    good_domain(dns_server)
    dns_server.fault("_dmarc.shop.example", "timeout")
    proc, data = run_cli_json(
        "check", "shop.example", server=dns_server, CHECK_DEADLINE="1.5", DNS_TIMEOUT="5", **LISTS
    )
    dmarc = [f for f in data["findings"] if f["check"] == "dmarc"]
    assert dmarc and all(f["status"] == "error" for f in dmarc)
    assert any("timed out" in f["summary"] for f in dmarc)
    assert any(f["check"] == "mx" and f["status"] == "pass" for f in data["findings"]), (
        "finished checks report"
    )
    assert proc.returncode == 1


@pytest.mark.parametrize("bad", ["", "not a domain", "10.0.0.1", "example..com", "\x01\x02", "a@"])
def test_bad_input_exits_2_with_one_line(bad):
    proc, data = run_cli_json("check", bad)
    assert proc.returncode == 2
    assert set(data) == {"error"}
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_human_output_groups_by_check(dns_server):
    good_domain(dns_server)
    dns_server.remove("_dmarc.shop.example")
    proc = run_cli("check", "shop.example", server=dns_server, **LISTS)
    assert proc.returncode == 1
    assert "DMARC" in proc.stdout and "what to do:" in proc.stdout


def test_log_records_a_problem_once_then_adds_occurrences(dns_server, tmp_path):
    good_domain(dns_server)
    dns_server.remove("_dmarc.shop.example")
    db = str(tmp_path / "incidents.db")
    first = run_cli("check", "shop.example", "--log", server=dns_server, DATABASE_PATH=db, **LISTS)
    second = run_cli("check", "shop.example", "--log", server=dns_server, DATABASE_PATH=db, **LISTS)
    assert "opened incident #1" in first.stderr
    assert "added an occurrence to incident #1" in second.stderr
    _, data = run_cli_json("incidents", server=dns_server, DATABASE_PATH=db)
    incidents = data if isinstance(data, list) else data.get("incidents", data)
    assert len(incidents) == 1
    assert incidents[0]["subject"] == "shop.example" and incidents[0]["receiver"] == "dns"
    assert incidents[0]["occurrences"] == 2


def test_log_refuses_an_unusable_database(dns_server, tmp_path):
    good_domain(dns_server)
    dns_server.remove("_dmarc.shop.example")
    bad = tmp_path / "garbage.db"
    bad.write_bytes(b"this is not a database" * 100)
    proc = run_cli("check", "shop.example", "--log", server=dns_server, DATABASE_PATH=str(bad), **LISTS)
    assert proc.returncode == 2 and "not logged" in proc.stderr and "Traceback" not in proc.stderr
    assert bad.read_bytes() == b"this is not a database" * 100


def test_usage_errors_keep_the_json_contract():
    proc = run_cli("check", "-bad-.com", "--json")
    assert proc.returncode == 2
    assert "error" in json.loads(proc.stdout)
    proc = run_cli("check", "example.com", "--json", DNS_TIMEOUT="soon")
    assert proc.returncode == 2
    assert "DNS_TIMEOUT" in json.loads(proc.stdout)["error"]
