"""The core never imports Slack or the bot's wiring."""

from __future__ import annotations

from tests.conftest import loaded_by_importing


def test_incidents_imports_no_slack_and_no_bot():
    loaded = loaded_by_importing("incidents", "incidents.digest", "incidents.store")
    banned = {"slack_sdk", "slack_bolt", "bot", "handlers"}
    assert [m for m in loaded if m.split(".")[0] in banned] == []
