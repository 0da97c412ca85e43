"""`deliverability watch …` end to end: the CLI as a subprocess, the loopback DNS server, a real database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time

from incidents.store import Store
from tests.conftest import ROOT, cli_env, run_cli
from tests.watch.conftest import IP, REV, ZONE, serve_ip
from watch.manage import add


def env(db_path, **extra):
    return {"DATABASE_PATH": str(db_path), "BLOCKLISTS_IP": ZONE, "BLOCKLISTS_DOMAIN": ""} | extra


def test_add_run_history_remove(dns_server, db_path):
    serve_ip(dns_server)
    added = run_cli("watch", "add", IP, "--channel", "C0OPS", server=dns_server, **env(db_path))
    assert added.returncode == 0, added.stderr
    assert f"Watching {IP} (ip) → C0OPS, every 6h" in added.stdout
    assert "now: 2 pass" in added.stdout

    listed = run_cli("watch", "list", "--json", server=dns_server, **env(db_path))
    [watch] = json.loads(listed.stdout)
    assert (watch["target"], watch["kind"], watch["workspace"], watch["channel"]) == (
        IP,
        "ip",
        "cli",
        "C0OPS",
    )

    dns_server.set(f"{REV}.{ZONE}", "A", "127.0.0.2")
    dns_server.remove(f"{REV}.in-addr.arpa")
    ran = run_cli("watch", "run", "--once", "--json", server=dns_server, **env(db_path))
    assert ran.returncode == 0, ran.stderr
    alerts = [json.loads(line) for line in ran.stdout.splitlines()]
    assert [(a["target"], a["check"], a["before"], a["after"], a["event"]) for a in alerts] == [
        (IP, "blocklist", "pass", "fail", "change"),
        (IP, "rdns", "pass", "fail", "change"),
    ]
    assert alerts[0]["about"] == f"{IP} on {ZONE}" and alerts[0]["incident"]

    text = run_cli("watch", "run", "--once", server=dns_server, **env(db_path))
    assert text.stdout == "" and "checked 1 watched target: 0 alerts" in text.stderr  # nothing new

    history = run_cli("watch", "history", IP, "--json", server=dns_server, **env(db_path))
    timeline = json.loads(history.stdout)
    assert timeline["target"] == IP and len(timeline["runs"]) == 3
    first, second, third = timeline["runs"]
    assert first["summary"]["blocklist"]["status"] == "pass" and first["alerts"] == []
    assert second["summary"]["blocklist"]["status"] == "fail"
    assert {a["check"] for a in second["alerts"]} == {"blocklist", "rdns"}
    assert third["alerts"] == []
    assert any(f["kb"] == "ptr-missing" and f["evidence"] for f in second["findings"])

    shown = run_cli("watch", "history", IP, server=dns_server, **env(db_path))
    assert f"! blocklist {IP} on {ZONE}: pass → fail" in shown.stdout

    incidents = json.loads(run_cli("incidents", "--json", **env(db_path)).stdout)
    assert {(i["receiver"], i["reason"], i["subject"]) for i in incidents} == {
        ("dns", "blocklist", IP),
        ("dns", "rdns", IP),
    }

    removed = run_cli("watch", "remove", IP, server=dns_server, **env(db_path))
    assert removed.returncode == 0 and "No longer watching" in removed.stdout
    assert json.loads(run_cli("watch", "list", "--json", **env(db_path)).stdout) == []
    again = run_cli("watch", "remove", IP, **env(db_path))
    assert again.returncode == 1 and "is not watched" in again.stderr


def test_channel_defaults_to_watch_channel_and_bad_input_is_refused(dns_server, db_path):
    serve_ip(dns_server)
    added = run_cli(
        "watch", "add", IP, "--no-check", server=dns_server, **env(db_path, WATCH_CHANNEL="#alerts")
    )
    assert added.returncode == 0 and "→ #alerts" in added.stdout and "now:" not in added.stdout
    bad = run_cli("watch", "add", "192.168.1.1", **env(db_path))
    assert bad.returncode == 2 and "not a public address" in bad.stderr
    assert run_cli("watch", "history", "example.org", **env(db_path)).returncode == 1
    wrong = run_cli("watch", "list", **env(db_path, WATCH_INTERVAL="soon"))
    assert wrong.returncode == 2 and "not a duration" in wrong.stderr


def test_first_run_is_the_baseline_without_alerts(dns_server, db_path):
    serve_ip(dns_server)
    run_cli("watch", "add", IP, "--no-check", server=dns_server, **env(db_path))
    dns_server.set(f"{REV}.{ZONE}", "A", "127.0.0.2")
    ran = run_cli("watch", "run", "--once", "--json", server=dns_server, **env(db_path))
    assert ran.returncode == 0 and ran.stdout == ""  # listed from the start: nothing changed


def test_a_second_process_skips_the_targets_the_first_is_checking(dns_server, db_path, wsettings):
    ips = [f"89.160.20.{n}" for n in range(100, 112)]
    with Store.open(db_path) as store:
        for ip in ips:
            asyncio.run(
                add(store, wsettings, ip, workspace="cli", channel=None, created_by="test", check=False)
            )
    dns_server.set(f"2.0.0.127.{ZONE}", "A", "127.0.0.2")
    for n, ip in enumerate(ips):
        # Two dependent lookups answered slowly (under the resolver's 2 s per try, so each is asked
        # once) keep the first process busy about 3 s while the second starts.
        reverse, host = ".".join(reversed(ip.split("."))) + ".in-addr.arpa", f"out{n}.sender.example"
        serve_ip(dns_server, ip, reverse.removesuffix(".in-addr.arpa"), host)
        dns_server.fault(reverse, "delay", 1.5)
        dns_server.fault(host, "delay", 1.5)
    command = [sys.executable, "-m", "bot", "watch", "run", "--once"]
    settings = cli_env(dns_server, **env(db_path, DNS_TIMEOUT="6"))

    def start():
        return subprocess.Popen(command, env=settings, cwd=ROOT, text=True, stderr=subprocess.PIPE)

    first = start()
    leased = "SELECT count(*) FROM watches WHERE lease_owner IS NOT NULL"
    deadline = time.monotonic() + 30
    while _scalar(db_path, leased) < len(ips):
        assert first.poll() is None and time.monotonic() < deadline, "the first process never leased them"
        time.sleep(0.05)
    second = start()
    outputs = [p.communicate(timeout=60)[1] for p in (first, second)]
    assert first.returncode == second.returncode == 0, outputs
    assert "checked 12 watched targets" in outputs[0]
    assert "checked 0 watched targets" in outputs[1]
    for ip in ips:
        reverse = ".".join(reversed(ip.split(".")))
        assert len(dns_server.queries_for(f"{reverse}.in-addr.arpa")) == 1, ip
        assert len(dns_server.queries_for(f"{reverse}.{ZONE}")) == 1, ip


def _scalar(db_path, sql: str) -> int:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return conn.execute(sql).fetchone()[0]
