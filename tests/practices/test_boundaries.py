"""The practices package is core: it never imports Slack or the Slack handlers."""

from __future__ import annotations

from tests.conftest import loaded_by_importing


def test_practices_imports_no_slack():
    loaded = loaded_by_importing(
        "practices.warmup", "practices.streams", "practices.suppressions", "practices.digest"
    )
    banned = {"slack_sdk", "slack_bolt", "handlers"}
    assert [m for m in loaded if m.split(".")[0] in banned] == []
