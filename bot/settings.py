"""The one reader of the environment: every setting, its default, and how it is parsed."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
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

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value is not None and value.strip() != "" else None

        if (v := get("DNS_NAMESERVERS")) is not None:
            values["dns_nameservers"] = tuple(parse_nameserver(p) for p in parse_list(v))
        if (v := get("DNS_TIMEOUT")) is not None:
            values["dns_timeout"] = parse_duration(v)
        if (v := get("CHECK_DEADLINE")) is not None:
            values["check_deadline"] = parse_duration(v)
        if (v := env.get("BLOCKLISTS_IP")) is not None:
            values["blocklists_ip"] = parse_list(v)
        if (v := env.get("BLOCKLISTS_DOMAIN")) is not None:
            values["blocklists_domain"] = parse_list(v)
        if (v := get("SPAMHAUS_DQS_KEY")) is not None:
            values["spamhaus_dqs_key"] = v.strip()
        if (v := get("MAX_INPUT_BYTES")) is not None:
            if not v.strip().isdigit():
                raise SettingsError(f"MAX_INPUT_BYTES: not a number of bytes: {v!r}")
            values["max_input_bytes"] = int(v)
        if (v := get("DATABASE_PATH")) is not None:
            values["database_path"] = v
        for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
            if (v := get(name)) is not None:
                values[name.lower()] = v.strip()
        if (v := get("PORT")) is not None:
            if not v.strip().isdigit():
                raise SettingsError(f"PORT: not a port number: {v!r}")
            values["port"] = int(v)
        if (v := env.get("TRIAGE_CHANNELS")) is not None:
            values["triage_channels"] = parse_list(v)
        if (v := get("RESPONSE_PRIVATE")) is not None:
            values["response_private"] = parse_switch(v)
        for name in ("DNS_TIMEOUT", "CHECK_DEADLINE"):
            if name.lower() in values and values[name.lower()] <= 0:
                raise SettingsError(f"{name} must be more than zero")
        for name, key, parse in (
            ("INCIDENT_WINDOW", "incident_window", parse_duration),
            ("STORE_RAW", "store_raw", parse_switch),
            ("DIGEST_SCHEDULER", "digest_scheduler", parse_switch),
        ):
            if (v := get(name)) is not None:
                try:
                    values[key] = parse(v)
                except SettingsError as exc:
                    raise SettingsError(f"{name}: {exc}") from None
        if (v := get("RETENTION_DAYS")) is not None:
            if not v.strip().isdigit():
                raise SettingsError(f"RETENTION_DAYS: not a number of days: {v!r}")
            values["retention_days"] = int(v)
        if (v := get("DIGEST_CHANNEL")) is not None:
            values["digest_channel"] = v.strip()
        if (v := get("DIGEST_TIME")) is not None:
            hours, _, minutes = v.strip().partition(":")
            if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
                raise SettingsError(f"DIGEST_TIME: not a time of day: {v!r} (use HH:MM, like 09:00)")
            values["digest_time"] = f"{int(hours):02d}:{int(minutes):02d}"
        if (v := get("DIGEST_TZ")) is not None:
            try:
                ZoneInfo(v.strip())
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise SettingsError(
                    f"DIGEST_TZ: not a time zone: {v!r} (use a name like Europe/Paris)"
                ) from exc
            values["digest_tz"] = v.strip()
        if (v := get("WATCH_INTERVAL")) is not None:
            try:
                values["watch_interval"] = parse_duration(v)
            except SettingsError as exc:
                raise SettingsError(f"WATCH_INTERVAL: {exc}") from None
            if values["watch_interval"] < 60:
                raise SettingsError("WATCH_INTERVAL must be at least a minute")
        if (v := get("WATCH_SCHEDULER")) is not None:
            try:
                values["watch_scheduler"] = parse_switch(v)
            except SettingsError as exc:
                raise SettingsError(f"WATCH_SCHEDULER: {exc}") from None
        for name in ("WATCH_CHANNEL", "WATCH_WORKSPACE"):
            if (v := get(name)) is not None:
                values[name.lower()] = v.strip()
        if (v := get("BLOCKLIST_RATE")) is not None:
            try:
                values["blocklist_rate"] = float(v)
            except ValueError:
                raise SettingsError(f"BLOCKLIST_RATE: not a number of queries per second: {v!r}") from None
            if not values["blocklist_rate"] >= 0:
                raise SettingsError("BLOCKLIST_RATE must be zero (no limit) or more")
        if (v := get("SUPPRESSIONS")) is not None:
            try:
                values["suppressions"] = parse_switch(v)
            except SettingsError as exc:
                raise SettingsError(f"SUPPRESSIONS: {exc}") from None
        if (v := get("SOFT_BOUNCE_WINDOW")) is not None:
            try:
                values["soft_bounce_window"] = parse_duration(v)
            except SettingsError as exc:
                raise SettingsError(f"SOFT_BOUNCE_WINDOW: {exc}") from None
        for name in ("SUPPRESSION_RETENTION_DAYS", "SOFT_BOUNCE_THRESHOLD"):
            if (v := get(name)) is not None:
                if not v.strip().isdigit() or int(v) < 1:
                    raise SettingsError(f"{name}: not a whole number of at least 1: {v!r}")
                values[name.lower()] = int(v)
        if values.get("soft_bounce_window", 1) <= 0:
            raise SettingsError("SOFT_BOUNCE_WINDOW must be more than zero")
        if values.get("incident_window", 1) <= 0:
            raise SettingsError("INCIDENT_WINDOW must be more than zero")
        return cls(**values)
