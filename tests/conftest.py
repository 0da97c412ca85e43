"""Shared fixtures: the loopback DNS server, settings pointing at it, and the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.dnsserver import DnsTestServer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# Nothing in the tests may reach the internet: any lookup not pointed at a test server goes to a
# closed loopback port and fails at once instead of asking the system resolver.
os.environ["DNS_NAMESERVERS"] = "127.0.0.1:9"
for _name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
    os.environ.pop(_name, None)


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


def run_cli_json(*args: str, server: DnsTestServer | None = None, **env: str):
    proc = run_cli(*args, "--json", server=server, **env)
    return proc, json.loads(proc.stdout) if proc.stdout.strip() else None
