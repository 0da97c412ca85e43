"""The CLI end to end: warmup plan/status/log/list and suppressions, as a user runs them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from incidents.store import Store
from practices.suppressions import from_csv
from tests.conftest import run_cli
from tests.practices.conftest import WARM_IP, dsn


@pytest.fixture
def env(tmp_path):
    return {"DATABASE_PATH": str(tmp_path / "deliverability.db")}


def today() -> date:
    return datetime.now(UTC).date()


def rows(env) -> list[dict]:
    with Store.open(env["DATABASE_PATH"]) as store:
        return store.warmup_plans()


def test_warmup_plan_log_status_end_to_end(env):
    proc = run_cli("warmup", "plan", WARM_IP, "200k", "--days", "20", **env)
    assert proc.returncode == 0, proc.stderr
    assert f"Warm-up plan for {WARM_IP}: 50 → 200,000 a day over 20 days" in proc.stdout
    assert "Receivers that throttle new IPs:" in proc.stdout and "Outlook.com" in proc.stdout

    proc = run_cli("warmup", "log", WARM_IP, "60", "2", "0", **env)  # over plan, 3.3% bounces
    assert proc.returncode == 0, proc.stderr
    assert (
        "Logged." in proc.stdout
        and "over the plan of 50" in proc.stdout
        and "bounce rate 3.33%" in proc.stdout
    )

    proc = run_cli("warmup", "status", WARM_IP, "--json", **env)
    data = json.loads(proc.stdout)
    assert data["headline"] == "day 1 of 20" and data["today_planned"] == 50
    assert data["totals"]["sent"] == 60 and len(data["plan"]["days"]) == 20
    assert data["plan"]["days"][-1]["planned"] == 200_000
    assert {a["kb"] for a in data["alerts"]} == {"warmup-ramp", "bounce-rate-guidance"}

    proc = run_cli("warmup", "list", **env)
    assert proc.returncode == 0 and f"{WARM_IP}: warm-up day 1 of 20" in proc.stdout


def test_warmup_words_as_in_slack(env):
    start = today() + timedelta(days=3)
    proc = run_cli("warmup", WARM_IP, "10000", "days=10", f"start={start}", "--json", **env)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["start"] == str(start) and plan["length"] == 10 and plan["days"][0]["date"] == str(start)
    proc = run_cli("warmup", "status", WARM_IP, **env)
    assert "starts " + str(start) + " (in 3 days)" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", WARM_IP, "0"], "more than zero"),
        (["plan", WARM_IP, "-100"], "cannot be negative"),
        (["plan", WARM_IP, "50000000"], "more than 10,000,000"),
        (["plan", WARM_IP, "lots"], "whole number"),
        (["plan", WARM_IP, "1000", "--start", "2020-01-01"], "in the past"),
        (["plan", WARM_IP, "1000", "--start", "next week"], "not a date"),
        (["plan", "192.168.1.10", "1000"], "not a public address"),
        (["plan", "not-an-ip", "1000"], "not an IP address"),
        (["log", WARM_IP, "100"], "has no warm-up plan"),
        (["status"], "usage"),
    ],
)
def test_warmup_bad_input_exits_2_and_stores_nothing(env, args, message):
    proc = run_cli("warmup", *args, **env)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stdout == ""
    assert rows(env) == []


def test_suppressions_fed_by_bounces_exported_as_csv_and_read_back(env, tmp_path):
    files = []
    for n, (who, status, text) in enumerate(
        [
            ("alice@shop.example", "5.1.1", "User unknown"),
            ("bob@shop.example", "5.2.2", "Mailbox full"),
            ("carol@other.example", "5.1.1", "No such user here"),
        ]
    ):
        path = tmp_path / f"bounce-{n}.eml"
        path.write_text(dsn(who, status, text, message_id=f"m{n}@x"))
        files.append(str(path))
    proc = run_cli("suppressions", "--add", *files, **env)
    assert proc.returncode == 0, proc.stderr
    assert "bounce-0.eml: 1 newly suppressed" in proc.stderr
    assert "bounce-1.eml: 1 soft-bounced (not yet suppressed)" in proc.stderr
    assert "2 suppressed address(es):" in proc.stdout

    proc = run_cli("suppressions", "--csv", **env)
    exported = from_csv(proc.stdout)
    assert [r["address"] for r in exported] == ["alice@shop.example", "carol@other.example"]
    assert {r["reason"] for r in exported} == {"userunknown"} and all(r["count"] == 1 for r in exported)

    proc = run_cli("suppressions", "--since", str(today() + timedelta(days=1)), "--json", **env)
    assert json.loads(proc.stdout) == []
    proc = run_cli("suppressions", "--since", "1h", "--json", **env)
    assert len(json.loads(proc.stdout)) == 2


def test_suppressions_off_adds_no_address(env, tmp_path):
    path = tmp_path / "bounce.eml"
    path.write_text(dsn("dora@shop.example", "5.1.1", "User unknown"))
    proc = run_cli("suppressions", "--add", str(path), "--csv", SUPPRESSIONS="off", **env)
    assert proc.returncode == 0
    assert "SUPPRESSIONS=off" in proc.stderr
    assert from_csv(proc.stdout) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "not a date or a duration"),
        (["--add", "/nonexistent/bounce.eml"], "No such file"),
        (["--add", "-", "-"], "only once"),
    ],
)
def test_suppressions_bad_input_exits_2(env, args, message):
    proc = run_cli("suppressions", *args, **env)
    assert proc.returncode == 2 and message in proc.stderr


def test_bad_settings_are_a_configuration_error(env):
    proc = run_cli("suppressions", SOFT_BOUNCE_THRESHOLD="0", **env)
    assert proc.returncode == 2 and "SOFT_BOUNCE_THRESHOLD" in proc.stderr
