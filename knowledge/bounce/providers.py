"""Which receiving provider said it (from the remote MTA, fingerprints in the text, or the recipient's
domain), and the reasons each provider's documented wordings and codes mean.

Provider ids are short and stable: they are what knowledge-base entries name as `receiver`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.bounce.reasons import Evidence

# Host-name suffixes of receiving systems. Checked against the remote MTA first.
HOST_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("pphosted.com", "proofpoint"),
    ("ppe-hosted.com", "proofpoint"),
    ("protection.outlook.com", "microsoft"),
    ("prod.outlook.com", "microsoft"),
    ("outlook.com", "microsoft"),
    ("hotmail.com", "microsoft"),
    ("onmicrosoft.com", "microsoft"),
    ("exchangelabs.com", "microsoft"),
    ("outlook.office365.com", "microsoft"),
    ("aspmx.l.google.com", "google"),
    ("gmail-smtp-in.l.google.com", "google"),
    ("google.com", "google"),
    ("googlemail.com", "google"),
    ("yahoodns.net", "yahoo"),
    ("yahoo.com", "yahoo"),
    ("yahoo.net", "yahoo"),
    ("aol.com", "yahoo"),
    ("mail.icloud.com", "apple"),
    ("icloud.com", "apple"),
    ("apple.com", "apple"),
    ("mimecast.com", "mimecast"),
    ("mimecast.co.za", "mimecast"),
    ("mimecast-offshore.com", "mimecast"),
    ("ess.barracudanetworks.com", "barracuda"),
    ("barracudanetworks.com", "barracuda"),
    ("iphmx.com", "cisco"),
    ("amazonses.com", "amazonses"),
    ("amazonaws.com", "amazonses"),
    ("zoho.com", "zoho"),
    ("zohomail.com", "zoho"),
    ("zoho.eu", "zoho"),
    ("qq.com", "tencent"),
    ("mail.ru", "mailru"),
    ("yandex.ru", "yandex"),
    ("yandex.net", "yandex"),
    ("gmx.net", "gmx"),
    ("gmx.com", "gmx"),
    ("web.de", "gmx"),
    ("orange.fr", "orange"),
    ("wanadoo.fr", "orange"),
    ("laposte.net", "laposte"),
    ("free.fr", "free"),
    ("sfr.fr", "sfr"),
    ("cox.net", "cox"),
    ("cloudfilter.net", "cloudmark"),
    ("charter.net", "spectrum"),
    ("comcast.net", "comcast"),
    ("att.net", "att"),
    ("secureserver.net", "godaddy"),
    ("messagelabs.com", "messagelabs"),
    ("sendgrid.net", "sendgrid"),
    ("mailgun.org", "mailgun"),
    ("messagingengine.com", "fastmail"),
    ("fastmail.com", "fastmail"),
    ("docomo.ne.jp", "docomo"),
    ("ezweb.ne.jp", "kddi"),
    ("au.com", "kddi"),
    ("email.ua", "iua"),
    ("facebook.com", "facebook"),
    ("mx.cloudflare.net", "cloudflare"),
    ("t-online.de", "t-online"),
)

# Recipient domains whose mail goes to one provider (consumer mailboxes): a last resort.
CONSUMER_DOMAINS: dict[str, str] = {
    "gmail.com": "google",
    "googlemail.com": "google",
    "outlook.com": "microsoft",
    "hotmail.com": "microsoft",
    "live.com": "microsoft",
    "msn.com": "microsoft",
    "yahoo.com": "yahoo",
    "ymail.com": "yahoo",
    "aol.com": "yahoo",
    "icloud.com": "apple",
    "me.com": "apple",
    "mac.com": "apple",
    "qq.com": "tencent",
    "mail.ru": "mailru",
    "yandex.ru": "yandex",
    "gmx.net": "gmx",
    "gmx.de": "gmx",
    "web.de": "gmx",
    "orange.fr": "orange",
    "wanadoo.fr": "orange",
    "laposte.net": "laposte",
    "free.fr": "free",
    "sfr.fr": "sfr",
    "cox.net": "cox",
    "comcast.net": "comcast",
    "att.net": "att",
    "zoho.com": "zoho",
    "t-online.de": "t-online",
}

# Fingerprints in the receiver's own words (lower-case), most specific first.
_TEXT_MARKS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), pid)
    for p, pid in (
        (
            r"ipcheck\.proofpoint\.com|proofpoint\.com/dnsbl|prs\.proofpoint|proofpoint dynamic reputation"
            r"|pphosted",
            "proofpoint",
        ),
        (
            r"protection\.outlook\.com|prod\.outlook\.com|postmaster\.live\.com|sender\.office\.com|"
            r"go\.microsoft\.com|\(as\d{6,}\)|\bas\(\d{4,}\)|outlook\.com|hotmail\.com|\(a?s3\d{3}\)|"
            r"part of their network is on our block list|resolver\.adr\.recip|"
            r"\b(?:rp|sc|dy|ou)-00\d \(",
            "microsoft",
        ),
        (r"groups\.google\.com|google groups", "google-groups"),
        # Gmail's own replies end in "- gsmtp"; its sender-side reports also link to support.google.com,
        # so the link alone does not make Google the receiver.
        (r"- gsmtp\b|gmail requires|gmail-smtp-in", "google"),
        (r"yahoo\.com|yahoodns|yahooinc|verizonmedia|\[tss\d\d\]|\[ts0\d\]|\[bl2\d\]|\[ph0\d\]", "yahoo"),
        (r"mimecast|header based anti-spoofing", "mimecast"),
        (r"barracuda", "barracuda"),
        (r"sending mta's poor reputation|senderbase|talosintelligence|ironport", "cisco"),
        (r"icloud|support\.apple\.com|\[cs0\d\]|\[hm0\d\]|\[hme\d\]", "apple"),
        (r"mail\.qq\.com|service\.mail\.qq", "tencent"),
        (r"csi\.cloudmark\.com|cloudmark", "cloudmark"),
        (r"cox\.com|aup#", "cox"),
        (r"zoho", "zoho"),
        (r"postmaster\.facebook\.com", "facebook"),
    )
)


def host_provider(host: str | None) -> str | None:
    """The provider a host name belongs to, by its suffix."""
    if not host:
        return None
    host = host.lower().rstrip(".")
    for suffix, pid in HOST_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            return pid
    return None


def candidates(remote_mta: str | None, diagnostic: str, recipient: str | None) -> list[str]:
    """Provider ids that may have written the diagnostic, most reliable first: the remote host, then
    fingerprints in the text, then the recipient's (consumer) domain."""
    out: list[str] = []
    domain = recipient.rpartition("@")[2].lower() if recipient and "@" in recipient else ""
    if domain == "googlegroups.com":
        out.append("google-groups")
    pid = host_provider(remote_mta)
    if pid:
        out.append(pid)
    low = diagnostic.lower()
    for rx, pid in _TEXT_MARKS:
        if pid not in out and rx.search(low):
            out.append(pid)
    pid = CONSUMER_DOMAINS.get(domain) or host_provider(domain)
    if pid and pid not in out:
        out.append(pid)
    return out


