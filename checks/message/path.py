"""The route a message took, from its Received headers: which hop the receiver accepted it from, and how.

Every server a message passes adds a Received header on top, so they read newest first. The hop that
matters for SPF, PTR and TLS is the first one (walking down) added outside the sender's own systems,
where the receiving side took the message from the sender. Walking down, a hop is skipped when:

    its `from` part names no IP                 (`by` only: a local pickup or an internal queue)
    the IP is private, loopback or reserved     (a relay inside one organisation)
    the `from` host is in a receiving domain    (the receiver's own relays: its MX passing inwards)

The receiving domains are the organisational domains of the topmost `by` host and of the topmost
Authentication-Results author. When a sender and receiver share a provider (Gmail to Gmail) every
public hop is "receiving": then the lowest such hop above an authenticated submission is taken.

A receiver that wrote down the IP it evaluated (Authentication-Results "sender IP is ...",
smtp.remote-ip, Received-SPF client-ip) settles the question when that header sits above the hop
from that IP: see `choose`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from checks.dns import valid_hostname
from checks.psl import organizational_domain

KEYWORDS = ("from", "by", "via", "with", "id", "for")
_BRACKET_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")
_BARE_IP = re.compile(r"(?<![\w.:])((?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]+)(?![\w:])")
_HELO = re.compile(r"(?:\bhelo=|\b(?:HELO|EHLO)\s+)([^\s()\]]+)")
# RFC 3848: ESMTPS/ESMTPSA/LMTPS... record TLS, ESMTPA/ESMTPSA... authentication.
_TLS_PROTOCOL = re.compile(r"^(?:UTF8)?(?:E?SMTP|LMTP)SA?$", re.IGNORECASE)
_AUTH_PROTOCOL = re.compile(r"^(?:UTF8)?(?:E?SMTP|LMTP)S?A$", re.IGNORECASE)
# How other servers write it: Postfix "(using TLSv1.3 with cipher ...)", Microsoft "(version=TLS1_2,
# cipher=...)", Exim "(TLS1.3) tls TLS_AES_256_GCM_SHA384", Gmail "(version=TLS1_3 cipher=...)".
_TLS_TEXT = re.compile(r"\b(?:using TLS|version=TLS|TLS ?v?1(?:[._]?[0-3])?\b|tls TLS_|with cipher)", re.I)
_AUTH_TEXT = re.compile(r"\bauthenticated\b", re.IGNORECASE)
_ENVELOPE_FROM = re.compile(r"envelope-from[ =]<?([^\s<>()]*)>?", re.IGNORECASE)


@dataclass
class Hop:
    """One Received header, parsed as far as its free-form text allows."""

    index: int  # 0 is the topmost (newest)
    raw: str
    position: int = 0  # where its header sits among all the message's header fields
    helo: str | None = None
    rdns: str | None = None  # the name the receiving server found for the IP, when it wrote one
    ip: str | None = None
    by: str | None = None
    protocol: str | None = None  # the `with` word: ESMTPS, SMTP, LMTP...
    tls: bool | None = None  # None: the header doesn't say
    authenticated: bool = False
    envelope_from: str | None = None
    date: str | None = None

    def names(self) -> list[str]:
        return [n for n in (self.rdns, self.helo) if n and "." in n and valid_hostname(n)]

    def describe(self) -> str:
        who = self.rdns or self.helo or "?"
        by = f" by {self.by}" if self.by else ""
        with_ = f" with {self.protocol}" if self.protocol else ""
        return f"from {who} [{self.ip or 'no IP'}]{by}{with_}"

    def evidence(self) -> dict:
        data: dict = {"index": self.index, "ip": self.ip, "helo": self.helo, "rdns": self.rdns, "by": self.by}
        data["with"] = self.protocol
        data["tls"] = self.tls
        if self.authenticated:
            data["authenticated"] = True
        return data


def _split_date(value: str) -> tuple[str, str | None]:
    depth = 0
    last = -1
    for i, ch in enumerate(value):
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == ";" and depth == 0:
            last = i
    if last < 0:
        return value, None
    return value[:last], value[last + 1 :].strip() or None


def _tokens(text: str) -> list[tuple[str, str]]:
    """("word", w) and ("comment", c) in order; comments nest, and an unclosed one runs to the end."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            depth = 0
            j = i
            while j < len(text):
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append(("comment", text[i + 1 : j]))
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] != "(":
                j += 1
            out.append(("word", text[i:j]))
            i = j
    return out


