"""Machine-readable reports: RFC 3464 delivery-status, RFC 5965 complaint reports, Amazon SES JSON
notifications, and RFC 3834 auto-replies."""

from __future__ import annotations

import json
import re
from email.message import Message

from knowledge.bounce import mime, ndr, smtp
from knowledge.bounce.draft import DIAG_LIMIT, TEXT_LIMIT, Draft, Original, address, exclusions, finish
from knowledge.bounce.model import BounceResult
from knowledge.bounce.textutil import find_addresses, find_ips, is_domain, squash

FEEDBACK_SUBJECT = re.compile(r"complaint about message|abuse report|feedback report|fbl report", re.I)


def _field(items: list[tuple[str, str]], name: str) -> str:
    low = name.lower()
    for k, v in items:
        if k.lower() == low:
            return v
    return ""


def _all(items: list[tuple[str, str]], name: str) -> list[str]:
    low = name.lower()
    return [v for k, v in items if k.lower() == low]


def typed(value: str) -> tuple[str | None, str]:
    """Split "smtp; 550 ..." into ("smtp", "550 ...")."""
    if "\x1b" in value:
        # Raw ISO-2022-JP in a header (Japanese Domino and others write it so).
        try:
            value = value.encode("latin-1").decode("iso-2022-jp")
        except (UnicodeError, LookupError):
            pass
    value = " ".join(value.split())
    if ";" in value[:40]:
        kind, _, rest = value.partition(";")
        if re.fullmatch(r"[A-Za-z][\w\-]{0,30}", kind.strip()):
            return kind.strip().lower(), rest.strip()
    return None, value


def dsn(
    parts: mime.Parts, original: Original, fmt: str | None = None, verdict: str | None = None
) -> list[BounceResult]:
    """One result per recipient block of a message/delivery-status part, with what the human-readable
    part says about the same recipient (the SMTP command, the remote host) added."""
    recipients: list[list[tuple[str, str]]] = []
    for items in _split_recipients(parts.dsn):
        names = {k.lower() for k, _ in items}
        if names & {"final-recipient", "original-recipient", "x-actual-recipient"}:
            recipients.append(items)
        elif names & {"action", "status", "diagnostic-code"}:
            # Fields that lost their recipient line belong to the block before them.
            if recipients:
                recipients[-1] = recipients[-1] + items
            else:
                recipients.append(items)
    if not recipients:
        return []
    notification = "\n".join(parts.texts)[:TEXT_LIMIT]
    note_text, _ = ndr.split_returned(ndr.unquote(notification))
    exclude = exclusions(parts, original)
    text_blocks = (
        {b.recipient.lower(): b for b in ndr.blocks(note_text, exclude)} if note_text.strip() else {}
    )
    reporting_fields = [
        typed(v)[1].split() for items in parts.dsn for k, v in items if k.lower() == "reporting-mta"
    ]
    reporting = next((field[0] for field in reporting_fields if field), None)
    drafts = []
    for items in recipients:
        final = typed(_field(items, "Final-Recipient"))[1]
        orig_rcpt = typed(_field(items, "Original-Recipient"))[1]
        actual = typed(_field(items, "X-Actual-Recipient"))[1]
        rcpt = address(final) or address(orig_rcpt) or address(actual)
        if rcpt is None and len(recipients) == 1:
            failed = find_addresses(mime.header(parts.top, "X-Failed-Recipients"))
            rcpt = (
                failed[0]
                if failed
                else (next(iter(text_blocks.values())).recipient if len(text_blocks) == 1 else None)
            )
        dtype, diag = typed(_field(items, "Diagnostic-Code"))
        status = status_field(_field(items, "Status"))
        remote_field = typed(_field(items, "Remote-MTA"))[1].split()
        remote = remote_field[0].strip("[]") if remote_field else None
        action = _field(items, "Action").strip().lower().split(" ")[0] or None
        d = Draft(
            recipient=rcpt,
            action=action,
            status=status,
            diagnostic=diag,
            diagnostic_type=dtype,
            remote_mta=remote,
            preset=_POWERMTA.get(_field(items, "X-PowerMTA-BounceCategory").strip().lower()) or verdict,
            reporting_mta=reporting,
            reported_by=fmt,
        )
        block = None
        if rcpt:
            block = text_blocks.get(rcpt.lower())
            if block is None and orig_rcpt:
                oaddr = address(orig_rcpt)
                block = text_blocks.get(oaddr.lower()) if oaddr else None
        if block is None and len(recipients) == 1 and len(text_blocks) == 1:
            block = next(iter(text_blocks.values()))
        if block is not None:
            d.extra.append(block.text)
        elif len(recipients) == 1 and note_text.strip():
            d.extra.append(ndr.meaningful(note_text))
        drafts.append(d)
    results = [finish(d, original) for d in drafts]
    return results