def identify(remote_mta: str | None, diagnostic: str, recipient: str | None) -> str | None:
    """A small provider id for the receiving side, or None when nothing points to one."""
    found = candidates(remote_mta, diagnostic, recipient)
    return found[0] if found else None


# Per-provider rules: (status prefix or "", pattern over the lower-case diagnostic, reason).
_Rule = tuple[str, re.Pattern[str] | None, str]


def _rules(*items: tuple[str, str | None, str]) -> tuple[_Rule, ...]:
    return tuple((st, re.compile(p) if p else None, reason) for st, p, reason in items)


# Orange and La Poste end their replies with a label and a number ("OFR006_102", "LPN007_517"); the
# number says why. Some numbers only say "try later": no reason can be given for those.
_FRANCE_PTT = _rules(
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_(?:101|102|103|510|999)\b", "blocked"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_104\b", "toomanyconn"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_(?:305|402)\b", "securityerror"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_(?:401|517)\b|spf/dns de votre nom de domaine", "authfailure"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_(?:403|405|415|421)\b", "rejected"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_416\b", "userunknown"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_417\b", "mailboxfull"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_(?:420|426)\b", "suspend"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_505\b", "systemerror"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_506\b", "spamdetected"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_514\b", "mesgtoobig"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_630\b", "policyviolation"),
    ("", r"\b(?:lpn|ofr|ouk)[a-z0-9]*_(?:105|107|108|109|201|423|424|513)\b", "undefined"),
    ("", r"bloquee|blocked for spam", "blocked"),
)

