"""Turn what a user typed into a checkable target: a domain (A-label) or a public IP address."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna


class TargetError(ValueError):
    """The input cannot be checked; the message says why in one line."""


@dataclass(frozen=True)
class Target:
    kind: str  # "domain" | "ip"
    value: str


_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_SLACK_LINK = re.compile(r"^<(?:mailto:)?([^|>]+)(?:\|[^>]*)?>$")


def _strip_wrappers(text: str) -> str:
    text = text.strip().strip("`'\"").strip()
    match = _SLACK_LINK.match(text)
    if match:
        text = match.group(1)
    return text.strip()


def public_ip(text: str) -> str:
    """The address in canonical form, or TargetError when it is not a globally routable address."""
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError as exc:
        raise TargetError(f"not an IP address: {text!r}") from exc
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        raise TargetError(f"{ip} is not a public address ({_why_private(ip)}): receivers never see it")
    return str(ip)


def _why_private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "shared address space (CGNAT)"
    for net, label in (
        ("192.0.2.0/24", "documentation"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("2001:db8::/32", "documentation"),
    ):
        if ip.version == ipaddress.ip_network(net).version and ip in ipaddress.ip_network(net):
            return label
    if ip.is_private:
        return "private range"
    if ip.is_unspecified:
        return "unspecified"
    return "reserved range"


def domain_name(text: str) -> str:
    """The A-label form of a domain name, or TargetError saying what is wrong with it."""
    name = text.strip().rstrip(".")
    if not name:
        raise TargetError("empty domain name")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii") if not name.isascii() else name
    except idna.IDNAError as exc:
        raise TargetError(f"not a valid internationalised domain name: {text!r} ({exc})") from exc
    ascii_name = ascii_name.lower()
    if len(ascii_name) > 253:
        raise TargetError(f"domain name too long ({len(ascii_name)} characters, at most 253)")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise TargetError(f"not a domain name: {text!r} (a domain has at least two labels, like example.com)")
    for label in labels:
        if not _LABEL.match(label):
            raise TargetError(f"not a valid domain name: {text!r} (bad label {label!r})")
    if labels[-1].isdigit():
        raise TargetError(f"not a valid domain name: {text!r} (the last label cannot be all digits)")
    return ascii_name


def parse_target(text: str) -> Target:
    """A domain, an email address (its domain), a URL (its host), or an IP address."""
    raw = _strip_wrappers(text or "")
    if not raw:
        raise TargetError("nothing to check: give a domain, an email address or an IP address")
    if any(ch.isspace() for ch in raw):
        raise TargetError(f"not a single domain or address: {raw!r}")
    if "://" in raw:
        host = urlsplit(raw).hostname
        if not host:
            raise TargetError(f"no host in URL: {raw!r}")
        raw = host
    elif "@" in raw:
        raw = raw.rsplit("@", 1)[1]
        if not raw:
            raise TargetError("the email address has no domain")
    candidate = raw.strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return Target("domain", domain_name(raw))
    return Target("ip", public_ip(candidate))
