"""Which Slack messages get a bounce diagnosis, and the text to diagnose in them. No Slack calls here.

A message is diagnosed when it looks like a bounce and it is
  - in a direct message with the bot,
  - in a channel listed in TRIAGE_CHANNELS, or
  - in a thread where the bot was mentioned;
never when the bot wrote it, and when another bot wrote it (mail integrations post bounces as bots)
only in TRIAGE_CHANNELS. Everything else is ignored without a word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.slack_text import mentions, unescape

# Message subtypes that carry something a person (or a mail integration) wrote.
CONTENT_SUBTYPES = {None, "", "bot_message", "file_share", "thread_broadcast"}

_STRONG = re.compile(
    r"^(?:final-recipient|original-recipient|diagnostic-code|reporting-mta|action|status|feedback-type|"
    r"x-failed-recipients|remote-mta)\s*:"
    r"|mail delivery (?:failed|failure|subsystem|system)|undelivered mail returned"
    r"|delivery status notification|undeliverable|could not be delivered|couldn'?t be delivered"
    r"|delivery has failed|delivery to the following"
    r"|returned mail|failed permanently|permanent (?:error|failure)|temporary (?:error|failure)"
    r"|message (?:was )?not (?:been )?delivered|delivery (?:is )?delayed|said:\s*[45]\d\d"
    r"|remote server returned|smtp error|non-delivery|\bndr\b|in reply to (?:end of )?(?:data|rcpt)",
    re.IGNORECASE | re.MULTILINE,
)
_REPLY_CODE = re.compile(r"(?<![\d.])[45]\d\d(?:[ -]|$)", re.MULTILINE)
_ENHANCED = re.compile(r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])")
_WORDS = re.compile(
    r"blocked|block ?list|black ?list|rbl|dnsbl|spamhaus|rejected|refused|denied|not allowed|unknown user"
    r"|user unknown|no such user|mailbox|recipient|relay|spam|policy|spf|dkim|dmarc|reputation|rate limit"
    r"|too many|try again later|deferred|greylist|unauthenticated|reverse dns|ptr",
    re.IGNORECASE,
)


def looks_like_bounce(text: str) -> bool:
    """A cheap first look: bounce headers or phrases, or an SMTP reply code in words about mail."""
    if not text or len(text) < 8:
        return False
    if _STRONG.search(text):
        return True
    if _REPLY_CODE.search(text) and (_ENHANCED.search(text) or _WORDS.search(text)):
        return True
    return bool(_ENHANCED.search(text) and _WORDS.search(text))


def is_bounce(diagnosis: Any) -> bool:
    """Whether a diagnosis recognised something (a status code, a known reason, a knowledge-base
    entry), rather than being the "nothing recognised" result knowledge.diagnose gives other text."""
    if not getattr(diagnosis, "readable", True):
        return False
    return bool(
        getattr(diagnosis, "reply_code", None)
        or getattr(diagnosis, "enhanced_code", None)
        or getattr(diagnosis, "kb_matches", None)
        or (getattr(diagnosis, "reason", None) or "undefined") != "undefined"
    )


@dataclass(frozen=True)
class Where:
    """Why a message is (or is not) one to diagnose."""

    diagnose: bool
    why: str


def classify(
    event: Mapping[str, Any],
    *,
    bot_user_id: str | None,
    bot_id: str | None,
    triage_channels: Iterable[str],
    thread_watched: bool,
) -> Where:
    """Whether this message event is in a place the bot answers, and who wrote it allows an answer.

    `thread_watched` is whether its thread is one where the bot was mentioned (looked up by the caller).
    A message that mentions the bot in a channel is left to the app_mention handler.
    """
    if event.get("subtype") not in CONTENT_SUBTYPES or event.get("hidden"):
        return Where(False, f"subtype {event.get('subtype')}")
    by_bot = bool(event.get("bot_id")) or event.get("subtype") == "bot_message"
    if (bot_user_id and event.get("user") == bot_user_id) or (bot_id and event.get("bot_id") == bot_id):
        return Where(False, "written by this bot")
    channel = event.get("channel") or ""
    in_triage = channel in set(triage_channels)
    if by_bot:
        return Where(in_triage, "another bot, in a triage channel" if in_triage else "another bot")
    is_dm = event.get("channel_type") == "im" or channel.startswith("D")
    if not is_dm and bot_user_id and mentions(event.get("text") or "", bot_user_id):
        return Where(False, "mentions the bot: the app_mention handler answers")
    if is_dm:
        return Where(True, "direct message")
    if in_triage:
        return Where(True, "triage channel")
    if event.get("thread_ts") and thread_watched:
        return Where(True, "thread where the bot was mentioned")
    return Where(False, "not a place the bot answers")


def thread_root(event: Mapping[str, Any]) -> str:
    """The ts of the thread a reply belongs in: the message's thread, or the message itself."""
    return str(event.get("thread_ts") or event.get("ts") or "")


def message_text(message: Mapping[str, Any], *, bot_user_id: str | None = None) -> str:
    """The readable text of a message: its text and its attachments' text, unescaped, the bot's
    mention removed. (Files are read separately: handlers.threads downloads the text ones.)"""
    parts = [message.get("text") or ""]
    for attachment in message.get("attachments") or ():
        for key in ("pretext", "title", "text"):
            if attachment.get(key):
                parts.append(str(attachment[key]))
        if not attachment.get("text") and attachment.get("fallback"):
            parts.append(str(attachment["fallback"]))
        for f in attachment.get("fields") or ():
            parts.append(f"{f.get('title', '')}: {f.get('value', '')}")
    text = "\n".join(p for p in parts if p)
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>\s*", "", text)
    return unescape(text).strip()