RULES: dict[str, tuple[_Rule, ...]] = {
    # Exchange Online / Outlook.com NDR codes and wordings (Microsoft's NDR reference pages).
    "microsoft": _rules(
        (
            "",
            r"banned sending ip|access denied, banned sender|using customer block list|rejected by recipient"
            r"|access denied, bad helo|part of their network is on our block list|on our block list"
            r"|does not accept email over ipv6",
            "blocked",
        ),
        ("4.7.", r"access denied, please try again later", "blocked"),
        ("", r"rate limited due to ip reputation", "badreputation"),
        (
            "",
            r"does not pass dmarc|required authentication level|sender policy framework violation"
            r"|must pass either spf or dkim",
            "authfailure",
        ),
        ("", r"must have a reverse dns", "requireptr"),
        ("", r"message expired|queue expired|message delayed", "expired"),
        ("", r"\b(?:sc|ou|dy)-00\d\b", "blocked"),
        (
            "",
            r"\brp-00\d\b|too many connections|too many concurrent|maximum number of connections"
            r"|recipient thread limit exceeded|daily limit for message recipients|submission quota exceeded"
            r"|per hour message receive limit|exceeded their limit for|exceeded permitted limits within"
            r"|tenant has exceeded threshold|traffic not accepted from this ip|too many recipients",
            "toomanyconn",
        ),
        (
            "",
            r"failed mta-sts validation|starttls is required to send mail|tlsa-invalid|dnssec-invalid"
            r"|certificate-host-mismatch|starttls-not-supported|certificate-expired",
            "failedstarttls",
        ),
        ("5.7.504", None, "suspend"),
        ("", r"access denied, banned recipient|mailbox cannot be accessed", "suspend"),
        (
            "",
            r"recipientnotfound|recipnotfound|recipient address rejected: access denied"
            r"|requested action not taken: mailbox unavailable|invalid recipient address"
            r"|reserved by rfc 2606|single label domains not accepted",
            "userunknown",
        ),
        ("", r"the domain is not reachable", "hostunknown"),
        ("", r"recipsizelimit|message too large for this recipient", "mesgtoobig"),
        (
            "",
            r"too many related errors|invalid characters|message depth exceeded|invalid message content",
            "contenterror",
        ),
        ("", r"dns query failed|routing loop detected", "networkerror"),
        ("", r"unable to relay|tenantattribution; relay access denied", "norelaying"),
        (
            "",
            r"system not accepting network messages|no mail-enabled subscriptions|bad storedriver mdb",
            "notaccept",
        ),
        ("", r"x-dg-ref header is too long|policy violation detected \(as345\)", "policyviolation"),
        ("5.7.9", r"delivery not authorized, message refused", "policyviolation"),
        (
            "",
            r"unknown sender address|sender denied|bad outbound sender|delivery not authorized"
            r"|sender was not authenticated|sender not in allowed-senders list"
            r"|sender not authenticated for group|spam abuse detected|rfc 5322 section 3\.6\.2"
            r"|unregistered domains",
            "rejected",
        ),
        (
            "",
            r"resolver\.rst\.authrequired|authentication required|exchange server authentication"
            r"|client was not authenticated",
            "securityerror",
        ),
        ("", r"content filter agent quarantined", "spamdetected"),
        ("", r"unrecognized command|send hello first", "syntaxerror"),
        (
            "",
            r"service not available|service not active|system incorrectly configured|journaling archive"
            r"|helo / ehlo requires domain|address ambiguous|list expansion problem|misconfigured forwarding"
            r"|failed to be replicated|temporary server error|suspiciousremoteservererror|server busy"
            r"|pfa agent busy",
            "systemerror",
        ),
        ("", r"insufficient system resources", "systemfull"),
    ),
    # Gmail's SMTP error reference (support.google.com/a/answer/3726730), receiving side.
    "google": _rules(
        (
            "",
            r"authenticate with (?:either )?(?:spf|dkim)|authenticate their email|hard fail policy"
            r"|not accepted due to domain's dmarc policy|fails to pass authentication checks"
            r"|aligned with either the authenticated|add a dmarc record|sender is unauthenticated"
            r"|spf record of the sending domain",
            "authfailure",
        ),
        ("", r"very low reputation", "badreputation"),
        (
            "",
            r"unusual rate of (?:unsolicited )?mail|ip not in whitelist|try again later, closing connection"
            r"|helo/ehlo argument",
            "blocked",
        ),
        (
            "",
            r"not authorized to send email directly to our servers|mail relay denied"
            r"|invalid credentials for relay",
            "norelaying",
        ),
        (
            "",
            r"ptr record|reverse dns|forward dns entry|ipv6 sending guidelines"
            r"|does not match the ip address of the hostname",
            "requireptr",
        ),
        (
            "",
            r"tls required for rcpt domain|use tls/ssl|must issue a starttls|starttls may not be repeated",
            "failedstarttls",
        ),
        ("", r"account that you tried to reach is (?:disabled|inactive)", "suspend"),
        (
            "",
            r"receiving mail at a rate|receiving mail too (?:fast|quickly)|peak smtp relay limit"
            r"|daily (?:sending quota|user sending limit|smtp relay (?:sending )?limit)"
            r"|this mail has been rate limited",
            "speeding",
        ),
        ("", r"out of storage space|over quota|storage quota|email quota exceeded", "mailboxfull"),
        ("", r"account that you tried to reach does not exist", "userunknown"),
        (
            "",
            r"not rfc ?5322 compliant|multiple addresses in from|rfcmessagenoncompliant"
            r"|missing a valid (?:address in the from|message-id)|unicode character in a disallowed header"
            r"|encoded-word syntax is not permitted|not a valid rfc 5321 address|mail message is malformed",
            "notcompliantrfc",
        ),
        ("", r"likely unsolicited mail|nature of the content", "spamdetected"),
        (
            "",
            r"content presents a potential security issue|illegal attachment|has a policy that prohibited"
            r"|same message-id",
            "policyviolation",
        ),
        ("", r"mail sending denied|unauthenticated email is not accepted", "rejected"),
        ("", r"exceeded google's message size|exceeds google's", "mesgtoobig"),
        ("", r"message exceeded 50 hops", "networkerror"),
        (
            "",
            r"too many login attempts|no identity changes permitted|authentication required\."
            r"|application-specific password required|log in (?:with|through) your web browser"
            r"|username and password not accepted",
            "securityerror",
        ),
        (
            "",
            r"smtp protocol violation|optional argument not permitted|syntax error|unrecognized command"
            r"|unimplemented command|bad sequence of commands|ehlo/helo first|mail first|rcpt first"
            r"|no data after bdat|unrecognized authentication type|xoauth is no longer supported"
            r"|too many unauthenticated commands",
            "syntaxerror",
        ),
        (
            "",
            r"temporary system problem|server busy|multiple destination domains per transaction"
            r"|temporarily rejected (?:this )?message|domain policy size per transaction",
            "systemerror",
        ),
        ("", r"too many recipients", "toomanyconn"),
    ),
    # Yahoo / AOL (senders.yahooinc.com/smtp-error-codes).
    "yahoo": _rules(
        (
            "",
            r"unexpected volume or user complaints|due to user complaints|\[ts0[1-3]\]|\[tss04\]",
            "badreputation",
        ),
        ("", r"permanently deferred|\[tss09\]|\[tss11\]|\[bl2\d\]|spamhaus", "blocked"),
        ("", r"sender is unauthenticated|authenticate with either spf or dkim|dmarc|dkim", "authfailure"),
        ("", r"not accepted for policy reasons|\[ph0\d\]", "policyviolation"),
        ("", r"headers are not rfc compliant", "notcompliantrfc"),
        ("", r"relaying denied for ", "norelaying"),
        ("", r"doesn't have a \S+ account|mailbox not found", "userunknown"),
        ("", r"mailbox is disabled|\(554\.30\)", "suspend"),
        ("", r"is no longer valid", "userunknown"),
        ("", r"unresolvable rfc\.?5321 (?:from )?domain", "rejected"),
        ("", r"receiving mail too quickly", "speeding"),
        ("", r"syntax error in parameters or arguments", "syntaxerror"),
        ("", r"max message per connection", "toomanyconn"),
    ),
    "apple": _rules(
        ("", r"\[hme1\]|failing both spf and dkim|dmarc policy", "authfailure"),
        ("", r"\[cs0\d\]|\[hm0\d\]|local policy", "policyviolation"),
        ("", r"spamhaus", "blocked"),
        ("", r"excessive volume", "speeding"),
        ("", r"over quota", "mailboxfull"),
        ("", r"user does not exist|inactive email address", "userunknown"),
    ),
    "google-groups": _rules(
        ("", r"spam", "spamdetected"),
        ("", None, "rejected"),
    ),
    "proofpoint": _rules(
        ("", r"ipcheck\.proofpoint|dnsbl-lookup|prs\.proofpoint|proofpoint dynamic reputation", "blocked"),
        ("", r"marked as invalid", "userunknown"),
        ("", r"address verification in progress", "onhold"),
    ),
    # Mimecast's SMTP error code reference.
    "mimecast": _rules(
        ("", r"(?:spf|dkim|dmarc) sender invalid", "authfailure"),
        (
            "",
            r"ct ip reputation|poor reputation sender|internal resources are temporarily unavailable",
            "badreputation",
        ),
        ("", r"anti-spoofing|content examination policy|host network,? not allowed", "policyviolation"),
        ("", r"administrative prohibition|envelope blocked|blocked senders|block policy for", "rejected"),
        (
            "",
            r"ip temporarily blacklisted|sender address blocked|recipient temporarily unavailable",
            "blocked",
        ),
        ("", r"rejected due to security policies|mcspamsignature|virus", "virusdetected"),
        (
            "",
            r"route requires (?:encryption|tls version|high-strength ciphers)|invalid for this certificate",
            "failedstarttls",
        ),
        ("", r"maximum email size exceeded", "mesgtoobig"),
        ("", r"incorrect hostname used for inbounds|mail loop detected", "networkerror"),
        ("", r"open relay (?:is )?not allowed", "norelaying"),
        ("", r"account inbounds disabled", "notaccept"),
        (
            "",
            r"account outbounds disabled|hostname is not authorized|journal message past expiration",
            "onhold",
        ),
        ("", r"incorrect authentication data|submitter failed to", "securityerror"),
        ("", r"unable to process (?:connection|command|an email)|message ended early", "systemerror"),
        (
            "",
            r"account service is temporarily unavailable|exceeding outbound thread limit|too many recipients",
            "toomanyconn",
        ),
        ("", r"invalid address|user unknown|invalid recipient", "userunknown"),
    ),
    "cisco": _rules(
        ("", r"poor reputation", "badreputation"),
        ("", r"spf unauthorized mail", "authfailure"),
    ),
    "barracuda": _rules(
        ("", r"barracuda reputation|barracudacentral|\(x:blocked\)", "blocked"),
        ("", r"cuda_nsu", "userunknown"),
        ("", r"spam url|banned content", "spamdetected"),
        ("", r"spoofed message", "rejected"),
    ),
    "tencent": _rules(
        (
            "",
            r"(?:ip|domain|sender|connection) frequency limited",
            "toomanyconn",
        ),
        ("", r"frequency of receiving messages is limited|mailbox unavailable or access deni", "speeding"),
        ("", r"dmarc check failed|spf check failed", "authfailure"),
        ("", r"suspected bounce attacks|suspected spam ip|connection denied", "blocked"),
        ("", r"spam is embedded in the email|mail content denied", "spamdetected"),
        ("", r"suspected spam|mail is rejected by recipients", "rejected"),
        ("", r"message too large", "mesgtoobig"),
        ("", r"deactivated mailbox", "suspend"),
        ("", r"bad address syntax", "syntaxerror"),
        ("", r"mailbox not found", "userunknown"),
        ("", r"mailbox is full", "mailboxfull"),
    ),
    # GoDaddy's inbound servers end each reply with an "IBnnn" code.
    "godaddy": _rules(
        ("", r"\bib401\b", "securityerror"),
        ("", r"\bib50[12]\b", "notcompliantrfc"),
        ("", r"\bib506\b", "rejected"),
        ("", r"\bib508\b", "authfailure"),
        ("", r"\bib108\b", "requireptr"),
        ("", r"\bib212\b", "spamdetected"),
        ("", r"\bib705\b", "virusdetected"),
        ("", r"\bib(?:605|007)\b", "toomanyconn"),
        ("", r"\bib(?:101|504|510|607)\b|too many recipients this hour", "speeding"),
        ("", r"\bib103\b", "badreputation"),
        ("", r"\bib1(?:0[4-6]|1[0-3])\b|rbl reject|spamhaus", "blocked"),
        ("", r"account storage limit", "mailboxfull"),
        ("", r"message rejected for spam or virus content", "spamdetected"),
        ("", r"account disabled", "suspend"),
        ("", r"message is looping", "systemerror"),
        ("", r"recipient not found|account does not exist", "userunknown"),
        ("", r"delivery timeout|in the queue too long", "expired"),
    ),
    # Cox quotes an "AUP#code" for most rejections.
    "cox": _rules(
        (
            "",
            r"aup#(?:cxbl|cdrbl|ipbl\d+)\b|too many bad commands from|too many invalid recipients",
            "blocked",
        ),
        ("", r"aup#cxdns\b|dns check failure - try again later|rejected - no rdns", "requireptr"),
        ("", r"aup#cxsndr\b", "authfailure"),
        ("", r"aup#cxsmtp\b|sender rejected", "rejected"),
        (
            "",
            r"aup#(?:cxcnct|cxmxrt)\b|too many sessions from|message threshold exceeded|"
            r"requested action aborted: try again later",
            "toomanyconn",
        ),
        ("", r"aup#(?:cxthrt|cxmj)\b", "securityerror"),
        ("", r"aup#urlbl\d+\b", "spamdetected"),
        ("", r"esmtp no data before greeting|attachment extension is forbidden", "policyviolation"),
        ("", r"esmtp server temporarily not available", "systemerror"),
        ("", r"recipient rejected", "userunknown"),
    ),
    "orange": _FRANCE_PTT,
    "messagelabs": _rules(
        ("", r"turn on smtp authentication in your mail client", "securityerror"),
        ("", r"^542 |\b542 \S+ rejected|no such user", "userunknown"),
    ),
    "laposte": _FRANCE_PTT,
    # au (KDDI) answers "550 : User unknown" when the recipient's own filter refuses the sender, and
    # "550 <address>: User unknown" when the address does not exist.
    "kddi": _rules(
        ("", r"\b\d{3} : user unknown", "filtered"),
        ("", r">: user unknown", "userunknown"),
    ),
    "facebook": _rules(
        ("", r"rcp-p2|recipient preferences", "filtered"),
        ("", r"rcp-p1|rcp-t1", "userunknown"),
        ("", r"rcp-t4|rcp-p3", "suspend"),
    ),
}


