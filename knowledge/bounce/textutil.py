"""Text helpers for bounce parsing: decoding, Slack unescaping, and finding addresses, IPs and domains.

Every pattern here is written to run in linear time on hostile input: no nested unbounded quantifiers,
and each repeated group starts with a literal that cannot also end the previous repetition.
"""

from __future__ import annotations

import html
import ipaddress
import re
from functools import cache

from publicsuffixlist import PublicSuffixList

# An address: the lookbehind lets a match start only where a local part can start, so a long run of
# address characters is tried once, not once per position.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = re.compile(
    rf"(?<![{_ATEXT}.])(?:\"[^\"\r\n]{{1,64}}\"|[{_ATEXT}][{_ATEXT}.]{{0,63}})@({_LABEL}(?:\.{_LABEL})+)"
)
IPV4_RE = re.compile(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?!\.?\d)")
IPV6_RE = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
DOMAIN_RE = re.compile(rf"(?<![\w.\-@])(?:{_LABEL}\.)+[A-Za-z]{{2,63}}(?![\w\-]|\.\w)")
URL_RE = re.compile(r"(?:https?|ftp)://[^\s<>\"'\]\)]{1,2000}", re.I)

# Documentation ranges: the corpus and many public posts anonymise addresses with them, so they count
# as "named" even though they are not routable.
_DOC_NETS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
_TEST_TLDS = frozenset({"example", "test"})


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False)


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset when Python knows it, else UTF-8, else Latin-1 (never fails)."""
    if b"\x1b$" in data[:4096] and (not charset or charset.lower() in ("us-ascii", "ascii", "utf-8")):
        charset = "iso-2022-jp"
    if charset:
        try:
            return data.decode(charset.strip().strip('"').lower(), "replace")
        except (LookupError, ValueError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or mostly control characters, in the first 8 KB: not text anyone pasted."""
    head = data[:8192]
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > len(head) // 20


_SLACK_LINK = re.compile(r"<((?:mailto:|https?://|ftp://|tel:)[^<>|\s]{1,2000})(?:\|([^<>]{0,2000}))?>")
_SLACK_SPECIAL = re.compile(r"<[@#!][^<>\s]{1,200}>")
_FENCE = re.compile(r"^[ \t]*```[^\n`]{0,40}$", re.M)
_INLINE_FENCE = re.compile(r"```")


def looks_slack(text: str) -> bool:
    return (
        "<mailto:" in text
        or "&lt;" in text
        or "&gt;" in text
        or "```" in text
        or bool(_SLACK_LINK.search(text[:20000]))
    )


def unslack(text: str) -> str:
    """Undo Slack's message formatting: links, code fences, HTML entities, and `>` quote markers."""

    def link(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if label:
            return label
        # An unlabelled link follows the same text in Outlook's plain-text NDRs: keep the words apart.
        return " " + (target[7:] if target.startswith("mailto:") else target)

    text = _SLACK_LINK.sub(link, text)
    text = _SLACK_SPECIAL.sub("", text)
    text = _FENCE.sub("", text)
    text = _INLINE_FENCE.sub("\n", text)
    text = html.unescape(text) if "&" in text else text
    lines = text.split("\n")
    if sum(1 for ln in lines if ln.startswith(">")) > len(lines) // 2:
        lines = [
            ln[1:].lstrip(" ") if ln.startswith(">") and not ln.startswith(">>>") else ln for ln in lines
        ]
    return "\n".join(lines)


def find_addresses(text: str) -> list[str]:
    """Email addresses in order of appearance, lower-cased domain, without duplicates."""
    out: list[str] = []
    seen: set[str] = set()
    if "@" not in text:
        return out
    for m in EMAIL_RE.finditer(text):
        addr = clean_address(m.group(0))
        if addr and addr.lower() not in seen:
            seen.add(addr.lower())
            out.append(addr)
    return out


def clean_address(addr: str) -> str:
    addr = addr.strip().strip("<>[]()',;:.")
    if addr.lower().startswith("mailto:"):
        addr = addr[7:]
    if addr.lower().startswith("rfc822;"):
        addr = addr[7:].strip()
    local, _, domain = addr.rpartition("@")
    domain = domain.strip('"').lower().rstrip(".")
    # A quoted local part keeps its quotes; a stray quote on one side is decoration.
    if not (local.startswith('"') and local.endswith('"') and len(local) > 1):
        local = local.strip('"')
    if not local or not domain:
        return ""
    return f"{local}@{domain}"


def _ip_ok(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if any(ip in net for net in _DOC_NETS):
        return True
    return ip.is_global


def find_ips(text: str, *, public_only: bool = True) -> list[str]:
    """IPv4 and IPv6 addresses named in the text, in order; public (or documentation-range) ones only."""
    found: list[tuple[int, str]] = []
    for m in IPV4_RE.finditer(text):
        found.append((m.start(), m.group(0)))
    if text.count(":") >= 2:
        for m in IPV6_RE.finditer(text):
            cand = m.group(0)
            if cand.count(":") < 2 or (not any(c.isalpha() for c in cand) and "::" not in cand):
                continue
            found.append((m.start(), cand))
    out: list[str] = []
    for _, cand in sorted(found):
        try:
            ip = ipaddress.ip_address(cand)
        except ValueError:
            continue
        if public_only and not _ip_ok(ip):
            continue
        s = str(ip)
        if s not in out:
            out.append(s)
    return out


def is_domain(name: str) -> bool:
    """A syntactically valid name under a known public suffix (or a reserved test TLD)."""
    name = name.lower().rstrip(".")
    if "." not in name or len(name) > 253:
        return False
    if name.rsplit(".", 1)[1] in _TEST_TLDS:
        return True
    return _psl().privatesuffix(name) is not None


def find_domains(text: str) -> list[str]:
    """Domain names written in the text (not URL hosts), in order, lower-cased, without duplicates."""
    if "." not in text:
        return []
    stripped = URL_RE.sub(" ", text) if "://" in text else text
    out: list[str] = []
    for m in DOMAIN_RE.finditer(stripped):
        name = m.group(0).lower().rstrip(".")
        if name not in out and is_domain(name):
            out.append(name)
    for addr in find_addresses(stripped):
        dom = addr.rpartition("@")[2]
        if dom not in out and is_domain(dom):
            out.append(dom)
    return out


_WS = re.compile(r"[ \t\r\f\v]+")
_NL_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """All runs of whitespace (newlines included) to one space."""
    return _NL_WS.sub(" ", text).strip()


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]
