"""SMTP reply codes, enhanced status codes (RFC 3463) and the command a reply answered, read from text."""

from __future__ import annotations

import re

# "5.7.1", "4.4.7", "5.7.509" -- not the tail of an IP address, a version number or a longer dotted run.
STATUS_RE = re.compile(r"(?<![\w.\-/])(?<!\d\.)([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)")
_REPLY_BEFORE_STATUS = re.compile(r"(?<![\w.\-:/#])([245][0-5]\d)[ \-]{1,3}#?[245]\.\d{1,3}\.\d{1,3}(?!\d)")
_REPLY_AT_START = re.compile(r"^\W{0,3}([245][0-5]\d)(?![\w.:/])")
_REPLY_AFTER_MARK = re.compile(
    r"(?:said|<<<|returned|responded with failure|error code|error_code|reply|response|error|failure"
    r"|reported error|smtp error|server replied|rejected|\]:)[\s:;'\"\[(]{1,4}([245][0-5]\d)(?![\w.:/])",
    re.I,
)
_REPLY_LOOSE = re.compile(r"(?<![\w.:/\-#=,])([245][0-5]\d)(?=[ \-](?:[A-Za-z<\[(#'\":]|\d{1,3}\.\d))")

_COMMANDS = (
    (
        re.compile(
            r"in reply to (rcpt to|mail from|end of data|data|helo|ehlo|lhlo|starttls|auth|"
            r"initial connection)\b",
            re.I,
        ),
        None,
    ),
    (
        re.compile(
            r"after (rcpt to|mail from|end of data|data|initial connection|helo|ehlo|starttls|auth|"
            r"sending (?:mail from|rcpt to|data))",
            re.I,
        ),
        None,
    ),
    (re.compile(r"did not like our (rcpt to|mail from|data|helo|ehlo)", re.I), None),
    (re.compile(r"\[(rcpt_to|mail_from|data)\]", re.I), None),
    (re.compile(r"(?:error following|smtp:|in response to) ?(rcpt|mail|data|helo|ehlo)\b", re.I), None),
    (re.compile(r"most progress was (rcpt to|mail from|data|helo|ehlo) response", re.I), None),
    (re.compile(r"does not like recipient|unknown recipient or mailbox unavailable ->", re.I), "RCPT"),
    (re.compile(r"does not like sender|but sender was rejected", re.I), "MAIL"),
    (re.compile(r"failed after I sent the message|failed on data command", re.I), "DATA"),
    (re.compile(r"but my name was rejected", re.I), "HELO"),
    (re.compile(r"refused to talk to me|after initial connection|greeting", re.I), "CONN"),
    (re.compile(r"-{3,}\s*smtp command\s*(rcpt|mail|data|helo|ehlo)", re.I), None),
)


def _norm_command(word: str) -> str:
    w = word.upper().replace("_", " ")
    if w.startswith("RCPT") or w.startswith("SENDING RCPT"):
        return "RCPT"
    if w.startswith("MAIL") or w.startswith("SENDING MAIL"):
        return "MAIL"
    if "DATA" in w:
        return "DATA"
    if w.startswith("INITIAL"):
        return "CONN"
    if w in ("HELO", "EHLO", "LHLO"):
        return "EHLO" if w != "HELO" else "HELO"
    return w.split()[0]


_SENT_CMD = re.compile(r"(?:>>>|\bIn:)\s*(rcpt|mail|data|helo|ehlo|lhlo|starttls|auth|quit)\b", re.I)
_FAILED_REPLY = re.compile(r"(?:<<<|\bOut:)\s*[45]\d\d\b")


def _transcript_command(text: str) -> str | None:
    """In a ">>> command / <<< reply" transcript, the last command sent before the first failure."""
    fail = _FAILED_REPLY.search(text)
    if not fail:
        return None
    last = None
    for m in _SENT_CMD.finditer(text, 0, fail.start()):
        last = m.group(1)
    return _norm_command(last) if last and last.lower() != "quit" else None


def find_command(text: str) -> str | None:
    """The SMTP command the rejection answered (RCPT, MAIL, DATA, HELO/EHLO, CONN), when the text says."""
    if ">>>" in text or "In:" in text:
        found = _transcript_command(text)
        if found:
            return found
    for rx, fixed in _COMMANDS:
        m = rx.search(text)
        if m:
            return fixed or _norm_command(m.group(1))
    return None


# Reply codes RFC 5321 and its extensions define (and a few receivers use); anything else is not one.
REPLY_CODES = frozenset(
    "211 214 220 221 235 250 251 252 253 354 421 422 430 432 450 451 452 453 454 455 458 459 "
    "500 501 502 503 504 521 523 524 525 530 534 535 538 550 551 552 553 554 555 556 557".split()
)
_PAIR = re.compile(
    r"(?<![\w.\-:/#=,])([245]\d\d)[ \-:]{0,3}['\"<(\[]?#?([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)"
)


