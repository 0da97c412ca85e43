"""`parse()`: from bytes or text (a whole bounce, a DSN, a complaint report, an auto-reply, a pasted SMTP
line or transcript) to per-recipient results. Bad input gets a result saying what was wrong, never an
exception, and in time bounded by the input size."""

from __future__ import annotations

import re
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses

from knowledge.bounce import formats, mime, ndr, reports, smtp
from knowledge.bounce.draft import TEXT_LIMIT, Draft, Original, address, exclusions, finish
from knowledge.bounce.model import BounceResult, ParsedInput
from knowledge.bounce.reasons import words
from knowledge.bounce.textutil import (
    EMAIL_RE,
    clean_address,
    decode_bytes,
    find_addresses,
    looks_binary,
    looks_slack,
    squash,
    unslack,
)

DEFAULT_MAX_BYTES = 5_000_000
_LONG_NOTE = (
    "The text is long: only lines with an SMTP failure code or bounce wording were read, "
    f"up to {TEXT_LIMIT:,} characters."
)
_FAILURE_LINE = re.compile(
    r"(?<![\w.])[45]\d\d[ \-]|(?<![\w.])[45]\.\d{1,3}\.\d{1,3}|bounced|undeliver|reject|denied|fail", re.I
)


def parse(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedInput:
    """Read one input and return its kind and a result per recipient (see knowledge.bounce.model)."""
    try:
        return _parse(data, max_bytes)
    except Exception as exc:  # a parser bug must still leave the user with an answer
        note = f"The input could not be analysed ({type(exc).__name__}: {exc})."
        return ParsedInput(kind="unknown", results=[BounceResult(note=note)], notes=[note])


# --- input normalisation ------------------------------------------------------------------------------

_EMAIL_HEADER = re.compile(r"^([A-Za-z][A-Za-z0-9\-]{0,60}):[ \t]?", re.M)
_KNOWN_HEADERS = frozenset(
    {
        "received",
        "from",
        "to",
        "subject",
        "date",
        "return-path",
        "message-id",
        "content-type",
        "mime-version",
        "delivered-to",
        "dkim-signature",
        "x-failed-recipients",
        "auto-submitted",
        "x-received",
        "authentication-results",
        "arc-seal",
        "reply-to",
        "sender",
        "content-transfer-encoding",
        "x-original-to",
        "envelope-to",
        "delivery-date",
        "precedence",
        "x-mailer",
        "in-reply-to",
        "references",
        "cc",
        "received-spf",
        "x-virus-scanned",
    }
)


def _parse(data: bytes | str, max_bytes: int) -> ParsedInput:
    notes: list[str] = []
    truncated = False
    if isinstance(data, str):
        if len(data) > max_bytes:
            data = data[:max_bytes]
            truncated = True
        raw = data.encode("utf-8", "surrogateescape")
        if len(raw) > max_bytes:
            raw = raw[:max_bytes]
            truncated = True
        text_input = True
    else:
        raw = bytes(data)
        if len(raw) > max_bytes:
            raw = raw[:max_bytes]
            truncated = True
        text_input = False
    if truncated:
        notes.append(
            f"The input was larger than {max_bytes:,} bytes; only the first {max_bytes:,} were read."
        )
    if not raw.strip():
        note = "The input is empty: there is nothing to diagnose."
        return ParsedInput("empty", [BounceResult(note=note)], [*notes, note], truncated)
    if looks_binary(raw):
        note = "The input is binary data (NUL bytes or control characters), not a bounce or an SMTP reply."
        return ParsedInput("binary", [BounceResult(note=note)], [*notes, note], truncated)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = data if text_input and not truncated else decode_bytes(raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _MBOX_FROM.match(text):
        # An mbox "From " separator line before the headers; more of them start more messages.
        later = _MBOX_NEXT.search(raw)
        if later is not None:
            return _parse_mbox(raw, notes, truncated)
        text = text.split("\n", 1)[1]
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    if "```" in text and (text.lstrip().startswith("```") or not _is_email(text)):
        text = re.sub(r"^[ \t]*```[^\n`]{0,40}$", "", text, flags=re.M).replace("```", "\n").strip("\n")
        raw = text.encode("utf-8", "surrogateescape")
    email_like = _is_email(text)
    if looks_slack(text) and (not email_like or re.search(r"<mailto:[^<>|]{1,300}\|", text)):
        text = unslack(text)
        raw = text.encode("utf-8", "surrogateescape")
        email_like = _is_email(text)
    if email_like:
        result = _parse_email(raw if not text_input else text.encode("utf-8", "surrogateescape"), notes)
    else:
        result = _parse_text(text, notes)
    result.truncated = truncated
    if truncated:
        for r in result.results:
            r.note = (r.note + " " if r.note else "") + notes[0]
    return result


_MBOX_FROM = re.compile(r"From [^\n]{0,200}\n[A-Za-z][A-Za-z0-9\-]{0,60}:")
# A later separator: "From " at a line start (body lines that start so are escaped as ">From " in an
# mbox), a date at its end, and a header line after it.
_MBOX_NEXT = re.compile(rb"\r?\n\r?\n(?=From \S{1,200} [^\r\n]{0,200}\d{4}\r?\n[A-Za-z][A-Za-z0-9\-]{0,60}:)")
MAX_MBOX_MESSAGES = 50


def _parse_mbox(raw: bytes, notes: list[str], truncated: bool) -> ParsedInput:
    """Several messages in one mbox: each is read, and their results are listed in order."""
    chunks = _MBOX_NEXT.split(raw)
    kept = chunks[:MAX_MBOX_MESSAGES]
    results: list[BounceResult] = []
    kinds: list[str] = []
    for chunk in kept:
        one = _parse(chunk.split(b"\n", 1)[1] if b"\n" in chunk else b"", len(chunk) + 1)
        kinds.append(one.kind)
        results.extend(one.results)
        notes.extend(n for n in one.notes if n not in notes)
    notes.append(f"The input holds {len(chunks)} messages (an mbox); each was read.")
    if len(chunks) > len(kept):
        notes[-1] = f"The input holds {len(chunks)} messages (an mbox); the first {len(kept)} were read."
    kind = next(
        (k for k in kinds if k not in ("message", "unknown", "empty")), kinds[0] if kinds else "unknown"
    )
    return ParsedInput(kind, results, notes, truncated)


def _is_email(text: str) -> bool:
    """A header block at the top with at least two headers every message has (not DSN fields alone)."""
    head = text.lstrip("\n")[:6000]
    first = head.split("\n", 1)[0]
    if not _EMAIL_HEADER.match(first):
        return False
    names = [m.group(1).lower() for m in _EMAIL_HEADER.finditer(head.split("\n\n", 1)[0])]
    return sum(1 for n in names if n in _KNOWN_HEADERS) >= 2


# --- email inputs -------------------------------------------------------------------------------------

_BOUNCE_FROM = re.compile(
    r"mailer-daemon|mail-daemon|mailerdaemon|postmaster|mail delivery (?:system|subsystem)|"
    r"mail administrator|ndr administrator|mdaemon|mail\.delivery\.system",
    re.I,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status|failure|failed|has failed|notification|problem|report)|"
    r"returned mail|mail delivery failed|failure notice|could not be delivered|not delivered|non remis|"
    r"nicht zustellbar|unzustellbar|mail system error|warning: message|returned to sender|error sending|"
    r"delivery status|mail failure|failed delivery|message status|rejected|non-delivery|delayed mail|"
    r"there was an error|mail failed|returning to sender|are not member|you .{0,40} not member|"
    r"メールエラー|エラー通知|配信エラー|送信エラー",
    re.I,
)
_BOUNCE_BODY = re.compile(
    r"could not be delivered|couldn't be delivered|wasn't able to deliver|was not able to deliver|"
    r"delivery has failed|following address(?:\(es\))? failed|permanent fatal errors|did not reach|"
    r"undeliverable|"
    r"error delivering your mail|delivery to the following recipient|failed permanently|unable to deliver|"
    r"returned to sender|could not be reached|transcript of session|did not like our|does not like recipient|"
    r"delivery failed|message not delivered|rejected your message|remote host said|not yet been delivered|"
    r"has been delayed|failed after i sent the message|were unable to deliver|could not deliver|"
    r"smtp error from remote|mail delivery failed|cannot be delivered|delivery status notification|"
    r"the following addresses had|not a member of this mailing list|"
    r"may not exist, or you may not have permission|"
    r"message could not be delivered|this is the mail system at|delivery to the following|"
    r"duplicated message-id|failure reasons|failed addresses|server message|rejected recipient|"
    r"error following|"
    r"送信できませんでした|配信できませんでした|届きませんでした",
    re.I,
)
_AUTOREPLY_SUBJECT = re.compile(
    r"^(?:auto(?:matic)?[ _-]?(?:reply|response|antwort)|auto:|out of (?:the )?office|vacation|away from|"
    r"abwesenheit|réponse automatique|respuesta automática|risposta automatica|autoreply|\[auto-reply\]|"
    r"自動応答|不在)",
    re.I,
)


def _parse_email(raw: bytes, notes: list[str]) -> ParsedInput:
    top, problem = mime.load(raw)
    if top is None:
        notes.append(problem or "The message could not be read.")
        return _parse_text(decode_bytes(raw), notes)
    parts = mime.collect(top)
    notes.extend(dict.fromkeys(parts.notes))
    return _from_parts(parts, notes, depth=0)


def _from_parts(parts: mime.Parts, notes: list[str], depth: int, force_bounce: bool = False) -> ParsedInput:
    top = parts.top
    from_hdr = mime.header(top, "From")
    subject = mime.header(top, "Subject")
    original = _original(parts)
    if parts.feedback or _content_param(top, "report-type") == "feedback-report":
        return ParsedInput("feedback", reports.feedback(parts, original), notes)
    joined = "\n".join(parts.texts)
    if len(joined) > TEXT_LIMIT:
        joined = joined[:TEXT_LIMIT]
        notes.append(f"The report's text is long; only its first {TEXT_LIMIT:,} characters were read.")
    fmt = formats.identify(top, joined, _reporting_mta(parts))
    if fmt == formats.FML:
        results = _fml(subject, joined, original)
        if results:
            return ParsedInput("ndr", results, notes)
    verdict = formats.header_verdict(top, fmt)
    if parts.dsn:
        results = reports.dsn(parts, original, fmt, verdict)
        if results:
            return ParsedInput("dsn", results, notes)
    if '"notificationType"' in joined or '"bounceType"' in joined:
        results = reports.ses(joined, original)
        if results:
            return ParsedInput("ndr", results, notes)
    bouncy = force_bounce or _is_bounce(top, from_hdr, subject, joined, parts.returned is not None)
    if bouncy:
        results = _text_ndr(parts, original, joined, addressee=not force_bounce, fmt=fmt, verdict=verdict)
        if depth == 0 and (not results or all(_weak(r) for r in results)):
            inner = _inner_bounce(parts, joined)
            if inner is not None:
                inner.notes = [
                    *notes,
                    "The details were found in a bounce enclosed in this one.",
                    *inner.notes,
                ]
                return inner
        if results:
            return ParsedInput("ndr", results, notes)
    if _is_autoreply(top, from_hdr, subject, joined) and not bouncy:
        return ParsedInput("autoreply", [reports.autoreply(top, from_hdr, subject, joined)], notes)
    if reports.FEEDBACK_SUBJECT.search(subject) and parts.attached:
        return ParsedInput("feedback", reports.feedback(parts, original), notes)
    if depth == 0:
        # A bounce forwarded as an attachment: read the attached message instead.
        for inner in parts.attached[:3]:
            inner_result = _from_parts(mime.collect(inner), [], depth + 1)
            if inner_result.kind not in ("message", "unknown"):
                inner_result.notes = [
                    *notes,
                    "The bounce was found inside an attached message.",
                    *inner_result.notes,
                ]
                return inner_result
    if bouncy:
        note = "It looks like a bounce, but no recipient or reason could be found in it."
        rcpt = mime.header(top, "X-Failed-Recipients") or None
        return ParsedInput(
            "ndr", [BounceResult(recipient=rcpt, note=note, diagnostic=squash(joined)[:500])], notes
        )
    notes.append(
        "This is an ordinary message, not a bounce, delivery report or complaint: nothing to diagnose here."
    )
    return ParsedInput("message", [], notes)


def _reporting_mta(parts: mime.Parts) -> str | None:
    for items in parts.dsn:
        for k, v in items:
            if k.lower() == "reporting-mta":
                return reports.typed(v)[1]
    return None


def _fml(subject: str, text: str, original: Original) -> list[BounceResult]:
    """An fml mailing-list notice: the list (or message) it names, and the cause its wording gives."""
    out = []
    for rcpt, diag, reason in formats.fml_notice(subject, text):
        d = Draft(recipient=rcpt, diagnostic=diag, preset=reason, reported_by=formats.FML)
        out.append(finish(d, original))
    return out


def _weak(r: BounceResult) -> bool:
    return not r.reply_code and not r.enhanced_code and r.reason in ("onhold", "undefined")


def _inner_bounce(parts: mime.Parts, joined: str) -> ParsedInput | None:
    """A bounce that carries another bounce (attached, or pasted into its text) with the real details."""
    candidates: list[mime.Parts] = [mime.collect(m) for m in parts.attached[:3]]
    _, returned = ndr.split_returned(ndr.unquote(joined))
    if returned and ("delivery-status" in returned.lower() or "final-recipient:" in returned.lower()):
        body = returned.lstrip("\n")
        if body.startswith("From ") and not body.startswith("From:"):
            body = body.split("\n", 1)[1] if "\n" in body else ""
        top, _ = mime.load(body.encode("utf-8", "surrogateescape"))
        if top is not None:
            candidates.append(mime.collect(top))
    for inner_parts in candidates:
        result = _from_parts(inner_parts, [], 1, force_bounce=True)
        if result.kind in ("dsn", "ndr") and result.results and not all(_weak(r) for r in result.results):
            return result
    return None


def _content_param(msg: Message, name: str) -> str:
    try:
        value = msg.get_param(name)
    except Exception:
        return ""
    return value.lower() if isinstance(value, str) else ""


def _is_bounce(top: Message, from_hdr: str, subject: str, body: str, returned: bool = False) -> bool:
    if mime.header(top, "X-Failed-Recipients"):
        return True
    strong_from = bool(_BOUNCE_FROM.search(from_hdr))
    subj = bool(_BOUNCE_SUBJECT.search(subject))
    text = bool(_BOUNCE_BODY.search(body[:20000]))
    if strong_from and (subj or text or _has_code(body)):
        return True
    # Bounce wording plus the returned original attached is a bounce whoever signs it.
    return (subj and (text or _has_code(body))) or (text and returned)


def _has_code(text: str) -> bool:
    """A failure reply code or enhanced status (4xx/5xx) somewhere in the text."""
    reply, status = smtp.find_codes(text[:20000])
    return (reply or "")[:1] in ("4", "5") or (status or "")[:1] in ("4", "5")


def _is_autoreply(top: Message, from_hdr: str, subject: str, body: str = "") -> bool:
    auto = mime.header(top, "Auto-Submitted").lower()
    if auto.startswith("auto-replied"):
        return True
    if auto.startswith("auto-generated") and words("vacation", squash(body[:3000]).lower()):
        return True  # auto-generated covers any robot; only an absence notice is an auto-reply
    if mime.header(top, "X-Autoreply") or mime.header(top, "X-Autorespond"):
        return True
    if mime.header(top, "Precedence").lower() == "auto_reply":
        return True
    return bool(_AUTOREPLY_SUBJECT.search(subject))


def _original(parts: mime.Parts) -> Original:
    msg = parts.returned
    if msg is None:
        joined = "\n".join(parts.texts)
        _, returned_text = ndr.split_returned(ndr.unquote(joined[:TEXT_LIMIT]))
        if returned_text:
            msg = _headers_from_text(returned_text)
    if msg is None:
        return Original()
    orig = Original()
    orig.sender = address(mime.header(msg, "From")) or address(mime.header(msg, "Return-Path"))
    orig.envelope_sender = address(mime.header(msg, "Return-Path"))
    orig.subject = mime.header(msg, "Subject") or None
    mid = mime.header(msg, "Message-ID")
    orig.message_id = mid.strip() or None
    try:
        orig.to = [clean_address(a) for _, a in getaddresses([mime.header(msg, "To")]) if "@" in a]
    except Exception:
        orig.to = []
    return orig


def _headers_from_text(text: str) -> Message | None:
    lines = text.lstrip("\n").split("\n")
    # Skip anything before the first header line (a blank line, "data", a transcript echo).
    for i, ln in enumerate(lines[:40]):
        if _EMAIL_HEADER.match(ln) and not ln.lower().startswith(("data", "354")):
            try:
                block = "\n".join(lines[i : i + 400]).split("\n\n", 1)[0]
                return HeaderParser(policy=compat32).parsestr(block + "\n")
            except Exception:
                return None
    return None


# --- text NDRs ------------------------------------------------------------------------------------------


def _text_ndr(
    parts: mime.Parts,
    original: Original,
    joined: str,
    addressee: bool = True,
    fmt: str | None = None,
    verdict: str | None = None,
) -> list[BounceResult]:
    text = ndr.unquote(joined)
    note_text, _ = ndr.split_returned(text)
    failed = [a for v in [mime.header(parts.top, "X-Failed-Recipients")] for a in find_addresses(v)]
    embedded = ndr.text_dsn(note_text)
    exclude = exclusions(parts, original, addressee)
    drafts = _drafts_from_text(note_text, exclude, failed, embedded, original)
    if not drafts:
        return []
    for d in drafts:
        d.reported_by = fmt
        d.preset = d.preset or verdict
    return [finish(d, original) for d in drafts]


def _drafts_from_text(
    note_text: str, exclude: set[str], failed: list[str], embedded: list[dict[str, str]], original: Original
) -> list[Draft]:
    exclude = exclude | ndr.transcript_senders(note_text)
    blocks = ndr.blocks(note_text, exclude)
    by_addr = {b.recipient.lower(): b for b in blocks}
    drafts: list[Draft] = []
    if embedded:
        for f in embedded:
            rcpt = address(f.get("final-recipient", "")) or address(f.get("original-recipient", ""))
            dtype, diag = reports.typed(f.get("diagnostic-code", ""))
            d = Draft(
                recipient=rcpt,
                action=(f.get("action", "").lower().split(" ") or [None])[0] or None,
                status=reports.status_field(f.get("status", "")),
                diagnostic=diag,
                diagnostic_type=dtype,
                remote_mta=reports.typed(f.get("remote-mta", ""))[1].strip("[] ") or None,
            )
            b = by_addr.get(rcpt.lower()) if rcpt else None
            if b is not None:
                d.extra.append(b.text)
            drafts.append(d)
        return drafts
    if failed:
        wanted = failed
    else:
        wanted = [b.recipient for b in blocks]
    if not wanted and original.to:
        wanted = original.to[:1]
    if not wanted:
        wanted = [None]  # type: ignore[list-item]
    single = len(wanted) == 1
    for rcpt in wanted:
        b = by_addr.get(rcpt.lower()) if rcpt else None
        if b is not None and b.text.strip() and not (single and not b.bare):
            diag = b.text
        else:
            diag = ndr.meaningful(note_text) if single else (b.text if b else "")
            if single and not diag.strip() and rcpt:
                diag = "\n".join(ln for ln in note_text.split("\n") if rcpt.lower() in ln.lower())
        drafts.append(Draft(recipient=rcpt, diagnostic=diag))
    if note_text and ("<<<" in note_text or "Out:" in note_text):
        _apply_transcript(drafts, note_text)
    if _DELAYED.search(note_text[:20000]):
        for d in drafts:
            d.action = d.action or "delayed"
    return drafts


_DELAYED = re.compile(
    r"has not yet been delivered|has been delayed|will be retried|delivery attempts will continue|"
    r"will continue to (?:try|attempt)|still undelivered|this is a warning message only|delivery is delayed|"
    r"temporarily deferred|not been delivered yet",
    re.I,
)


def _apply_transcript(drafts: list[Draft], text: str) -> None:
    """Take the command and reply from an SMTP transcript (">>> RCPT To:<x>" / "<<< 550 ...")."""
    exchanges = ndr.transcript(text)
    for ex in exchanges:
        if not ex.replies:
            continue
        verb = ex.command.split(":")[0].split(" ")[0].upper()
        reply = " ".join(ex.replies)
        if not re.match(r"[45]\d\d", reply):
            continue
        if verb == "MAIL":
            # Sendmail answers "554 <x>... Remote protocol error" for recipients it never reached because
            # the server refused the sender: the refusal is their cause.
            for d in drafts:
                if d.command is None and "remote protocol error" in d.diagnostic.lower()[:200]:
                    d.diagnostic = f"{reply}\n{d.diagnostic}"
                    d.command = "MAIL"
        target = None
        if verb == "RCPT":
            addrs = find_addresses(ex.command)
            target = next(
                (d for d in drafts if d.recipient and addrs and d.recipient.lower() == addrs[0].lower()), None
            )
        if target is None and len(drafts) == 1:
            target = drafts[0]
        if target is None:
            for d in drafts:
                if d.recipient and d.recipient.lower() in reply.lower():
                    target = d
        if target is not None and target.command is None:
            target.command = {
                "RCPT": "RCPT",
                "MAIL": "MAIL",
                "DATA": "DATA",
                "HELO": "HELO",
                "EHLO": "EHLO",
            }.get(verb)


# --- pasted text ------------------------------------------------------------------------------------------

# In a pasted reply or log line, an address is the recipient only where the syntax says so.
_RCPT_CONTEXT = re.compile(
    r"(?:to=<?|rcpt to:?\s*<?|recipient:?\s*<?|for <|<)$|^(?:>?\s*(?::|\.\.\.|,|$))", re.I
)
_SENDER_CONTEXT = re.compile(r"(?:from|sender|policy|mail from)[:=]?\s*<?$", re.I)


def _paste_recipients(text: str) -> list[str]:
    out: list[str] = []
    for m in EMAIL_RE.finditer(text[:TEXT_LIMIT]):
        before = text[max(0, m.start() - 20) : m.start()]
        after = text[m.end() : m.end() + 4]
        if _SENDER_CONTEXT.search(before):
            continue
        if _RCPT_CONTEXT.search(before) or re.match(r">?\s*(?::|\.\.\.)", after):
            addr = clean_address(m.group(0))
            if addr and addr.lower() not in (a.lower() for a in out):
                out.append(addr)
    return out


_QP_ESCAPE = re.compile(r"=([0-9A-F]{2})")


def _undo_quoted_printable(text: str) -> str:
    """A paste of a raw message body still in quoted-printable ("f=\nrom", "=3D"): join and decode it."""
    if text.count("=\n") < 2 and "=3D" not in text and "=20" not in text:
        return text
    text = text.replace("=\n", "")
    return _QP_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) < "80" else m.group(0), text)