def _docomo(ev: Evidence) -> str | None:
    # NTT DOCOMO answers "550 Unknown user" both for a missing address (at RCPT) and for a recipient's
    # reception filter (after DATA); the status and the command tell them apart.
    d = ev.diagnostic
    if ev.status in ("5.1.1",):
        return "userunknown"
    if ev.status == "5.2.0":
        return "filtered"
    if "552 too much mail data" in d:
        return "mailboxfull"
    if "552 too many recipients" in d:
        return "toomanyconn"
    if "503 bad sequence of commands" in d or "504 command parameter not implemented" in d:
        return "syntaxerror"
    if "unknown user" in d and ev.status in (None, "5.0.0"):
        return "rejected" if ev.command == "DATA" else "userunknown" if ev.command == "RCPT" else None
    return None


_IUA_CODES = {
    "1": "norelaying",
    "2": "userunknown",
    "3": "suspend",
    "4": "mailboxfull",
    "5": "toomanyconn",
    "6": "norelaying",
    "7": "blocked",
    "8": "rejected",
    "9": "blocked",
    "10": "filtered",
}
_IUA_LINK = re.compile(r"\.i\.ua/err/(\d{1,2})/")


def _iua(ev: Evidence) -> str | None:
    # i.ua links each rejection to mail.i.ua/err/<n>/; the number says why.
    m = _IUA_LINK.search(ev.diagnostic)
    return _IUA_CODES.get(m.group(1)) if m else None


