"""The suppression list's settings: defaults, switches, and values refused with a clear message."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError
from practices.suppressions import Policy


def test_defaults():
    settings = Settings.from_env({})
    assert settings.suppressions is True and settings.suppression_retention_days == 365
    policy = Policy.from_settings(settings)
    assert (
        policy.enabled and policy.threshold == 3 and policy.window.days == 30 and policy.retention.days == 365
    )


def test_values_from_the_environment():
    settings = Settings.from_env(
        {
            "SUPPRESSIONS": "off",
            "SUPPRESSION_RETENTION_DAYS": "90",
            "SOFT_BOUNCE_WINDOW": "14d",
            "SOFT_BOUNCE_THRESHOLD": "2",
        }
    )
    policy = Policy.from_settings(settings)
    assert not policy.enabled and policy.retention.days == 90
    assert policy.window.days == 14 and policy.threshold == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SUPPRESSIONS", "maybe"),
        ("SUPPRESSION_RETENTION_DAYS", "a year"),
        ("SUPPRESSION_RETENTION_DAYS", "0"),
        ("SOFT_BOUNCE_WINDOW", "soon"),
        ("SOFT_BOUNCE_WINDOW", "0"),
        ("SOFT_BOUNCE_THRESHOLD", "0"),
        ("SOFT_BOUNCE_THRESHOLD", "-1"),
    ],
)
def test_bad_values_name_the_setting(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
