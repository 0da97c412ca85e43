"""The one reader of the environment: every setting, its default, and how it is parsed."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_BLOCKLISTS_IP = (
    "bl.spamcop.net",
    "psbl.surriel.com",
    "bl.mailspike.net",
    "dnsbl-1.uceprotect.net",
    "all.s5h.net",
)
DEFAULT_BLOCKLISTS_DOMAIN = ("dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com")


class SettingsError(ValueError):
    """A setting in the environment has a value we cannot use."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds from `90`, `90s`, `30m`, `24h`, `7d` or `500ms`."""
    match = _DURATION.match(text)
    if not match:
        raise SettingsError(f"not a duration: {text!r} (use seconds, or 90s, 30m, 24h)")
    unit = match.group(2).lower() if match.group(2) else None
    return float(match.group(1)) * _UNITS[unit]


def parse_switch(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "on", "yes"}:
        return True
    if value in {"0", "false", "off", "no", ""}:
        return False
    raise SettingsError(f"not a switch: {text!r} (use 1/0, true/false, on/off)")


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_nameserver(text: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address → (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "53"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"not a nameserver: {text!r} (use host or host:port)")
    return host, int(port)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read once from the environment by `Settings.from_env`."""

    dns_nameservers: tuple[tuple[str, int], ...] = ()
    dns_timeout: float = 3.0
    check_deadline: float = 10.0
    blocklists_ip: tuple[str, ...] = DEFAULT_BLOCKLISTS_IP
    blocklists_domain: tuple[str, ...] = DEFAULT_BLOCKLISTS_DOMAIN
    spamhaus_dqs_key: str = ""
    max_input_bytes: int = 5_000_000
    database_path: str = "./deliverability.db"
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = ""
    port: int = 3000
    incident_window: float = 86400.0
    store_raw: bool = False
    retention_days: int = 30
    digest_channel: str = ""
    digest_time: str = "09:00"
    digest_tz: str = "UTC"
    digest_scheduler: bool = True
    triage_channels: tuple[str, ...] = ()  # channel ids where every bounce-looking message is diagnosed
    response_private: bool = False  # slash-command answers only to the caller unless `public` is given
    watch_interval: float = 6 * 3600.0  # each watched target is re-checked this often
    watch_channel: str = ""  # where alerts of watches added from the CLI go
    watch_scheduler: bool = True  # serving processes run the watch scheduler
    watch_workspace: str = "cli"  # the workspace watches added from the CLI belong to
    blocklist_rate: float = 10.0  # watch rounds: queries per second per blocklist zone (0: no limit)
    suppressions: bool = True  # keep a suppression list of hard-bouncing recipients (full addresses)
    suppression_retention_days: int = 365  # a suppressed address is dropped this long after its last bounce
    soft_bounce_window: float = 30 * 86400.0  # mailboxfull/suspend bounces counted within this window...
    soft_bounce_threshold: int = 3  # ...suppress the address once there are this many

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, parse in _READERS.items():
            raw = env.get(name)
            if raw is None or (raw.strip() == "" and name not in _EMPTY_MEANS_NONE):
                continue
            try:
                values[name.lower()] = parse(raw)
            except SettingsError as exc:
                raise SettingsError(f"{name}: {exc}") from None
        return cls(**values)


def _text(raw: str) -> str:
    return raw.strip()


def _whole(minimum: int) -> Callable[[str], int]:
    def read(raw: str) -> int:
        if not raw.strip().isdigit() or int(raw) < minimum:
            raise SettingsError(f"not a whole number of at least {minimum}: {raw!r}")
        return int(raw)

    return read


def _port(raw: str) -> int:
    if not raw.strip().isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"not a port number: {raw!r}")
    return int(raw)


def _rate(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"not a number of queries per second: {raw!r}") from None
    if not value >= 0:
        raise SettingsError("must be zero (no limit) or more")
    return value


def _time_of_day(raw: str) -> str:
    hours, _, minutes = raw.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise SettingsError(f"not a time of day: {raw!r} (use HH:MM, like 09:00)")
    return f"{int(hours):02d}:{int(minutes):02d}"


def _time_zone(raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"not a time zone: {raw!r} (use a name like Europe/Paris)") from exc
    return raw.strip()


def _nameservers(raw: str) -> tuple[tuple[str, int], ...]:
    return tuple(parse_nameserver(p) for p in parse_list(raw))


def _positive_duration(raw: str) -> float:
    value = parse_duration(raw)
    if value <= 0:
        raise SettingsError("must be more than zero")
    return value


def _duration_of_a_minute_or_more(raw: str) -> float:
    value = parse_duration(raw)
    if value < 60:
        raise SettingsError("must be at least a minute")
    return value


# Environment variable → parser; the field is the variable's name in lower case.
_READERS: dict[str, Callable[[str], object]] = {
    "DNS_NAMESERVERS": _nameservers,
    "DNS_TIMEOUT": _positive_duration,
    "CHECK_DEADLINE": _positive_duration,
    "BLOCKLISTS_IP": parse_list,
    "BLOCKLISTS_DOMAIN": parse_list,
    "SPAMHAUS_DQS_KEY": _text,
    "MAX_INPUT_BYTES": _whole(1),
    "DATABASE_PATH": str,
    "SLACK_BOT_TOKEN": _text,
    "SLACK_APP_TOKEN": _text,
    "SLACK_SIGNING_SECRET": _text,
    "SLACK_API_URL": _text,
    "PORT": _port,
    "TRIAGE_CHANNELS": parse_list,
    "RESPONSE_PRIVATE": parse_switch,
    "INCIDENT_WINDOW": _positive_duration,
    "STORE_RAW": parse_switch,
    "RETENTION_DAYS": _whole(0),
    "DIGEST_CHANNEL": _text,
    "DIGEST_TIME": _time_of_day,
    "DIGEST_TZ": _time_zone,
    "DIGEST_SCHEDULER": parse_switch,
    "WATCH_INTERVAL": _duration_of_a_minute_or_more,
    "WATCH_SCHEDULER": parse_switch,
    "WATCH_CHANNEL": _text,
    "WATCH_WORKSPACE": _text,
    "BLOCKLIST_RATE": _rate,
    "SUPPRESSIONS": parse_switch,
    "SUPPRESSION_RETENTION_DAYS": _whole(1),
    "SOFT_BOUNCE_WINDOW": _positive_duration,
    "SOFT_BOUNCE_THRESHOLD": _whole(1),
}
# Lists where setting the variable to nothing means "none" rather than "the default".
_EMPTY_MEANS_NONE = {"BLOCKLISTS_IP", "BLOCKLISTS_DOMAIN", "TRIAGE_CHANNELS"}