# Wordings that make a short paste worth diagnosing even without an SMTP code.
_PASTE_REASONS = (
    "userunknown",
    "mailboxfull",
    "hostunknown",
    "authfailure",
    "blocked",
    "spamdetected",
    "norelaying",
)


def _parse_text(text: str, notes: list[str]) -> ParsedInput:
    if len(text) > TEXT_LIMIT:
        # A long paste (a log, say): keep the lines that carry a failure, wherever they are.
        kept = [ln for ln in text.split("\n") if _FAILURE_LINE.search(ln)]
        text = "\n".join(kept)
        notes.append(_LONG_NOTE)
    text = _undo_quoted_printable(ndr.unquote(text[: TEXT_LIMIT * 5]))
    note_text, returned = ndr.split_returned(text[:TEXT_LIMIT])
    original = Original()
    if returned:
        msg = _headers_from_text(returned)
        if msg is not None:
            original = _original(mime.Parts(top=msg, returned=msg))
    if '"notificationType"' in note_text or '"bounceType"' in note_text:
        results = reports.ses(note_text, original)
        if results:
            return ParsedInput("ndr", results, notes)
    embedded = ndr.text_dsn(note_text)
    exclude = {a.lower() for a in (original.sender, original.envelope_sender) if a}
    if embedded:
        drafts = _drafts_from_text(note_text, exclude, [], embedded, original)
        for d in drafts:
            d.pasted = True
        return ParsedInput("dsn", [finish(d, original) for d in drafts], notes)
    has_code = _has_code(note_text)
    bouncy = bool(_BOUNCE_BODY.search(note_text[:20000]))
    short = squash(note_text[:3000]).lower() if len(note_text) < 3000 else ""
    worded = bool(short) and any(words(r, short) for r in _PASTE_REASONS)
    if has_code or bouncy or worded:
        kind = "ndr" if bouncy and len(note_text) > 400 else "smtp"
        if kind == "smtp":
            # A reply or log line: name a recipient only where the syntax marks one.
            rcpts = _paste_recipients(note_text)
            exclude |= {a.lower() for a in find_addresses(note_text) if a not in rcpts}
        drafts = _drafts_from_text(note_text, exclude, [], [], original)
        for d in drafts:
            d.pasted = True
            if kind == "smtp":
                d.diagnostic = d.diagnostic if d.recipient else squash(ndr.meaningful(note_text))
        return ParsedInput(kind, [finish(d, original) for d in drafts], notes)
    low = squash(note_text[:5000]).lower()
    if words("vacation", low):
        res = BounceResult(action="autoreply", reason="vacation", diagnostic=squash(note_text)[:500])
        return ParsedInput("autoreply", [res], notes)
    note = (
        "No SMTP reply code, enhanced status code, delivery report or bounce wording was found in the text, "
        "so no reason can be given."
    )
    return ParsedInput(
        "unknown", [BounceResult(diagnostic=squash(note_text)[:300], note=note)], [*notes, note]
    )