_SPECTRUM_CODE = re.compile(r"aup#[a-z]{0,2}-?(\d{4})\b")
_SPECTRUM_RANGES = (
    (1000, 1000, "blocked"),
    (1010, 1080, "rejected"),
    (1090, 1090, "systemerror"),
    (1100, 1150, "requireptr"),
    (1160, 1190, "policyviolation"),
    (1200, 1250, "blocked"),
    (1260, 1260, "networkerror"),
    (1300, 1340, "toomanyconn"),
    (1350, 1490, "speeding"),
    (1500, 1520, "rejected"),
    (1530, 1530, "mesgtoobig"),
    (1540, 1550, "speeding"),
    (1560, 1560, "policyviolation"),
    (1580, 1580, "speeding"),
)


def _spectrum(ev: Evidence) -> str | None:
    # Spectrum (Charter) quotes "AUP#I1234"-style codes; ranges of the number map to causes.
    m = _SPECTRUM_CODE.search(ev.diagnostic)
    if not m:
        return None
    num = int(m.group(1))
    return next((reason for lo, hi, reason in _SPECTRUM_RANGES if lo <= num <= hi), None)


_FUNCS = {"docomo": _docomo, "iua": _iua, "spectrum": _spectrum}


def provider_reason(ev: Evidence) -> str | None:
    """The reason a provider's documented wording or code gives, when the provider is known."""
    if not ev.diagnostic:
        return None
    status = ev.status or ""
    for pid in ev.providers or ((ev.provider,) if ev.provider else ()):
        func = _FUNCS.get(pid)
        found = func(ev) if func else None
        if found:
            return found
        for prefix, rx, reason in RULES.get(pid, ()):
            if prefix and not status.startswith(prefix):
                continue
            if rx is None or rx.search(ev.diagnostic):
                return reason
    return None
