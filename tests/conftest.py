"""Shared fixtures: the loopback DNS server, settings pointing at it, the CLI as a subprocess, and a store on
a real file with a settable clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.settings import Settings
from incidents.store import Store
from tests.dnsserver import DnsTestServer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# Nothing in the tests may reach the internet: any lookup not pointed at a test server goes to a
# closed loopback port and fails at once instead of asking the system resolver.
os.environ["DNS_NAMESERVERS"] = "127.0.0.1:9"
for _name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
    os.environ.pop(_name, None)


START = datetime(2024, 5, 8, 9, 0, tzinfo=UTC)  # the store's clock at the start of each test


class Clock:
    """The store's (and so a watch scheduler's) clock, moved by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now

    @property
    def today(self):
        return self.now.date()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "deliverability.db"


@pytest.fixture
def store(db_path: Path, clock: Clock):
    with Store.open(db_path, clock=clock) as opened:
        yield opened


@pytest.fixture
def dns_server():
    with DnsTestServer() as server:
        yield server


@pytest.fixture
def settings(dns_server) -> Settings:
    return replace(
        Settings.from_env({}),
        dns_nameservers=(dns_server.address,),
        dns_timeout=1.0,
        check_deadline=5.0,
    )


def cli_env(server: DnsTestServer | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DNS_", "BLOCKLISTS_"))}
    env["DNS_NAMESERVERS"] = server.nameserver if server else "127.0.0.1:9"
    env["DNS_TIMEOUT"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_cli(*args: str, server: DnsTestServer | None = None, stdin: str | None = None, **env: str):
    """Run `python -m bot ARGS` as a user would; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_env(server, **env),
        cwd=ROOT,
        timeout=60,
    )


def loaded_by_importing(*modules: str) -> list[str]:
    """Every module a fresh interpreter has loaded after importing `modules` (which must import)."""
    code = f"import sys, {', '.join(modules)}; print('\\n'.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split()


def run_cli_json(*args: str, server: DnsTestServer | None = None, **env: str):
    proc = run_cli(*args, "--json", server=server, **env)
    return proc, json.loads(proc.stdout) if proc.stdout.strip() else None