# PowerMTA classifies each bounce itself; its categories map onto reasons.
_POWERMTA = {
    "bad-mailbox": "userunknown",
    "bad-domain": "hostunknown",
    "inactive-mailbox": "suspend",
    "quota-issues": "mailboxfull",
    "message-expired": "expired",
    "no-answer-from-host": "networkerror",
    "bad-connection": "networkerror",
    "routing-errors": "networkerror",
    "policy-related": "policyviolation",
    "spam-related": "spamdetected",
    "virus-related": "virusdetected",
    "content-related": "contenterror",
    "invalid-sender": "rejected",
    "relaying-issues": "norelaying",
    "bad-configuration": "systemerror",
    "protocol-errors": "systemerror",
}


def _split_recipients(blocks: list[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """Some reporters forget the blank line between recipients: start a new block at each recipient."""
    out: list[list[tuple[str, str]]] = []
    for items in blocks:
        cur: list[tuple[str, str]] = []
        seen_final = seen_orig = False
        for k, v in items:
            low = k.lower()
            if (low == "final-recipient" and seen_final) or (low == "original-recipient" and seen_orig):
                out.append(cur)
                cur = []
                seen_final = seen_orig = False
            seen_final |= low == "final-recipient"
            seen_orig |= low == "original-recipient"
            cur.append((k, v))
        if cur:
            out.append(cur)
    return out


def status_field(value: str) -> str | None:
    codes = smtp.find_statuses(value)
    return codes[0] if codes else None


def feedback(parts: mime.Parts, original: Original) -> list[BounceResult]:
    items = parts.feedback
    ftype = (_field(items, "Feedback-Type") or "").strip().lower() or None
    if ftype is None and FEEDBACK_SUBJECT.search(mime.header(parts.top, "Subject")):
        ftype = "abuse"
    rcpts = [a for v in _all(items, "Original-Rcpt-To") for a in [address(v)] if a]
    if not rcpts:
        rcpts = [a for v in _all(items, "Removal-Recipient") for a in [address(v)] if a]
    inner = parts.returned
    if not rcpts and inner is not None:
        hm = mime.header(inner, "X-HmXmrOriginalRecipient")
        if hm:
            rcpts = [a for a in [address(hm)] if a]
    if not rcpts and original.to:
        rcpts = [a for a in original.to if a]
    sender = address(_field(items, "Original-Mail-From")) or original.sender
    source_ip = _field(items, "Source-IP").strip()
    text = squash("\n".join(parts.texts))[:DIAG_LIMIT]
    domains = [d.strip().lower() for d in _all(items, "Reported-Domain") if d.strip()]
    ips = find_ips(source_ip) if source_ip else find_ips(text)[:3]
    out = []
    for rcpt in rcpts or [None]:
        out.append(
            BounceResult(
                recipient=rcpt,
                action="feedback",
                reason="feedback",
                feedback_type=ftype,
                ips=ips,
                domains=[d for d in domains if is_domain(d)],
                diagnostic=text,
                sender=sender,
                subject=original.subject,
                message_id=original.message_id,
                note="" if rcpt else "The complaint report does not name the recipient who complained.",
            )
        )
    return out


_JSON_GLUE = re.compile(r"!\n ")


# Amazon SES names some bounce causes itself (bounceSubType); "General" says nothing.
_SES_SUBTYPES = {
    "Suppressed": "suppressed",
    "OnAccountSuppressionList": "suppressed",
    "MailboxFull": "mailboxfull",
    "MessageTooLarge": "mesgtoobig",
    "ContentRejected": "contenterror",
    "AttachmentRejected": "securityerror",
}


def ses(text: str, original: Original) -> list[BounceResult]:
    """An Amazon SES notification (JSON, as delivered by SNS email subscriptions)."""
    start = text.find("{")
    if start < 0:
        return []
    blob = _JSON_GLUE.sub("", text[start:])
    end = blob.rfind("}")
    try:
        doc = json.loads(blob[: end + 1])
    except ValueError:
        try:
            doc, _ = json.JSONDecoder().raw_decode(blob)
        except ValueError:
            return []
    if not isinstance(doc, dict):
        return []
    if isinstance(doc.get("Message"), str):
        try:
            doc = json.loads(doc["Message"])
        except ValueError:
            return []
    kind = str(doc.get("notificationType") or doc.get("eventType") or "").lower()
    mail = doc.get("mail") or {}
    common = mail.get("commonHeaders") or {}
    orig = Original(
        sender=address(" ".join(common.get("from") or [])) or mail.get("source") or original.sender,
        subject=common.get("subject") or original.subject,
        message_id=common.get("messageId") or original.message_id,
    )
    drafts: list[Draft] = []
    if kind == "bounce":
        bounce = doc.get("bounce") or {}
        remote = typed(str(bounce.get("remoteMtaIp") or ""))[1] or None
        for r in bounce.get("bouncedRecipients") or []:
            dtype, diag = typed(str(r.get("diagnosticCode") or ""))
            d = Draft(
                recipient=address(str(r.get("emailAddress") or "")),
                action=str(r.get("action") or "failed").lower(),
                status=status_field(str(r.get("status") or "")),
                diagnostic=diag,
                diagnostic_type=dtype,
                remote_mta=remote,
            )
            if bounce.get("bounceType") == "Transient" and d.action == "failed":
                d.action = "delayed"
            d.preset = _SES_SUBTYPES.get(str(bounce.get("bounceSubType")))
            drafts.append(d)
    elif kind == "delivery":
        delivery = doc.get("delivery") or {}
        for r in delivery.get("recipients") or []:
            drafts.append(
                Draft(
                    recipient=address(str(r)),
                    action="delivered",
                    diagnostic=str(delivery.get("smtpResponse") or ""),
                    remote_mta=typed(str(delivery.get("reportingMTA") or ""))[1] or None,
                )
            )
    elif kind == "complaint":
        complaint = doc.get("complaint") or {}
        out = []
        for r in complaint.get("complainedRecipients") or [{}]:
            out.append(
                BounceResult(
                    recipient=address(str(r.get("emailAddress") or "")),
                    action="feedback",
                    reason="feedback",
                    feedback_type=str(complaint.get("complaintFeedbackType") or "abuse"),
                    sender=orig.sender,
                    subject=orig.subject,
                    message_id=orig.message_id,
                )
            )
        return out
    return [finish(d, orig) for d in drafts]


# --- auto-replies -------------------------------------------------------------------------------------------

_REPLY_PREFIX = re.compile(r"^(?:(?:re|aw|fw|fwd|auto(?:matic)? reply|autoreply|auto)\s*:\s*)+", re.I)


def autoreply(top: Message, from_hdr: str, subject: str, body: str) -> BounceResult:
    text = squash(ndr.meaningful(body))[:500] or subject
    return BounceResult(
        recipient=address(from_hdr),
        action="autoreply",
        reason="vacation",
        diagnostic=text,
        sender=address(mime.header(top, "To")),
        subject=_REPLY_PREFIX.sub("", subject).strip() or None,
        message_id=mime.header(top, "In-Reply-To") or None,
    )
