"""A recipient's result under construction, and how it becomes a BounceResult: codes picked, the
remote host and provider found, the reason classified, IPs and domains listed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import parseaddr

from knowledge.bounce import mime, smtp
from knowledge.bounce.model import BounceResult
from knowledge.bounce.providers import candidates, host_provider
from knowledge.bounce.reasons import Evidence, classify, is_hard
from knowledge.bounce.textutil import clean_address, find_addresses, find_domains, find_ips, squash

DIAG_LIMIT = 4000  # characters of diagnostic kept per recipient; classification never reads more
TEXT_LIMIT = 200_000  # characters of a notification searched for recipients


@dataclass
class Draft:
    """A recipient's result under construction, before codes and reason are worked out."""

    recipient: str | None = None
    action: str | None = None
    status: str | None = None  # the DSN Status field
    diagnostic: str = ""
    diagnostic_type: str | None = None
    remote_mta: str | None = None
    command: str | None = None
    preset: str | None = None
    feedback_type: str | None = None
    reporting_mta: str | None = None  # who wrote the report (its own rules may apply to what it says)
    reported_by: str | None = None  # the report's format (knowledge.bounce.formats), when recognised
    pasted: bool = False  # read from pasted text, not from a report
    extra: list[str] = field(default_factory=list)  # more of the report that mentions this recipient


@dataclass
class Original:
    """What the bounce tells of the message that was returned."""

    sender: str | None = None
    subject: str | None = None
    message_id: str | None = None
    to: list[str] = field(default_factory=list)
    envelope_sender: str | None = None


def address(value: str) -> str | None:
    """The first email address in a header value or DSN field ("Name <a@b>", "rfc822; a@b")."""
    if not value or "@" not in value:
        return None
    found = find_addresses(value)
    if found:
        return found[0]
    _, addr = parseaddr(value)
    addr = clean_address(addr) if addr else ""
    return addr if "@" in addr else None


def exclusions(parts: mime.Parts, original: Original, addressee: bool = True) -> set[str]:
    """Addresses that are never the failed recipient: the bounce's own sender and its addressee (the
    original sender), and the original message's sender."""
    out: set[str] = set()
    for value in (mime.header(parts.top, "From"), mime.header(parts.top, "To") if addressee else ""):
        a = address(value)
        if a:
            out.add(a.lower())
    for a in (original.sender, original.envelope_sender):
        if a:
            out.add(a.lower())
    return out


# --- finishing a recipient's result ----------------------------------------------------------------------

_REMOTE_PATTERNS = (
    re.compile(r"host ([A-Za-z0-9][\w.\-]{0,250}?)\.?\s?\[([0-9A-Fa-f:.]{3,45})\]"),
    re.compile(r"([A-Za-z0-9][\w.\-]{0,250}\.[A-Za-z]{2,})\.?\s?\[([0-9A-Fa-f:.]{3,45})\](?:[: ]|$)"),
    re.compile(r"while talking to ([A-Za-z0-9][\w.\-]{0,250}\.[A-Za-z]{2,})\.?:"),
    re.compile(r"(?:^|\s)(\d{1,3}(?:\.\d{1,3}){3}) (?:does not like|failed after)"),
    re.compile(r"Connected to (\d{1,3}(?:\.\d{1,3}){3}) but"),
    re.compile(r"smtp server <([A-Za-z0-9][\w.\-]{0,250})>", re.I),
    re.compile(r"smtp:\w+ host (\d{1,3}(?:\.\d{1,3}){3})", re.I),
    re.compile(r"by ([A-Za-z0-9][\w.\-]{0,250}\.[A-Za-z]{2,})\.? \[([0-9A-Fa-f:.]{3,45})\]"),
)
_DECORATION = (
    re.compile(r"^.{0,300}?host \S{1,255} ?\[[0-9A-Fa-f:.]{3,45}\] said:\s*", re.I),
    re.compile(r"\s*\(in reply to [A-Za-z ]{2,30} command\)\s*$", re.I),
)
_MS_INTERNAL = re.compile(r"\.(?:prod|protection)\.outlook\.com$|\.prod\.exchangelabs\.com$|\.outlook\.com$")


def _remote_from_text(text: str) -> tuple[str | None, str | None]:
    for rx in _REMOTE_PATTERNS:
        m = rx.search(text)
        if m:
            host = m.group(1).rstrip(".")
            ip = m.group(2) if m.lastindex and m.lastindex >= 2 else None
            if re.fullmatch(r"[\d.]+", host):
                return host, host
            return host, ip
    return None, None


def _yahoo_code(ip: str, text: str) -> bool:
    """Yahoo appends its own dotted error code ("... complaints - 4.16.55.1;"), which reads like an IP."""
    return bool(re.match(r"[45]\.1\d\.\d{1,3}\.\d{1,3}$", ip)) and f"- {ip}" in text


def _dedupe_lines(text: str) -> str:
    seen: set[str] = set()
    out = []
    for ln in text.split("\n"):
        key = " ".join(ln.split()).lower()
        if not key or key in seen:
            continue
        seen.add(key)
        out.append(ln.strip())
    return "\n".join(out)


