"""manifest.yml declares what the code handles, and every scope the features use."""

from __future__ import annotations

import re

import pytest

from bot.app import EVENTS_PATH
from bot.ids import COMMAND, CallbackId
from tests.conftest import ROOT

yaml = pytest.importorskip("yaml", reason="pyyaml (a dev dependency) reads the manifest")


@pytest.fixture(scope="module")
def manifest():
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_command_shortcut_and_urls(manifest):
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is False
    shortcuts = [(s["type"], s["callback_id"], s["name"]) for s in manifest["features"]["shortcuts"]]
    assert shortcuts == [
        ("message", CallbackId.DIAGNOSE_BOUNCE, "Diagnose bounce"),
        ("message", CallbackId.ANALYZE_MESSAGE, "Analyse message"),
    ]
    settings = manifest["settings"]
    for url in (
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ):
        assert url.endswith(EVENTS_PATH)
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_scopes_and_events(manifest):
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    required = {
        "commands",
        "chat:write",
        "chat:write.public",
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "im:history",
        "files:read",
        "files:write",
    }
    assert required <= scopes
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "app_home_opened", "message.channels", "message.groups", "message.im"} <= events


def test_every_event_the_handlers_listen_to_is_subscribed(manifest):
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    source = "\n".join(p.read_text() for p in (ROOT / "handlers").glob("*.py"))
    for name in re.findall(r'app\.event\("([a-z_]+)"\)', source):
        assert name in events or any(e.startswith(name + ".") for e in events), name


def test_procfile_declares_web_and_worker():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert "serve" in lines["web"] and "$PORT" in lines["web"]
    assert "socket" in lines["worker"]
