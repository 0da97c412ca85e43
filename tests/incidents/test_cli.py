"""The CLI end to end, as a subprocess over a real database file: incidents, incident, digest."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from incidents.store import Store
from tests.conftest import run_cli
from tests.incidents.conftest import observation


@pytest.fixture
def seeded(db_path):
    """Three incidents written by a store just as the bot would, an hour ago and earlier."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    clock = [base]
    with Store.open(db_path, clock=lambda: clock[0]) as store:
        store.record(observation(raw_text="550 5.7.1 to jane@example.org blocked", reply_code="550"))
        clock[0] += timedelta(hours=1)
        store.record(observation())
        store.record(
            observation(receiver="google", reason="authfailure", subject="shop.example", kb_ids=["dmarc"])
        )
        store.record(observation(receiver="yahoo", reason="userunknown", subject="example.net"))
        store.set_status(3, "resolved", actor="U1", note="user removed from list")
    return {"DATABASE_PATH": str(db_path)}


def test_incidents_json_and_csv(seeded):
    proc = run_cli("incidents", "--json", **seeded)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [(i["id"], i["status"], i["occurrences"]) for i in data] == [(2, "open", 1), (1, "open", 2)]
    assert data[0]["kb_ids"] == ["dmarc"]

    proc = run_cli("incidents", "--status", "all", "--csv", **seeded)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(r["id"], r["status"], r["receiver"], r["reason"], r["subject"]) for r in rows] == [
        ("3", "resolved", "yahoo", "userunknown", "example.net"),
        ("2", "open", "google", "authfailure", "shop.example"),
        ("1", "open", "microsoft", "blocked", "81.2.69.160"),
    ]
    assert rows[1]["kb_ids"] == "dmarc" and rows[2]["reply_code"] == "550"
    assert rows[0]["resolution_note"] == "user removed from list"

    proc = run_cli("incidents", "--status", "resolved", **seeded)
    assert proc.stdout.startswith("#3") and "userunknown" in proc.stdout and "#1 " not in proc.stdout


def test_incident_actions_and_show(seeded):
    assert run_cli("incident", "investigate", "1", "--by", "alice", **seeded).returncode == 0
    assert run_cli("incident", "assign", "1", "bob", **seeded).returncode == 0
    assert run_cli("incident", "note", "1", "opened", "a", "ticket", **seeded).returncode == 0
    proc = run_cli("incident", "resolve", "1", "--note", "delisted by Microsoft", **seeded)
    assert proc.returncode == 0 and proc.stdout.startswith("#1") and "resolved" in proc.stdout
    proc = run_cli("incident", "resolve", "1", **seeded)
    assert proc.returncode == 0 and "already resolved" in proc.stdout

    proc = run_cli("incident", "show", "1", "--json", **seeded)
    data = json.loads(proc.stdout)
    assert (data["status"], data["assignee"], data["resolution_note"]) == (
        "resolved",
        "bob",
        "delisted by Microsoft",
    )
    assert [(e["kind"], e["actor"]) for e in data["timeline"]] == [
        ("created", "U1"),
        ("seen_again", "U1"),
        ("status_changed", "alice"),
        ("assigned", "cli"),
        ("note_added", "cli"),
        ("status_changed", "cli"),
    ]
    assert data["timeline"][0]["raw_text"] == "550 5.7.1 to j***@example.org blocked"

    text = run_cli("incident", "show", "1", **seeded).stdout
    assert "#1 blocked at microsoft for 81.2.69.160" in text
    assert "investigating → resolved by cli: delisted by Microsoft" in text
    assert "note by cli: opened a ticket" in text

    assert run_cli("incident", "reopen", "1", **seeded).returncode == 0
    assert [i["id"] for i in json.loads(run_cli("incidents", "--json", **seeded).stdout)] == [2, 1]


def test_unknown_incident_and_bad_database(seeded, tmp_path):
    proc = run_cli("incident", "show", "99", **seeded)
    assert proc.returncode == 1 and "no incident #99" in proc.stderr
    garbage = tmp_path / "garbage.db"
    garbage.write_text("not a database\n")
    proc = run_cli("incidents", DATABASE_PATH=str(garbage))
    assert proc.returncode == 2 and "not an SQLite database" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert garbage.read_text() == "not a database\n"


def test_digest_print(seeded):
    proc = run_cli("digest", "--print", **seeded)
    assert proc.returncode == 0, proc.stderr
    assert "3 new, 0 recurring, 2 open, 1 resolved; 4 occurrences." in proc.stdout
    assert "Mean time to resolve: 0m (1 resolved)" in proc.stdout
    data = json.loads(run_cli("digest", "--print", "--json", "--since", "7d", **seeded).stdout)
    assert [c["name"] for c in data["by_receiver"]] == ["microsoft", "google", "yahoo"]
    assert data["trends"][0]["reason"] == "blocked" and data["trends"][0]["counts"][-1] == 2


def test_digest_post_needs_a_token_and_a_channel(seeded):
    proc = run_cli("digest", "--post", **seeded)
    assert proc.returncode == 2
    assert "SLACK_BOT_TOKEN and DIGEST_CHANNEL" in proc.stderr
    proc = run_cli("digest", "--post", SLACK_BOT_TOKEN="xoxb-test", **seeded)
    assert proc.returncode == 2 and "DIGEST_CHANNEL" in proc.stderr and "SLACK_BOT_TOKEN" not in proc.stderr


class _SlackStandIn(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict, str]]

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"] or 0)).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(body)
        else:
            params = {k: v[0] for k, v in parse_qs(body).items()}
        self.calls.append((self.path, params, self.headers.get("Authorization", "")))
        answer = json.dumps(
            {"ok": True, "channel": params.get("channel"), "ts": "1715158800.000100"}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def slack_api():
    _SlackStandIn.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlackStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/", _SlackStandIn.calls
    server.shutdown()
    server.server_close()


def test_digest_post_posts_once(seeded, slack_api):
    url, calls = slack_api
    env = seeded | {"SLACK_BOT_TOKEN": "xoxb-test", "DIGEST_CHANNEL": "C0DIGEST", "SLACK_API_URL": url}
    first = run_cli("digest", "--post", **env)
    assert first.returncode == 0, first.stderr
    assert "Posted the digest" in first.stdout and "1715158800.000100" in first.stdout
    second = run_cli("digest", "--post", **env)
    assert second.returncode == 0 and "already posted" in second.stdout
    assert len(calls) == 1
    path, params, auth = calls[0]
    assert path == "/api/chat.postMessage" and auth == "Bearer xoxb-test"
    assert params["channel"] == "C0DIGEST" and "3 new, 0 recurring" in params["text"]
