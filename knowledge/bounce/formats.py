"""Which mail software wrote a report, told by its format (headers it always sets, sentences it always
writes), and the wordings that such software uses for one cause only.

Most of the parser reads every report the same way. A few products, though, answer with a generic
sentence ("No such user", "Mailbox does not exist") that means something definite only in their own
reports: a McAfee appliance says "No such user" when it rejected the recipient, while the same words
from an unknown gateway, without the SMTP stage they answered, may as well come from a filter after
the message was sent. Identifying the format lets those wordings settle the reason, and tells the
reader which software to look up.
"""

from __future__ import annotations

import re
from email.message import Message

from knowledge.bounce import mime

# Format ids: short and stable, they appear in results as `reported_by`.
EXIM = "exim"
EZWEB = "ezweb"
FML = "fml"
IMAIL = "imail"
INTERSCAN = "interscan"
MCAFEE = "mcafee"
OPENSMTPD = "opensmtpd"
RECEIVING_SES = "amazonses-inbound"
VERIZON = "verizon"

_EXIM_SUBJECT = re.compile(
    r"mail delivery failed|mail failure|message frozen|warning: message |"
    r"error\(s\) in forwarding or filtering|delivery status notification",
    re.I,
)
# Exim's message ids: "<1Nu3PW-0004hr-Lq@host>" (six, six, two characters).
_EXIM_MESSAGE_ID = re.compile(r"^<[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}@")
_FML_MESSAGE_ID = re.compile(r"\.FML[A-Z0-9]*\.", re.I)
_VERIZON_FROM = re.compile(r"post_master@vtext\.com|sysadmin@[\w.\-]*vzwpix\.com", re.I)


def identify(top: Message, text: str, reporting_mta: str | None = None) -> str | None:
    """The format of a report: from its top headers, its notification text and its Reporting-MTA."""
    from_hdr = mime.header(top, "From")
    subject = mime.header(top, "Subject")
    if "Modified by McAfee" in mime.header(top, "X-NAI-Header"):
        return MCAFEE
    if mime.header(top, "X-Mailer").startswith("<SMTP32 v") or subject.startswith("Undeliverable Mail "):
        return IMAIL
    if _VERIZON_FROM.search(from_hdr):
        return VERIZON
    if _ezweb(top, from_hdr, subject):
        return EZWEB
    if (
        from_hdr.lstrip('"').startswith("InterScan")
        or "InterScan" in mime.header(top, "Content-Type")
        or " InterScan " in text[:5000]
    ):
        return INTERSCAN
    if mime.header(top, "X-MLServer") and "-admin@" in from_hdr:
        if _FML_MESSAGE_ID.search(mime.header(top, "Message-ID")):
            return FML
    if mime.header(top, "X-SES-Outgoing") and "inbound-smtp." in (reporting_mta or "").lower():
        return RECEIVING_SES
    received = " ".join(str(v) for v in (top.get_all("Received") or [])[:3])
    if "(OpenSMTPD)" in received and subject.lower().startswith("delivery status notification"):
        return OPENSMTPD
    exim_marks = (
        "Mail Delivery System" in from_hdr,
        bool(_EXIM_SUBJECT.search(subject)),
        bool(_EXIM_MESSAGE_ID.match(mime.header(top, "Message-ID"))),
    )
    if sum(exim_marks) >= 2 and "created automatically by mail delivery software" in text[:3000]:
        return EXIM
    return None


def _ezweb(top: Message, from_hdr: str, subject: str) -> bool:
    """au's EZweb gateway: two of its From, Subject, Received and Message-ID marks."""
    message_id = mime.header(top, "Message-ID")
    received = " ".join(str(v) for v in (top.get_all("Received") or [])[:6])
    marks = (
        "postmaster@ezweb.ne.jp" in from_hdr.lower() or "postmaster@au.com" in from_hdr.lower(),
        subject == "Mail System Error - Returned Mail",
        "ezweb.ne.jp (EZweb Mail) with" in received or ".au.com (" in received,
        message_id.endswith((".ezweb.ne.jp>", ".au.com>")),
    )
    return sum(marks) >= 2


