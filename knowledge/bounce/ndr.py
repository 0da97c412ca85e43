"""Read the human-readable part of a non-delivery report: which recipients failed and what was said.

No MTA is recognised by name. The layouts share a few shapes, and these are what the code looks for:
a recipient on a line of its own followed by the reason (Postfix, Exim, qmail, Exchange, Gmail...);
a sentence naming the recipient ("There was an error delivering your mail to <x>"); an SMTP
transcript (">>> RCPT To:<x>" / "<<< 550 ..."); RFC 3464 fields written out as text (a pasted or
forwarded DSN). The returned original, when inlined, starts at a separator line or at a header block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.bounce.textutil import find_addresses

# Lines that start the returned message (compared lower-case, after leading dashes, stars and spaces).
_RETURNED_PREFIXES = (
    "this is a copy of the message",
    "this is a copy of the body",
    "below this line is a copy of the message",
    "enclosed is a copy of the message",
    "original message follows",
    "original message",
    "unsent message follows",
    "returned message",
    "the header of the original message",
    "message headers follow",
    "included is a copy of the message header",
    "below is a copy of the original message",
    "en-têtes de message d'origine",
    "the original message headers",
    "copy of the original message",
    "headers of the original message",
    "original message headers",
    "the original message is attached",
    "a copy of the original message",
    "--- original message",
    "undelivered message headers",
    "message header",
)
_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9\-]{1,40}):[ \t]?\S?")
_STRONG_HEADERS = frozenset(
    {
        "received",
        "return-path",
        "message-id",
        "dkim-signature",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "x-mailer",
        "authentication-results",
        "delivered-to",
        "domainkey-signature",
        "arc-seal",
        "x-received",
        "reply-to",
    }
)
_DSN_FIELDS = frozenset(
    {
        "reporting-mta",
        "received-from-mta",
        "arrival-date",
        "final-recipient",
        "original-recipient",
        "action",
        "status",
        "remote-mta",
        "diagnostic-code",
        "last-attempt-date",
        "will-retry-until",
        "x-actual-recipient",
        "x-postfix-sender",
        "x-postfix-queue-id",
        "original-envelope-id",
        "dsn-gateway",
    }
)


def unquote(text: str) -> str:
    """Strip one level of "> " quoting from a forwarded bounce (when most lines carry it)."""
    lines = text.split("\n")
    nonblank = [ln for ln in lines if ln.strip()]
    if not nonblank:
        return text
    quoted = sum(1 for ln in nonblank if ln.startswith(">"))
    if quoted * 2 <= len(nonblank):
        return text
    out = []
    for ln in lines:
        if ln.startswith("> "):
            out.append(ln[2:])
        elif ln.startswith(">"):
            out.append(ln[1:])
        else:
            out.append(ln)
    return "\n".join(out)


_RETURNED_RE = re.compile(
    r"[\s\-=*_>]*(?!original message was received)(?:" + "|".join(map(re.escape, _RETURNED_PREFIXES)) + ")",
    re.I,
)


def _is_returned_marker(line: str) -> bool:
    return len(line) <= 110 and bool(_RETURNED_RE.match(line)) and bool(line.strip())


def _header_block_at(lines: list[str], i: int) -> bool:
    """Three or more header lines from line i, at least one a header every message has."""
    count = strong = 0
    j = i
    while j < len(lines) and j < i + 40:
        ln = lines[j]
        m = _HEADER_LINE.match(ln)
        if m:
            name = m.group(1).lower()
            if name in _DSN_FIELDS:
                return False
            count += 1
            strong += name in _STRONG_HEADERS
        elif ln[:1] in (" ", "\t") and count:
            pass
        else:
            break
        j += 1
    return count >= 3 and strong >= 1


def split_returned(text: str) -> tuple[str, str | None]:
    """Cut the notification from the inlined original message, if any."""
    lines = text.split("\n")
    for i, ln in enumerate(lines):
        if i > 0 and _is_returned_marker(ln):
            return "\n".join(lines[:i]), "\n".join(lines[i + 1 :])
    for i, ln in enumerate(lines):
        if (
            i > 1
            and _HEADER_LINE.match(ln)
            and not lines[i - 1].strip().endswith(":")
            and _header_block_at(lines, i)
        ):
            before = " ".join(lines[max(0, i - 3) : i]).lower()
            if "forwarded message" in before or "original message-----" in before:
                continue  # the headers of a forwarded bounce, not of the returned message
            return "\n".join(lines[:i]), "\n".join(lines[i:])
    return text, None


# --- RFC 3464 fields written as text -------------------------------------------------------------------

_FIELD = re.compile(
    r"^[ \t]*(final-recipient|original-recipient|action|status|remote-mta|diagnostic-code|reporting-mta|"
    r"x-actual-recipient|recipient address|diagnostic code|remote system)[ \t]*:[ \t]*(.*)$",
    re.I,
)


def text_dsn(text: str) -> list[dict[str, str]]:
    """Per-recipient RFC 3464 fields found in plain text (a pasted or forwarded DSN)."""
    if "recipient" not in text.lower():
        return []
    blocks: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    last_key = None
    for ln in text.split("\n"):
        m = _FIELD.match(ln)
        if m:
            key = m.group(1).lower().replace("recipient address", "final-recipient")
            key = key.replace("diagnostic code", "diagnostic-code").replace("remote system", "remote-mta")
            val = m.group(2).strip()
            if key in ("final-recipient", "original-recipient") and key in cur:
                blocks.append(cur)
                cur = {}
            cur.setdefault(key, val)
            last_key = key
        elif last_key and ln[:1] in (" ", "\t") and ln.strip():
            cur[last_key] += " " + ln.strip()
        else:
            last_key = None
    blocks.append(cur)
    return [b for b in blocks if "final-recipient" in b or "original-recipient" in b]


# --- recipient blocks -----------------------------------------------------------------------------------

_BOILERPLATE = re.compile(
    r"|".join(
        (
            r"this is the mail system at",
            r"i'm sorry to have to inform you",
            r"could not be delivered to (?:one or more|all of its|the following)",
            r"one or more of its recipients|all of its recipients",
            r"^recipients\. this is a permanent error",
            r"this is a permanent error",
            r"^be delivered to one or more recipients\. it's attached below",
            r"^-*\s*delivery report unavailable\s*-*$",
            r"the following address(?:\(es\))? failed",
            r"for further assistance, please",
            r"please include this problem report",
            r"delete your own text from the attached",
            r"^the mail system$",
            r"created automatically by mail delivery software",
            r"a message that you (?:have )?sent could not be delivered",
            r"this is the qmail-send program",
            r"i'm afraid i wasn't able to deliver",
            r"i've given up\. sorry it didn't work out",
            r"^sorry it didn't work out",
            r"automatically generated delivery status notification",
            r"your message did not reach some or all",
            r"the following recipient\(s\) could not be reached",
            r"did not reach the following recipient",
            r"delivery has failed to these recipients",
            r"^diagnostic information for administrators",
            r"^generating server",
            r"^receiving server",
            r"^the original message was received at",
            r"^from \S+ \[\d",
            r"the following addresses had (?:permanent )?fatal errors",
            r"transcript of (?:the )?session follows",
            r"unable to deliver (?:the )?message to the following",
            r"unable to deliver your message to the following",
            r"were unable to deliver your message",
            r"^please do not reply",
            r"^this message was created automatically",
            r"^your message$",
            r"^message from \S+\.$",
            r"^\*+\s*$",
            r"^[-=_*]{3,}\s*$",
            r"this report relates to a message you sent",
            r"your message cannot be delivered to the following",
            r"^(?:to|subject|sent|date|from|cc)\s*:",
            r"check the recipient's email address",
            r"for more (?:tips|information)",
            r"if the problem continues",
            r"^the following message to",
            r"^an error occurred while trying to deliver",
            r"^technical (?:report|details)(?! of (?:temporary|permanent) failure)",
            r"^original-envelope-id",
            r"please verify the addresses and try",
            r"contact customer support",
            r"^we had trouble delivering your message",
            r"^full details follow",
            r"^\d+ error\(s\):$",
            r"the attachment contains the original",
            r"^thanks,?$",
            r"^the error that the other server returned was",
        )
    ),
    re.I,
)


@dataclass
class Block:
    """One recipient and the lines of the report that concern it."""

    recipient: str
    lines: list[str] = field(default_factory=list)
    bare: bool = False

    @property
    def text(self) -> str:
        return "\n".join(ln for ln in self.lines if ln.strip())


# What may follow an address on a recipient line of its own. "(in reply to ... command)" is not one of
# them: it ends a wrapped Postfix reply whose last word happened to be the address.
_BARE_REST = re.compile(r"^[\s:;,.<>\"']*(?:on \w|\[|\((?!in reply to )|$)", re.I)
_SUMMARY_LINE = re.compile(r"^\s*(?:to|from|cc|bcc|reply-to|return-path|sender|subject|date|sent)\s*:", re.I)
# An address token with its brackets. It can only start at a token boundary and every run is bounded,
# so a long unbroken word costs one attempt, not one per character.
_ADDR_TOKEN = re.compile(
    r"(?<![^\s<>()\[\]\"',;:])<?(?:mailto:)?[^\s<>()\[\]\"',;@]{0,64}@[^\s<>()\[\]\"',;]{1,255}>?"
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


_CODE_IN_LINE = re.compile(r"(?<![\w.])(?:[245]\d\d[ \-][^\n]{0,40}|#?[245]\.\d{1,3}\.\d{1,3})")


def boilerplate(line: str) -> bool:
    """A sentence every report of some MTA carries; a line quoting an SMTP reply never is."""
    s = line.strip()
    if not s or not _BOILERPLATE.search(s):
        return False
    return not _CODE_IN_LINE.search(s)


def blocks(text: str, exclude: set[str]) -> list[Block]:
    """Split a notification into per-recipient blocks (addresses in `exclude` are never recipients)."""
    lines = text.split("\n")
    anchors: list[tuple[int, str, bool]] = []
    for i, line in enumerate(lines):
        if "@" not in line or _SUMMARY_LINE.match(line):
            continue
        addrs = [a for a in find_addresses(line) if a.lower() not in exclude]
        if not addrs:
            continue
        core = line.strip().lstrip(">*-•#\t ").strip()
        rest = _ADDR_TOKEN.sub(" ", core, count=2).strip()
        bare = bool(_BARE_REST.match(rest)) and len(rest) < 160
        anchors.append((i, addrs[0], bare))
    if not anchors:
        return []
    bare_anchors = [a for a in anchors if a[2]]
    out: dict[str, Block] = {}
    order: list[str] = []
    if bare_anchors:
        for n, (i, addr, _) in enumerate(bare_anchors):
            end = bare_anchors[n + 1][0] if n + 1 < len(bare_anchors) else len(lines)
            body = _cut_block(lines, i, end)
            key = addr.lower()
            if key not in out:
                out[key] = Block(addr, bare=True)
                order.append(key)
            rest = _ADDR_TOKEN.sub(" ", lines[i].strip(), count=2).strip(" :<>")
            if rest and not rest.lower().startswith("on "):
                out[key].lines.append(lines[i].strip())
            out[key].lines.extend(body)
        return [out[k] for k in order]
    # Addresses only inside sentences: each sentence and what follows it, up to the next one.
    for n, (i, addr, _) in enumerate(anchors):
        end = anchors[n + 1][0] if n + 1 < len(anchors) else len(lines)
        key = addr.lower()
        if key not in out:
            out[key] = Block(addr)
            order.append(key)
        j = i
        while j < end and (j == i or (lines[j].strip() and not _SENDMAIL_ITEM.match(lines[j]))):
            out[key].lines.append(lines[j])
            j += 1
    return [out[k] for k in order]


# Sendmail's transcript summary: one "550 <who>... what" line per address or host, each its own item.
_SENDMAIL_ITEM = re.compile(r"^\s*[245]\d\d \S{1,300}(?: \([\w\-]{1,20}\))?\.\.\. ")


def _cut_block(lines: list[str], start: int, end: int) -> list[str]:
    """The lines after a recipient line that belong to it. When they are indented deeper than the
    recipient (Exim), the block ends with the indentation; otherwise it runs to the next recipient."""
    anchor_indent = _indent(lines[start])
    first = next((ln for ln in lines[start + 1 : end] if ln.strip()), None)
    nested = first is not None and _indent(first) > anchor_indent
    body: list[str] = []
    j = start + 1
    while j < end:
        ln = lines[j]
        if not ln.strip():
            k = j + 1
            while k < end and not lines[k].strip():
                k += 1
            if k >= end:
                break
            if nested and body and _indent(lines[k]) <= anchor_indent:
                break
            j = k
            continue
        body.append(ln)
        j += 1
    return [b for b in body if not boilerplate(b)]


def meaningful(text: str) -> str:
    """The notification without the boilerplate every MTA wraps around the reason."""
    return "\n".join(ln for ln in text.split("\n") if ln.strip() and not boilerplate(ln))


# --- SMTP transcripts -----------------------------------------------------------------------------------

# Sendmail and Courier write ">>> command" / "<<< reply"; Postfix's postmaster notices "In:" / "Out:".
_SENT = re.compile(r"^\s*(?:>>>|In:)\s*(.*)$")
_GOT = re.compile(r"^\s*(?:<<<|Out:)\s*(.*)$")
_MAIL_FROM = re.compile(r"mail from:\s*<([^<>\s]{1,254})>", re.I)


def transcript_senders(text: str) -> set[str]:
    """Addresses given to MAIL FROM in a transcript: the sender, never a failed recipient."""
    if "mail from" not in text.lower():
        return set()
    return {m.group(1).lower() for m in _MAIL_FROM.finditer(text)}


@dataclass
class Exchange:
    """One command and the replies to it, from a ">>> / <<<" transcript."""

    command: str
    replies: list[str]


def transcript(text: str) -> list[Exchange]:
    out: list[Exchange] = []
    for ln in text.split("\n"):
        m = _SENT.match(ln)
        if m:
            out.append(Exchange(m.group(1).strip(), []))
            continue
        m = _GOT.match(ln)
        if m and out:
            out[-1].replies.append(m.group(1).strip())
    return out