def _ip(text: str) -> str | None:
    for pattern in (_BRACKET_IP, _BARE_IP):
        for match in pattern.finditer(text):
            try:
                ip = ipaddress.ip_address(match.group(1))
            except ValueError:
                continue
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                ip = ip.ipv4_mapped
            return str(ip)
    return None


def _host(word: str) -> str | None:
    word = word.strip().strip("<>").rstrip(".").lower()
    if not word or word.startswith("[") or word == "unknown":
        return None
    return word


def parse_received(value: str, index: int = 0, position: int = 0) -> Hop:
    body, date = _split_date(value)
    hop = Hop(index, value, position, date=date)
    clauses: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for kind, text in _tokens(body):
        if kind == "word" and text.lower() in KEYWORDS and text.lower() not in clauses:
            current = clauses[text.lower()] = []
            continue
        if current is not None:
            current.append((kind, text))
    from_part = clauses.get("from", [])
    from_text = " ".join(t for _, t in from_part)
    words = [t for k, t in from_part if k == "word"]
    comments = [t for k, t in from_part if k == "comment"]
    if from_part:
        hop.ip = _ip(" ".join(f"({c})" for c in comments)) or _ip(" ".join(words))
        if words:
            hop.helo = _host(words[0]) or (words[0].strip("[]") if words[0].startswith("[") else None)
        match = _HELO.search(from_text)
        if match:
            hop.helo = match.group(1).rstrip(".").lower()
        for comment in comments:
            named = re.search(r"([A-Za-z0-9][A-Za-z0-9._-]*)\.?\s+\[", comment)
            if named and named.group(1).lower() != "unknown" and "=" not in named.group(1):
                hop.rdns = named.group(1).rstrip(".").lower()
                break
    by_words = [t for k, t in clauses.get("by", []) if k == "word"]
    if by_words:
        hop.by = _host(by_words[0])
    with_words = [t for k, t in clauses.get("with", []) if k == "word"]
    if with_words:
        hop.protocol = with_words[0]
        if [w.lower() for w in with_words[:3]] == ["microsoft", "smtp", "server"]:
            hop.protocol = "Microsoft SMTP Server"  # Exchange names itself, not the protocol
    if _TLS_TEXT.search(body) or (hop.protocol and _TLS_PROTOCOL.match(hop.protocol)):
        hop.tls = True
    elif hop.protocol and re.match(r"^(?:UTF8)?(?:E?SMTP|LMTP)A?$", hop.protocol, re.IGNORECASE):
        hop.tls = False
    hop.authenticated = bool((hop.protocol and _AUTH_PROTOCOL.match(hop.protocol)) or _AUTH_TEXT.search(body))
    match = _ENVELOPE_FROM.search(body)
    if match:
        hop.envelope_from = match.group(1)
    return hop


@dataclass
class Path:
    """The hop chosen as the sender's, why, and what became of every other hop."""

    hops: list[Hop]
    chosen: Hop | None
    reason: str
    receiving: list[str] = field(default_factory=list)  # organisational domains taken as the receiver's
    steps: list[dict] = field(default_factory=list)

    def evidence(self) -> dict:
        data: dict = {"received_headers": len(self.hops), "receiving_domains": self.receiving}
        data["walk"] = self.steps
        if self.chosen is not None:
            data["chosen"] = self.chosen.evidence()
            data["chosen_header"] = self.chosen.raw
        data["reason"] = self.reason
        return data