def header_verdict(top: Message, fmt: str | None) -> str | None:
    """A reason a format states in a header rather than in words."""
    if fmt == EZWEB and mime.header(top, "X-SPASIGN").upper().startswith("NG"):
        return "filtered"  # EZweb marks mail its users' reception filters refused
    return None


# Wordings that settle the reason in a format's own reports (lower-case, squashed text). Checked in
# order, before any generic rule: these products use generic sentences with one meaning.
FORMAT_RULES: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    fmt: tuple((re.compile(p), reason) for p, reason in rules)
    for fmt, rules in {
        MCAFEE: (
            (r"user \(\S+@\S+\) unknown\.|unknown user \S+@|user not exist|no such user", "userunknown"),
        ),
        IMAIL: (
            (r"unknown host", "hostunknown"),
            (r"unknown user|invalid final delivery userid", "userunknown"),
            (r"user mailbox exceeds allowed size", "mailboxfull"),
            (r"requested action not taken: virus detected", "virusdetected"),
            (r"blacklisted url in message", "spamdetected"),
            (r"delivery failed \d+ attempts", "expired"),
        ),
        VERIZON: ((r"no such user here|no valid recipients", "userunknown"),),
        # Exim's router says "user not found" for a local part it has no mailbox for.
        EXIM: ((r"\buser not found\b", "userunknown"),),
        # InterScan names only the address it could not deliver to: the address was refused.
        INTERSCAN: ((r"unable to deliver message to", "userunknown"),),
        # Amazon SES receipt rules answer with fixed templates; "Mailbox does not exist" is the one a
        # rule set sends to bounce mail it will not take, whether or not the address exists.
        RECEIVING_SES: (
            (r"mailbox does not exist", "filtered"),
            (r"message too large", "mesgtoobig"),
            (r"mailbox full", "mailboxfull"),
            (r"message content rejected", "contenterror"),
        ),
    }.items()
}


def format_rule(fmt: str | None, text: str) -> str | None:
    """The reason a format's own wording gives ("" text or an unknown format gives None)."""
    for rx, reason in FORMAT_RULES.get(fmt or "", ()):
        if rx.search(text):
            return reason
    return None


# --- fml mailing-list notices ---------------------------------------------------------------------------

# fml answers posts it refuses with a notice naming the list (or the message) in angle brackets; what
# the notice says, or failing that its subject, gives the cause.
_FML_BODY = (
    (
        re.compile(
            r"you are not a member of this mailing list|not member article from|reject mail from|"
            r"reject spammers:|header may cause mail loop",
            re.I,
        ),
        "rejected",
    ),
    (re.compile(r"has detected a loop condition|loop back warning:", re.I), "systemerror"),
    (re.compile(r"security alert:", re.I), "securityerror"),
)
_FML_SUBJECT = (
    (
        re.compile(r" are not member|not member article from|reject mail |spam mail from a spammer", re.I),
        "rejected",
    ),
    (
        re.compile(
            r"fml system error message|loop alert: |loop back warning: |warning: unix from loop", re.I
        ),
        "systemerror",
    ),
    (re.compile(r"security alert", re.I), "securityerror"),
)
_ANGLE_ADDRESS = re.compile(r"<([^<>\s@]{1,64}@[^<>\s@]{1,255})>")


def fml_notice(subject: str, text: str) -> list[tuple[str, str, str | None]]:
    """(recipient, diagnostic, reason) for each address an fml notice names before the returned mail."""
    body = text.split("Original mail as follows:", 1)[0]
    out: list[tuple[str, str, str | None]] = []
    for line in body.split("\n"):
        m = _ANGLE_ADDRESS.search(line)
        if m and all(m.group(1).lower() != r.lower() for r, _, _ in out):
            out.append((m.group(1), line.strip(), None))
    if not out:
        return []
    flat = " ".join(body.split())
    reason = next((r for rx, r in _FML_BODY if rx.search(flat)), None)
    reason = reason or next((r for rx, r in _FML_SUBJECT if rx.search(subject)), None)
    return [(rcpt, diag, reason) for rcpt, diag, _ in out]