# Files worth reading as a bounce: plain text and whole messages, up to MAX_INPUT_BYTES.
TEXT_FILETYPES = {"text", "email", "eml", "txt", "plain", "log"}


def readable_files(message: Mapping[str, Any], max_bytes: int) -> list[Mapping[str, Any]]:
    """The attached files that can hold a bounce (text or .eml) and are not too large to read."""
    out = []
    for f in message.get("files") or ():
        mimetype = str(f.get("mimetype") or "")
        name = str(f.get("name") or "")
        textual = (
            mimetype.startswith(("text/", "message/"))
            or str(f.get("filetype") or "") in TEXT_FILETYPES
            or name.lower().endswith((".eml", ".txt", ".msg.txt", ".log"))
        )
        if textual and int(f.get("size") or 0) <= max_bytes:
            out.append(f)
    return out


# --- bounce or raw message --------------------------------------------------------------------------


class Route(StrEnum):
    """What a paste or a file is: a bounce to diagnose, a raw message to analyse, or could be either."""

    BOUNCE = "bounce"  # a delivery report or SMTP error: diagnose it
    MESSAGE = "message"  # a raw message (Received, DKIM-Signature, From…, no delivery report): analyse it
    UNSURE = "unsure"  # message headers, bounce wording in the body: diagnose, offer the analysis
    NOTHING = "nothing"  # neither: ignored where the bot was not asked


# Header fields that raw mail carries and a quoted error or a chat message does not.
_MESSAGE_FIELDS = {
    "received", "dkim-signature", "from", "to", "cc", "subject", "date", "message-id", "return-path",
    "mime-version", "content-type", "authentication-results", "arc-seal", "arc-message-signature",
    "arc-authentication-results", "received-spf", "x-received", "delivered-to", "reply-to",
    "list-unsubscribe", "list-unsubscribe-post", "list-id", "precedence", "feedback-id",
}  # fmt: skip
# At least one of these: what a mail server adds on the way (a forwarded message quoted in a reply
# shows From, Date, Subject and To only, and says nothing about how it travelled).
_TRANSPORT_FIELDS = {
    "received", "dkim-signature", "return-path", "authentication-results", "arc-seal", "received-spf",
    "x-received", "delivered-to",
}  # fmt: skip
_FIELD_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)[ \t]*:[ \t]?(.*)$")
_REPORT_TYPE = re.compile(
    r"multipart/report|message/delivery-status|message/feedback-report|report-type=\"?(?:delivery-status|"
    r"feedback-report)",
    re.IGNORECASE,
)
_DAEMON = re.compile(
    r"mailer-daemon|postmaster@|mail delivery (?:system|subsystem)|microsoftexchange", re.IGNORECASE
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|returned mail|failure notice|"
    r"mail delivery fail|delivery (?:has )?failed|delivery failure|could not be delivered|non[- ]?delivery|"
    r"not delivered|delivery delayed|warning: could not send",
    re.IGNORECASE,
)
HEAD_SCAN = 256 * 1024  # characters read to find the header block; a header section is far smaller


def header_block(text: str) -> tuple[dict[str, str], str]:
    """The first header section of a paste or file as {lower-case name: first value}, and the body.

    Tolerant as checks/message/parse.py is: a ``` fence, an mbox `From ` line and a few lines of
    prose before the first field are skipped ("FYI: the raw source" too), and lines that are not
    fields inside the section are taken as wrapped continuations. No fields: ({}, text).
    """
    lines = text[:HEAD_SCAN].lstrip().split("\n")
    start = 0
    found: tuple[dict[str, str], str] = ({}, text)
    while start < len(lines) and start <= 20:
        if not _FIELD_LINE.match(lines[start].rstrip("\r")):
            start += 1
            continue
        fields: dict[str, str] = {}
        end = len(lines)
        for i in range(start, len(lines)):
            line = lines[i].rstrip("\r")
            if not line.strip() or line.strip() == "```":
                end = i + 1
                break
            match = _FIELD_LINE.match(line) if line[:1] not in (" ", "\t") else None
            if match:
                fields.setdefault(match.group(1).lower(), match.group(2).strip())
        found = (fields, "\n".join(lines[end:]))
        if looks_like_message(fields):
            break
        start = end
    return found


def looks_like_message(fields: Mapping[str, str]) -> bool:
    """Three or more of the fields raw mail carries, one of them added in transit."""
    known = [name for name in fields if name in _MESSAGE_FIELDS]
    return len(known) >= 3 and any(name in _TRANSPORT_FIELDS for name in known)


def route(text: str) -> Route:
    """Issue 6's rule, for every surface: a bounce (a delivery report, an SMTP error) is diagnosed; a
    raw message (Received, DKIM-Signature, From… and no delivery-status part) is analysed; a message
    whose body reads like a bounce (a bounce forwarded, a report quoted) is diagnosed with the analysis
    offered beside it."""
    fields, body = header_block(text)
    if not looks_like_message(fields):
        return Route.BOUNCE if looks_like_bounce(text) else Route.NOTHING
    if (
        _REPORT_TYPE.search(fields.get("content-type", ""))
        or _REPORT_TYPE.search(text[:HEAD_SCAN])
        or "x-failed-recipients" in fields
        or _DAEMON.search(fields.get("from", ""))
        or _BOUNCE_SUBJECT.search(fields.get("subject", ""))
    ):
        return Route.BOUNCE
    # Only the body is read for bounce wording: Received and Authentication-Results lines are full
    # of numbers and words ("dkim", "policy", "550") that would pass for one.
    if _STRONG.search(body[:HEAD_SCAN]) or (
        _REPLY_CODE.search(body[:HEAD_SCAN]) and _ENHANCED.search(body[:HEAD_SCAN])
    ):
        return Route.UNSURE
    return Route.MESSAGE