def _dedupe_repeats(text: str) -> str:
    """Collapse "A A" (a diagnostic repeated whole, as transcripts and DSNs often do) to "A"."""
    n = len(text)
    if n >= 20:
        half = text[: n // 2].strip()
        if half and text[n // 2 :].strip() == half:
            return half
    return text


_WORD = re.compile(r"[^\W\d_]{3,}")


def _informative(text: str) -> bool:
    return len(_WORD.findall(text[:400])) >= 2


_FAILURE_CODE = re.compile(r"(?<![\w.])(?:[45]\d\d[ \-'\"]|[45]\.\d{1,3}\.\d{1,3}(?![\d.]))")


def _display(text: str) -> str:
    """What to show as the receiver's words: from the first quoted failure reply on, when there is one
    after some preamble (Exchange's "Remote Server returned '550 ...'", Gmail's "The response was: ...")."""
    m = _FAILURE_CODE.search(text)
    if m and m.start() > 0:
        # Keep the clause that introduces the reply ("Remote host said:", "host mx[ip] said:"), but not
        # a transcript's ">>> DATA".
        sentence = text.rfind(". ", 0, m.start())
        marker = text.rfind("<<<", 0, m.start())
        start = max(sentence + 2 if sentence >= 0 else 0, marker if marker >= 0 else 0)
        text = text[start:]
    return text.replace("<<< ", "").replace("<<<", "")


def _texts(d: Draft) -> tuple[str, str]:
    """(main, full): the report's own diagnostic for the recipient, and everything said about it."""
    diag_raw = d.diagnostic or ""
    extra = "\n".join(x for x in d.extra if x)
    if diag_raw and extra and squash(extra).lower() != squash(diag_raw).lower():
        combined = extra if squash(diag_raw).lower() in squash(extra).lower() else diag_raw + "\n" + extra
    else:
        combined = diag_raw or extra
    combined = _dedupe_lines(combined[: DIAG_LIMIT * 4])
    full = _dedupe_repeats(squash(smtp.strip_continuations(combined))[:DIAG_LIMIT])
    main = squash(smtp.strip_continuations(diag_raw))[:DIAG_LIMIT] if diag_raw else ""
    # The report's own Diagnostic-Code speaks for the recipient; the human-readable text only fills in
    # what it leaves out (the command, the remote host) or stands in when it says nothing useful.
    return (main if _informative(main) else full), full


def _codes(main: str, full: str) -> tuple[str | None, str | None]:
    reply, status = smtp.find_codes(main)
    if full != main and (not status or status.endswith(".0.0") or not reply or reply.endswith("00")):
        # A vague Diagnostic-Code ("550 5.0.0 ..."): the human-readable part may quote the reply whole.
        more_reply, more_status = smtp.find_codes(full)
        if more_status and not more_status.endswith(".0.0") and (not status or status.endswith(".0.0")):
            status = more_status
        if more_reply and not more_reply.endswith("00") and (not reply or reply.endswith("00")):
            reply = more_reply
    return reply, status


def finish(d: Draft, original: Original) -> BounceResult:
    """Work out codes, remote host, provider, reason, IPs and domains, and build the result."""
    main, full = _texts(d)
    low = main.lower()
    reply, in_text = _codes(main, full)
    status = smtp.prefer_status(d.status, in_text, reply)
    command = d.command or smtp.find_command(full)
    remote_host, remote_ip = _remote_from_text(full)
    remote = d.remote_mta or remote_host
    action = d.action
    if action in (None, "", "failure", "failed"):
        action = "failed"
    if action == "failed" and (status or "").startswith("4") and not d.action:
        action = "delayed"
    providers = candidates(remote, low, d.recipient)
    provider = providers[0] if providers else None
    # The reporting MTA never names the receiver, but its own wordings are its provider's to explain.
    reporter = host_provider(d.reporting_mta)
    rule_sources = (*providers, reporter) if reporter and reporter not in providers else tuple(providers)
    reason = classify(
        Evidence(
            diagnostic=low,
            status=status,
            reply=reply,
            command=command,
            action=d.action or action,
            diagnostic_type=d.diagnostic_type,
            provider=provider,
            providers=rule_sources,
            preset=d.preset,
            reported_by=d.reported_by,
            pasted=d.pasted,
        )
    )
    if reason == "delivered":
        action = "delivered"
    clean = main if d.diagnostic and main != full else _display(main or full)
    for rx in _DECORATION:
        clean = rx.sub("", clean)
    ips = [ip for ip in find_ips(full) if ip != remote_ip and ip != remote and not _yahoo_code(ip, full)]
    skip = {(remote or "").lower(), (remote_host or "").lower()}
    domains = [
        dom
        for dom in find_domains(full)
        if dom not in skip
        and not _MS_INTERNAL.search(dom)
        and not dom.endswith((".in-addr.arpa", ".ip6.arpa"))
    ]
    note = ""
    if reason == "undefined":
        note = (
            "The report gives no diagnostic text or status code for this recipient, "
            "so no reason can be given."
            if not full
            else "Neither the codes nor the wording match a known cause, so no reason can be given."
        )
    return BounceResult(
        recipient=d.recipient,
        action=action,
        reply_code=reply,
        enhanced_code=status,
        reason=reason,
        hard_bounce=is_hard(reason, status, reply),
        provider=provider,
        remote_mta=remote,
        ips=ips,
        domains=domains[:20],
        diagnostic=clean.strip(),
        sender=original.sender,
        subject=original.subject,
        message_id=original.message_id,
        feedback_type=d.feedback_type,
        command=command,
        reported_by=d.reported_by,
        note=note,
    )
