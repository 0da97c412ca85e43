"""The CLI's JSON contract on error paths: with --json, a command that fails prints exactly one
`{"error": ...}` object on stdout (the message for people stays on stderr), exits 2 for bad input or 1
where the command documents it, and never shows a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incidents.model import Observation
from incidents.store import Store
from tests.conftest import run_cli

WARM_IP = "81.2.69.160"

# (args, exit status, a fragment of the message); "BAD_DB" makes DATABASE_PATH a file that is not SQLite.
CASES = [
    (["incident", "show", "99"], 1, "no incident #99"),
    (["incidents", "--status", "bogus"], 2, "invalid choice: 'bogus'"),
    (["incidents", "BAD_DB"], 2, "not an SQLite database"),
    (["incidents", "--purge", "BAD_DB"], 2, "not an SQLite database"),
    (["incident", "show", "1", "BAD_DB"], 2, "not an SQLite database"),
    (["incident", "show", "one"], 2, "invalid int value: 'one'"),
    (["warmup", "plan", WARM_IP, "0"], 2, "more than zero"),
    (["warmup", "plan", WARM_IP, "-100"], 2, "cannot be negative"),
    (["warmup", "plan", WARM_IP, "999999999999999999"], 2, "more than 10,000,000"),
    (["warmup", "plan", WARM_IP, "lots"], 2, "whole number"),
    (["warmup", "plan", WARM_IP, "1e30"], 2, "whole number"),
    (["warmup", "plan", WARM_IP, "1000", "--start", "2020-01-01"], 2, "in the past"),
    (["warmup", "plan", WARM_IP, "1000", "--start", "next week"], 2, "not a date"),
    (["warmup", "plan", "192.168.1.10", "1000"], 2, "not a public address"),
    (["warmup", "status", WARM_IP], 2, "has no warm-up plan"),
    (["warmup", "log", WARM_IP, "abc"], 2, "whole number"),
    (["warmup", "bogus"], 2, "usage"),
    (["warmup", "list", "BAD_DB"], 2, "not an SQLite database"),
    (["suppressions", "--since", "garbage"], 2, "not a date or a duration: 'garbage'"),
    (["suppressions", "--add", "/nonexistent/bounce.eml"], 2, "No such file or directory"),
    (["suppressions", "--add", "-", "-"], 2, "can be read only once"),
    (["suppressions", "BAD_DB"], 2, "not an SQLite database"),
    (["watch", "add", "not_a_domain", "--no-check"], 2, "not a domain name"),
    (["watch", "add", "10.0.0.1", "--no-check"], 2, "not a public address"),
    (["watch", "add", "example.com", "--no-check", "--channel", "no spaces"], 2, "not a channel"),
    (["watch", "add", "example.com", "--no-check", "BAD_DB"], 2, "not an SQLite database"),
    (["watch", "list", "BAD_DB"], 2, "not an SQLite database"),
    (["watch", "history", "nothing.example"], 1, "has never been watched"),
    (["watch", "history", "not_a_domain"], 2, "not a domain name"),
    (["watch", "history", "example.com", "--limit", "0"], 2, "must be at least 1"),
    (["watch", "run", "--once", "BAD_DB"], 2, "not an SQLite database"),
    (["digest", "--print", "--since", "garbage"], 2, "not a duration: 'garbage'"),
    (["digest", "--print", "BAD_DB"], 2, "not an SQLite database"),
    (["digest", "--post"], 2, "--post needs DIGEST_CHANNEL to be set"),
]


def _env(tmp_path: Path, args: list[str]) -> tuple[list[str], dict[str, str]]:
    db = tmp_path / "deliverability.db"
    if "BAD_DB" in args:
        db.write_text("this is not a database\n")
        args = [a for a in args if a != "BAD_DB"]
    # A bot token but no channel: the digest names exactly what is missing.
    return args, {"DATABASE_PATH": str(db), "SLACK_BOT_TOKEN": "xoxb-not-used", "DIGEST_CHANNEL": ""}


def _assert_json_error(proc, code: int, message: str) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout  # one object, nothing else on stdout
    data = json.loads(lines[0])
    assert list(data) == ["error"] and message in data["error"]
    assert message in proc.stderr  # people still get the message


@pytest.mark.parametrize(("args", "code", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_json_error_is_one_object_on_stdout(tmp_path, args, code, message):
    args, env = _env(tmp_path, args)
    proc = run_cli(*args, "--json", **env)
    _assert_json_error(proc, code, message)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["incident", "show", "99"], 1),
        (["warmup", "plan", WARM_IP, "0"], 2),
        (["suppressions", "--since", "garbage"], 2),
        (["watch", "history", "nothing.example"], 1),
        (["digest", "--post"], 2),
    ],
)
def test_without_json_stdout_stays_empty(tmp_path, args, code):
    args, env = _env(tmp_path, args)
    proc = run_cli(*args, **env)
    assert proc.returncode == code and proc.stdout == ""
    assert proc.stderr.startswith("deliverability ") and "Traceback" not in proc.stderr


def test_nothing_is_stored_by_a_rejected_plan(tmp_path):
    args, env = _env(tmp_path, ["warmup", "plan", WARM_IP, "0"])
    _assert_json_error(run_cli(*args, "--json", **env), 2, "more than zero")
    listed = run_cli("warmup", "list", "--json", **env)
    assert listed.returncode == 0 and "error" not in json.loads(listed.stdout)


def test_unknown_incident_beside_a_known_one(tmp_path):
    _, env = _env(tmp_path, [])
    with Store.open(Path(env["DATABASE_PATH"])) as store:
        incident, _ = store.record(Observation(subject=WARM_IP, receiver="microsoft", reason="blocked"))
    shown = run_cli("incident", "show", str(incident.id), "--json", **env)
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == incident.id
    _assert_json_error(
        run_cli("incident", "show", str(incident.id + 1), "--json", **env), 1, f"#{incident.id + 1}"
    )


def test_digest_post_failure_is_json_and_exit_1(tmp_path):
    args, env = _env(tmp_path, ["digest", "--post"])
    # Nothing listens on port 9: the post fails, and is reported as one JSON error.
    env |= {"DIGEST_CHANNEL": "C0DIGEST", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    proc = run_cli(*args, "--json", **env)
    _assert_json_error(proc, 1, "posting to C0DIGEST failed")