def _public(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return addr.is_global and not addr.is_multicast


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def receiving_domains(hops: list[Hop], authserv_ids: list[str]) -> list[str]:
    found: list[str] = []
    # Yahoo writes `by 10.217.151.75`: an address names no domain.
    top_by = next(
        (h.by for h in hops if h.by and "." in h.by and not _is_ip(h.by) and valid_hostname(h.by)), None
    )
    candidates = [top_by] if top_by else []
    candidates += [a for a in authserv_ids[:1] if "." in a and valid_hostname(a)]
    for name in candidates:
        org = organizational_domain(name)
        if org not in found:
            found.append(org)
    return found


@dataclass(frozen=True)
class Recorded:
    """The connecting IP a receiver wrote down (Authentication-Results, Received-SPF), and where."""

    ip: str
    position: int  # the header's place among all header fields
    source: str  # "Authentication-Results by mx.example", "Received-SPF"


def choose(hops: list[Hop], authserv_ids: list[str] = (), recorded: Recorded | None = None) -> Path:
    """Pick the hop where the receiving side took the message from the sender.

    The walk decides, unless a receiver recorded which IP it evaluated: that header, when it sits above
    the Received header of a hop from that IP, was written after that hop by the receiving side (a
    sender can only add headers below it), so that hop is the one the receiver judged.
    """
    receiving = receiving_domains(hops, list(authserv_ids))
    path = Path(hops, None, "", receiving)
    _walk(path, hops, receiving)
    if recorded is None:
        return path
    match = next((h for h in hops if h.ip == recorded.ip and h.position > recorded.position), None)
    if match is None:
        return path
    path.steps.append({"recorded_ip": recorded.ip, "recorded_by": recorded.source})
    if path.chosen is match:
        path.reason += f"; {recorded.source} names the same address"
        return path
    walked = ""
    if path.chosen is not None:
        walked = f" (the walk alone would pick #{path.chosen.index + 1})"
        for step in path.steps:
            step.pop("chosen", None)
    path.chosen = match
    path.reason = (
        f"{recorded.source} records {recorded.ip} as the connecting address, the hop in Received "
        f"#{match.index + 1}{walked}"
    )
    return path


def _walk(path: Path, hops: list[Hop], receiving: list[str]) -> None:
    if not hops:
        path.reason = "the message has no Received headers, so the sending IP can't be known"
        return
    inside: Hop | None = None  # the lowest public hop seen so far inside the receiving domains
    for hop in hops:
        step = {"index": hop.index, "hop": hop.describe()}
        path.steps.append(step)
        if hop.ip is None:
            step["skipped"] = "no IP address in its from part"
            continue
        if not _public(hop.ip):
            step["skipped"] = f"{hop.ip} is not a public address (a relay inside one network)"
            continue
        orgs = {organizational_domain(n) for n in hop.names()}
        if receiving and orgs & set(receiving):
            step["skipped"] = (
                f"the sending host is in {', '.join(sorted(orgs & set(receiving)))}, the receiving side"
            )
            inside = hop
            continue
        if hop.authenticated and inside is not None:
            step["skipped"] = "an authenticated submission from a mail client"
            path.chosen = inside
            path.reason = (
                f"the sender and receiver share {', '.join(receiving)}: the lowest hop inside it, above "
                f"the author's authenticated submission, is the sending hop (Received #{inside.index + 1})"
            )
            return
        step["chosen"] = True
        path.chosen = hop
        where = f" outside {', '.join(receiving)}" if receiving else ""
        path.reason = f"Received #{hop.index + 1} from the top is the first hop from a public address{where}"
        if hop.authenticated:
            path.reason += " (an authenticated submission: SPF is not what the receiver applied here)"
        return
    if inside is not None:
        path.chosen = inside
        path.reason = (
            f"every hop from a public address is inside {', '.join(receiving)}; the lowest of them "
            f"(Received #{inside.index + 1}) is taken as the sending hop"
        )
        return
    path.reason = "no Received header names a public IP address the message came from"
