"""The bulk-sender checklist (Gmail and Yahoo 2024, Microsoft 2025) as far as one message can show it.

Each item is one finding (check "bulk-requirements", `about` the item) linked to its knowledge-base
entry. An item the message can't show (no sending hop, a failed lookup) says so rather than passing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from checks.message.auth import Dmarc, Spf
from checks.message.dkim_verify import Signature
from checks.message.parse import Message, from_addresses
from checks.message.path import Hop
from checks.model import Finding, Status
from checks.rdns import Chain

CHECK = "bulk-requirements"
_ONE_CLICK = "list-unsubscribe=one-click"
_MSGID = re.compile(r"^\s*<[^<>@\s]+@[^<>@\s]+>\s*$")


@dataclass
class Inputs:
    message: Message
    spf: Spf | None
    sigs: list[Signature] | None
    dmarc: Dmarc | None
    chain: Chain | None
    chain_error: str | None
    hop: Hop | None


def _item(about: str, status: Status, summary: str, kb: str, evidence: dict | None = None) -> Finding:
    return Finding(CHECK, status, about, summary, evidence or {}, kb=kb)


def checklist(x: Inputs) -> list[Finding]:
    return [
        _spf(x),
        _dkim(x),
        _dmarc(x),
        _ptr(x),
        _tls(x),
        _unsubscribe(x),
        _rfc5322(x),
    ]


def _spf(x: Inputs) -> Finding:
    about = "SPF passes"
    kb = "bulk-spf-dkim"
    if x.spf is None:
        return _item(about, Status.ERROR, "could not check: SPF evaluation did not finish in time", kb)
    if x.spf.evaluation is None:
        return _item(about, Status.INFO, f"not shown by this message: {x.spf.skipped}", kb)
    result = x.spf.result
    evidence = {"result": result, "ip": x.spf.evaluation.ip, "domain": x.spf.domain}
    if result == "pass":
        return _item(about, Status.PASS, f"SPF pass for {x.spf.evaluation.ip}", kb, evidence)
    if result == "temperror":
        return _item(about, Status.ERROR, "could not check: an SPF lookup failed", kb, evidence)
    if x.spf.envelope_unknown:
        summary = f"not shown: no Return-Path, so the envelope sender is unknown (HELO gives {result})"
        return _item(about, Status.INFO, summary, kb, evidence)
    return _item(
        about, Status.FAIL, f"SPF {result}: Gmail, Yahoo and Microsoft require SPF to pass", kb, evidence
    )


def _dkim(x: Inputs) -> Finding:
    about = "DKIM passes"
    kb = "bulk-spf-dkim"
    if x.sigs is None:
        return _item(about, Status.ERROR, "could not check: DKIM verification did not finish in time", kb)
    passing = [s for s in x.sigs if s.result == "pass"]
    evidence = {"signatures": {s.label: s.result for s in x.sigs}}
    if passing:
        summary = f"DKIM pass (d={', '.join(dict.fromkeys(s.domain for s in passing))})"
        return _item(about, Status.PASS, summary, kb, evidence)
    if not x.sigs:
        return _item(about, Status.FAIL, "the message is not DKIM-signed", kb, evidence)
    if any(s.result == "temperror" for s in x.sigs):
        return _item(about, Status.ERROR, "could not check: a DKIM key lookup failed", kb, evidence)
    if any(s.result == "unverified" for s in x.sigs):
        summary = "not shown: the signature could be checked on the headers only (upload the .eml)"
        return _item(about, Status.INFO, summary, kb, evidence)
    return _item(about, Status.FAIL, "no DKIM signature verifies: bulk senders must sign", kb, evidence)


def _dmarc(x: Inputs) -> Finding:
    about = "DMARC published and aligned"
    kb = "bulk-dmarc"
    d = x.dmarc
    if d is None:
        return _item(about, Status.ERROR, "could not check: DMARC evaluation did not finish in time", kb)
    evidence = {"result": d.result, "from_domain": d.from_domain}
    if d.from_domain is None:
        return _item(about, Status.FAIL, "no usable From domain to evaluate DMARC for", kb, evidence)
    policy = d.record.p if d.record else None
    if d.result == "pass":
        return _item(about, Status.PASS, f"DMARC p={policy} published and the message aligns", kb, evidence)
    if d.result == "temperror":
        return _item(about, Status.ERROR, "could not check: a DMARC lookup failed", kb, evidence)
    if d.result == "none":
        return _item(
            about,
            Status.FAIL,
            f"no DMARC record for {d.from_domain}: p=none at least is required",
            kb,
            evidence,
        )
    if d.result == "permerror":
        return _item(about, Status.FAIL, f"the DMARC record for {d.from_domain} is not usable", kb, evidence)
    if d.result == "unknown":
        summary = (
            "not shown: the envelope sender is unknown (no Return-Path)"
            if d.undecided_kb == "message-path"
            else "not shown: alignment rests on a signature whose body could not be checked"
        )
        return _item(about, Status.INFO, summary, kb, evidence)
    return _item(
        about, Status.FAIL, f"DMARC p={policy} published, but the message does not align", kb, evidence
    )


def _ptr(x: Inputs) -> Finding:
    about = "PTR forward-confirmed"
    kb = "bulk-ptr"
    if x.hop is None or x.hop.ip is None:
        return _item(about, Status.INFO, "not shown: no sending IP was found in the Received headers", kb)
    ip = x.hop.ip
    chain = x.chain
    if chain is None:
        reason = x.chain_error or "the lookup did not finish in time"
        return _item(about, Status.ERROR, f"could not check the PTR of {ip}: {reason}", kb, {"ip": ip})
    evidence = chain.evidence()
    if chain.ptr.failed:
        return _item(
            about,
            Status.ERROR,
            f"could not check: the PTR lookup of {ip} {chain.ptr.describe()}",
            kb,
            evidence,
        )
    if not chain.ptr.ok:
        return _item(
            about, Status.FAIL, f"{ip} has no PTR record: all three receivers require one", kb, evidence
        )
    if chain.confirmed:
        return _item(about, Status.PASS, f"{ip} → {chain.confirmed[0]} → {ip}", kb, evidence)
    failed = [r for r in chain.forward.values() if r.failed]
    if failed:
        summary = f"could not check: the forward lookup of {failed[0].name} {failed[0].describe()}"
        return _item(about, Status.ERROR, summary, kb, evidence)
    summary = f"the PTR of {ip} ({', '.join(chain.names)}) does not resolve back to {ip}"
    return _item(about, Status.FAIL, summary, kb, evidence)


def _tls(x: Inputs) -> Finding:
    about = "TLS on the sending hop"
    kb = "bulk-tls"
    hop = x.hop
    if hop is None:
        return _item(about, Status.INFO, "not shown: no sending hop was found in the Received headers", kb)
    evidence = {"received": hop.raw, "with": hop.protocol}
    where = f"from {hop.ip} to {hop.by or '?'}"
    if hop.tls:
        return _item(
            about, Status.PASS, f"the hop {where} used TLS (with {hop.protocol or 'TLS noted'})", kb, evidence
        )
    if hop.tls is False:
        summary = f"the hop {where} was recorded 'with {hop.protocol}': no TLS, which Gmail requires"
        return _item(about, Status.FAIL, summary, kb, evidence)
    return _item(
        about,
        Status.INFO,
        f"the Received header for the hop {where} doesn't say whether TLS was used",
        kb,
        evidence,
    )


def _unsubscribe(x: Inputs) -> Finding:
    about = "one-click unsubscribe"
    kb = "bulk-one-click-unsubscribe"
    m = x.message
    values = m.all("List-Unsubscribe")
    posts = m.all("List-Unsubscribe-Post")
    evidence: dict = {"list_unsubscribe": values, "list_unsubscribe_post": posts}
    if not values:
        if posts:
            return _item(
                about,
                Status.FAIL,
                "List-Unsubscribe-Post without a List-Unsubscribe header: one-click can't work",
                kb,
                evidence,
            )
        summary = (
            "no List-Unsubscribe header: marketing and subscribed bulk mail needs one-click unsubscribe "
            "(transactional mail is exempt)"
        )
        return _item(about, Status.WARN, summary, kb, evidence)
    if len(values) > 1:
        return _item(
            about,
            Status.FAIL,
            f"{len(values)} List-Unsubscribe headers: receivers may ignore them; send one",
            kb,
            evidence,
        )
    uris = [u.strip() for u in re.findall(r"<([^<>]*)>", values[0])]
    evidence["uris"] = uris
    https = [u for u in uris if u.lower().startswith("https://")]
    one_click = any(re.sub(r"\s+", "", p).lower() == _ONE_CLICK for p in posts)
    if not https:
        kinds = (
            " and ".join(sorted({u.split(":", 1)[0].lower() for u in uris})) + " URIs" if uris else "no <URI>"
        )
        if posts:
            summary = (
                f"List-Unsubscribe-Post is present but List-Unsubscribe has no https URI ({kinds}): "
                "one-click can't work"
            )
            return _item(about, Status.FAIL, summary, kb, evidence)
        summary = (
            f"List-Unsubscribe has only {kinds}: Yahoo accepts a mailto, but Gmail's one-click needs an "
            "https URI and List-Unsubscribe-Post: List-Unsubscribe=One-Click"
        )
        return _item(about, Status.WARN, summary, kb, evidence)
    if not one_click:
        if posts:
            summary = (
                f"List-Unsubscribe-Post must read exactly 'List-Unsubscribe=One-Click' (found {posts[0]!r})"
            )
            return _item(about, Status.FAIL, summary, kb, evidence)
        summary = (
            "List-Unsubscribe has an https URI but no 'List-Unsubscribe-Post: List-Unsubscribe=One-Click'"
        )
        return _item(about, Status.WARN, summary, kb, evidence)
    return _signed(x, about, kb, evidence)


def _signed(x: Inputs, about: str, kb: str, evidence: dict) -> Finding:
    """RFC 8058 §4: both headers must be covered by a valid DKIM signature, or receivers ignore them."""
    sigs = x.sigs
    if sigs is None:
        return _item(
            about,
            Status.ERROR,
            "could not check whether a DKIM signature covers the headers (timed out)",
            kb,
            evidence,
        )
    covering = [s for s in sigs if s.covers("list-unsubscribe", "list-unsubscribe-post")]
    evidence["covered_by"] = [s.label for s in covering]
    good = [s for s in covering if s.result == "pass" or (s.result == "unverified" and s.headers_verified)]
    if good:
        summary = (
            f"one-click unsubscribe: https URI and List-Unsubscribe-Post, both signed by d={good[0].domain}"
        )
        return _item(about, Status.PASS, summary, kb, evidence)
    if any(s.result == "temperror" for s in covering):
        return _item(
            about,
            Status.ERROR,
            "could not check: the key of the signature covering the headers could not be fetched",
            kb,
            evidence,
        )
    if covering:
        summary = (
            "one-click headers are in h= of a signature that does not verify: receivers ignore one-click "
            "without a valid DKIM signature covering both (RFC 8058)"
        )
        return _item(about, Status.FAIL, summary, kb, evidence)
    summary = (
        "one-click headers present, but no DKIM signature covers both List-Unsubscribe and "
        "List-Unsubscribe-Post (add them to h=; RFC 8058)"
    )
    return _item(about, Status.FAIL, summary, kb, evidence)


def _rfc5322(x: Inputs) -> Finding:
    about = "one From, a Date and a Message-ID"
    kb = "bulk-from-date-msgid"
    m = x.message
    counts = {name: m.count(name) for name in ("From", "Date", "Message-ID")}
    evidence: dict = {"counts": counts}
    problems: list[str] = []
    for name, n in counts.items():
        if n == 0:
            problems.append(f"no {name}")
        elif n > 1:
            problems.append(f"{n} {name} headers")
    others = {k: n for k, n in m.duplicates().items() if k not in ("from", "date", "message-id")}
    if others:
        evidence["other_duplicates"] = others
        problems.extend(f"{n} {k} headers" for k, n in sorted(others.items()))
    if problems:
        return _item(
            about,
            Status.FAIL,
            f"RFC 5322 allows exactly one of each; this message has {', '.join(problems)}",
            kb,
            evidence,
        )
    warnings: list[str] = []
    mailboxes = from_addresses(m.first("From") or "")
    if len(mailboxes) > 1:
        warnings.append(
            f"From lists {len(mailboxes)} addresses (DMARC needs one domain; many receivers refuse it)"
        )
    elif mailboxes[0].domain is None:
        warnings.append(f"From has no usable address ({mailboxes[0].problem})")
    date = m.first("Date") or ""
    try:
        parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        warnings.append(f"the Date {date!r} is not an RFC 5322 date")
    msgid = m.first("Message-ID") or ""
    if not _MSGID.match(msgid):
        warnings.append(f"the Message-ID {msgid!r} is not <id@domain>")
    if warnings:
        evidence["problems"] = warnings
        status = Status.FAIL if mailboxes[0].domain is None else Status.WARN
        return _item(about, status, "; ".join(warnings), kb, evidence)
    return _item(about, Status.PASS, "exactly one From, Date and Message-ID, well formed", kb, evidence)
