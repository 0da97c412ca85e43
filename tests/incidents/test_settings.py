"""The incident and digest settings: defaults, parsing, and refusals."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError


def test_defaults():
    s = Settings.from_env({})
    assert (s.database_path, s.incident_window, s.store_raw, s.retention_days) == (
        "./deliverability.db",
        86400.0,
        False,
        30,
    )
    assert (s.digest_channel, s.digest_time, s.digest_tz, s.digest_scheduler) == ("", "09:00", "UTC", True)


def test_parsed_values():
    s = Settings.from_env(
        {
            "INCIDENT_WINDOW": "6h",
            "STORE_RAW": "1",
            "RETENTION_DAYS": "7",
            "DIGEST_CHANNEL": " C0DIGEST ",
            "DIGEST_TIME": "8:30",
            "DIGEST_TZ": "Europe/Paris",
            "DIGEST_SCHEDULER": "off",
        }
    )
    assert (s.incident_window, s.store_raw, s.retention_days) == (21600.0, True, 7)
    assert (s.digest_channel, s.digest_time, s.digest_tz, s.digest_scheduler) == (
        "C0DIGEST",
        "08:30",
        "Europe/Paris",
        False,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INCIDENT_WINDOW", "a day"),
        ("INCIDENT_WINDOW", "0"),
        ("STORE_RAW", "perhaps"),
        ("RETENTION_DAYS", "thirty"),
        ("DIGEST_TIME", "25:00"),
        ("DIGEST_TIME", "9am"),
        ("DIGEST_TZ", "Mars/Olympus"),
    ],
)
def test_bad_values_are_refused_by_name(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