def find_statuses(text: str) -> list[str]:
    out = []
    for m in STATUS_RE.finditer(text):
        if int(m.group(2)) > 7:
            continue
        out.append(f"{m.group(1)}.{int(m.group(2))}.{int(m.group(3))}")
    return out


def _vague(code: str) -> bool:
    # X.0.0 says only the class; 4.4.7 (queue expired) hides the reply that caused it.
    return code.endswith(".0.0") or code == "4.4.7"


def pick_status(codes: list[str], reply: str | None = None) -> str | None:
    """The most informative enhanced code: one agreeing with the reply class, and not a vague one."""
    if not codes:
        return None
    if reply:
        same = [c for c in codes if c[0] == reply[0]]
        codes = same or codes
    else:
        codes = [c for c in codes if c[0] in "45"] or codes
    specific = [c for c in codes if not _vague(c)]
    return (specific or codes)[0]


def find_codes(text: str) -> tuple[str | None, str | None]:
    """(reply code, enhanced status) the text gives; a status right after a reply code wins."""
    pairs = [
        (m.group(1), f"{m.group(2)}.{int(m.group(3))}.{int(m.group(4))}")
        for m in _PAIR.finditer(text)
        if m.group(1) in REPLY_CODES and int(m.group(3)) <= 7
    ]
    if pairs:
        # In a transcript the failure is what matters, not the 250s before it.
        failures = [p for p in pairs if p[0][0] in "45"]
        pairs = failures or pairs
        good = [p for p in pairs if not _vague(p[1])] or pairs
        reply, status = good[0]
        return reply, status
    reply = find_reply(text)
    return reply, pick_status(find_statuses(text), reply)


# Sendmail's "554 <x@y>... 550 Host unknown": its own code first, then the one the remote server gave.
_SENDMAIL_RELAYED = re.compile(r"^\W{0,3}[45]\d\d <[^<>\s]{1,300}>\.\.\. ([45]\d\d)(?![\w.])")


def find_status(text: str, reply: str | None = None) -> str | None:
    return pick_status(find_statuses(text), reply)


def find_reply(text: str) -> str | None:
    """The basic reply code the remote server gave (550, 421...), preferring one before an enhanced code."""
    success = None
    relayed = _SENDMAIL_RELAYED.search(text[:400])
    if relayed and relayed.group(1) in REPLY_CODES:
        return relayed.group(1)
    for rx in (_REPLY_BEFORE_STATUS, _REPLY_AT_START, _REPLY_AFTER_MARK, _REPLY_LOOSE):
        for m in rx.finditer(text):
            code = m.group(1)
            if code not in REPLY_CODES:
                continue
            if code[0] in "45":
                return code
            success = success or code
    return success


def prefer_status(field: str | None, in_text: str | None, reply: str | None = None) -> str | None:
    """Choose between a DSN Status field and the code quoted in the diagnostic text."""
    if not field:
        return in_text
    if not in_text or field == in_text:
        return field
    if reply and field[0] != in_text[0]:
        if reply[0] == in_text[0]:
            return in_text
        if reply[0] == field[0]:
            return field
    if field.endswith(".0.0"):
        return in_text
    if in_text.endswith(".0.0"):
        return field
    field_subject_detail = field.split(".", 1)[1]
    if field_subject_detail.endswith(".0") and not in_text.endswith(".0"):
        return in_text
    if (
        field in ("4.4.7", "4.7.0")
        or field.startswith("5.3.")
        or field[1:4] in (".5.1", ".5.2", ".5.4", ".5.5")
    ):
        return in_text
    if field == "5.1.1":
        return field if (".0" in in_text or in_text.startswith("5.5.")) else in_text
    if field == "5.1.3" and in_text.startswith("5.7."):
        return in_text
    return field


def strip_continuations(text: str) -> str:
    """Drop the repeated "550-5.7.1 " prefixes of a multi-line reply, keeping the first one."""
    m = re.search(r"(?<![\w.])([245]\d\d)-(?:([245]\.\d{1,3}\.\d{1,3})\s)?", text)
    if not m:
        return text
    code, status = m.group(1), m.group(2)
    if status:
        pat = re.compile(rf"(?:(?<=\s)|^){code}(?:-(?:{re.escape(status)}\s)?|\s{re.escape(status)}\s)", re.M)
    else:
        pat = re.compile(rf"(?:(?<=\s)|^){code}-|^[ \t]*{code} ", re.M)
    head, tail = text[: m.start()], text[m.end() :]
    first = f"{code} {status} " if status else f"{code} "
    return head + first + pat.sub("", tail)
