"""The watch settings: defaults, parsing, and refusals by name."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError


def test_defaults():
    s = Settings.from_env({})
    assert (s.watch_interval, s.watch_channel, s.watch_scheduler, s.watch_workspace, s.blocklist_rate) == (
        6 * 3600.0,
        "",
        True,
        "cli",
        10.0,
    )


def test_parsed_values():
    s = Settings.from_env(
        {
            "WATCH_INTERVAL": "30m",
            "WATCH_CHANNEL": " C0OPS ",
            "WATCH_SCHEDULER": "off",
            "WATCH_WORKSPACE": "T123",
            "BLOCKLIST_RATE": "2.5",
        }
    )
    assert (s.watch_interval, s.watch_channel, s.watch_scheduler, s.watch_workspace, s.blocklist_rate) == (
        1800.0,
        "C0OPS",
        False,
        "T123",
        2.5,
    )
    assert Settings.from_env({"BLOCKLIST_RATE": "0"}).blocklist_rate == 0.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WATCH_INTERVAL", "soon"),
        ("WATCH_INTERVAL", "30s"),
        ("WATCH_SCHEDULER", "maybe"),
        ("BLOCKLIST_RATE", "fast"),
        ("BLOCKLIST_RATE", "-1"),
        ("BLOCKLIST_RATE", "nan"),
    ],
)
def test_bad_values_are_refused_by_name(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
