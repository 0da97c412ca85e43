"""Settings: every value parsed from the environment, bad values refused with a clear message."""

import pytest

from bot.settings import Settings, SettingsError, parse_duration, parse_nameserver, parse_switch


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("24h", 86400), ("1.5", 1.5), ("250ms", 0.25)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "ten", "5x", "-3", "1h30m"])
def test_bad_durations(text):
    with pytest.raises(SettingsError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "value"), [("1", True), ("on", True), ("TRUE", True), ("0", False), ("off", False)]
)
def test_switches(text, value):
    assert parse_switch(text) is value


def test_bad_switch():
    with pytest.raises(SettingsError):
        parse_switch("maybe")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("2001:db8::53", ("2001:db8::53", 53)),
    ],
)
def test_nameservers(text, value):
    assert parse_nameserver(text) == value


def test_from_env_reads_everything():
    s = Settings.from_env(
        {
            "DNS_NAMESERVERS": "127.0.0.1:5353, [::1]:53",
            "DNS_TIMEOUT": "2s",
            "CHECK_DEADLINE": "1m",
            "BLOCKLISTS_IP": "a.example, b.example",
            "BLOCKLISTS_DOMAIN": "",
        }
    )
    assert s.dns_nameservers == (("127.0.0.1", 5353), ("::1", 53))
    assert s.dns_timeout == 2.0
    assert s.check_deadline == 60.0
    assert s.blocklists_ip == ("a.example", "b.example")
    assert s.blocklists_domain == ()


def test_defaults():
    s = Settings.from_env({})
    assert s.dns_nameservers == ()
    assert s.dns_timeout == 3.0
    assert s.check_deadline == 10.0
    assert s.blocklists_ip and s.blocklists_domain


@pytest.mark.parametrize("env", [{"DNS_TIMEOUT": "0"}, {"DNS_NAMESERVERS": "host:99999"}, {"PORT": "http"}])
def test_bad_env(env):
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_every_setting_has_a_variable_and_is_documented():
    from dataclasses import fields
    from pathlib import Path

    from bot.settings import _READERS

    assert {f.name for f in fields(Settings)} == {name.lower() for name in _READERS}
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    undocumented = [name for name in _READERS if f"`{name}`" not in readme]
    assert not undocumented, f"README does not describe {undocumented}"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"WATCH_INTERVAL": "30s"}, "WATCH_INTERVAL"),
        ({"DIGEST_TIME": "25:00"}, "DIGEST_TIME"),
        ({"DIGEST_TZ": "Mars/Base"}, "DIGEST_TZ"),
        ({"BLOCKLIST_RATE": "-1"}, "BLOCKLIST_RATE"),
        ({"SOFT_BOUNCE_THRESHOLD": "0"}, "SOFT_BOUNCE_THRESHOLD"),
        ({"RESPONSE_PRIVATE": "perhaps"}, "RESPONSE_PRIVATE"),
    ],
)
def test_errors_name_the_variable(env, names):
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert str(err.value).startswith(names)


def test_empty_lists_mean_none_but_empty_values_mean_default():
    s = Settings.from_env({"TRIAGE_CHANNELS": "", "DNS_TIMEOUT": " ", "PORT": ""})
    assert s.triage_channels == () and s.dns_timeout == 3.0 and s.port == 3000
