"""Name the reason for a bounce in Sisimai's vocabulary, from codes and wording, with ordered rules.

The order is: the parser's own verdict for formats that say plainly what happened (delivered, expired
queue, a mailer program failing), then the receiving provider's documented wordings, then enhanced
status code families checked against the wording (a 5.1.1 that really says "relay denied" is not an
unknown user), then generic wordings, then what the codes alone imply. Patterns run over lower-cased
text with whitespace squashed; every one is a plain alternation with bounded gaps, so none can
backtrack catastrophically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The reasons, as Sisimai names them.
REASONS = (
    "authfailure",
    "badreputation",
    "blocked",
    "contenterror",
    "delivered",
    "exceedlimit",
    "expired",
    "failedstarttls",
    "feedback",
    "filtered",
    "hasmoved",
    "hostunknown",
    "mailboxfull",
    "mailererror",
    "mesgtoobig",
    "networkerror",
    "norelaying",
    "notaccept",
    "notcompliantrfc",
    "onhold",
    "policyviolation",
    "rejected",
    "requireptr",
    "securityerror",
    "spamdetected",
    "speeding",
    "suppressed",
    "suspend",
    "syntaxerror",
    "systemerror",
    "systemfull",
    "toomanyconn",
    "undefined",
    "userunknown",
    "vacation",
    "virusdetected",
)
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})

# Sisimai's internal codes, used when a bounce states no enhanced code at all.
_INTERNAL = {
    "authfailure": 926,
    "badreputation": 975,
    "blocked": 971,
    "contenterror": 960,
    "exceedlimit": 923,
    "expired": 947,
    "failedstarttls": 976,
    "filtered": 910,
    "hasmoved": 916,
    "hostunknown": 912,
    "mailboxfull": 922,
    "mailererror": 939,
    "mesgtoobig": 934,
    "networkerror": 944,
    "norelaying": 909,
    "notaccept": 932,
    "notcompliantrfc": 974,
    "onhold": 901,
    "policyviolation": 972,
    "rejected": 918,
    "requireptr": 973,
    "securityerror": 970,
    "spamdetected": 980,
    "speeding": 946,
    "suppressed": 903,
    "suspend": 921,
    "systemerror": 930,
    "systemfull": 931,
    "syntaxerror": 902,
    "toomanyconn": 945,
    "userunknown": 911,
    "undefined": 900,
    "virusdetected": 981,
}


def internal_code(reason: str, temporary: bool) -> str | None:
    """Sisimai's pseudo status ("5.0.911") for a reason, when the bounce gave no enhanced code. Sisimai
    has no temporary form for the reasons that say the address itself is bad."""
    num = _INTERNAL.get(reason)
    if num is None:
        return None
    if temporary and reason in HARD_REASONS:
        temporary = False
    if temporary and reason == "filtered":
        num = 924
    return f"{4 if temporary else 5}.0.{num}"


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


# Generic wordings per reason, lower-case, single spaces. `.{0,N}` gaps are bounded on purpose.
WORDS: dict[str, re.Pattern[str]] = {
    "mailboxfull": _rx(
        r"mailbox (?:is )?full",
        r"mailbox.{0,40}(?:over|exceed\w*).{0,30}(?:quota|limit|size)",
        r"(?:over|exceeded?) (?:the )?(?:disk |storage |mailbox )?quota",
        r"quota (?:exceeded|violation|full)",
        r"disk quota",
        r"(?:mailbox|mail ?folder|inbox) (?:is )?(?:full|over quota)",
        r"full mailbox",
        r"account is (?:over|full|exceeding).{0,20}quota",
        r"452 insufficient disk space|not enough (?:disk )?space|not sufficient disk space",
        r"exceeded storage allocation",
        r"mailbox (?:size )?(?:limit )?exceeded|mailbox exceeds allowed size",
        r"mailbox would exceed",
        r"no space left on device",
        r"user has (?:exceeded quota|too many messages)",
        r"user'?s space has been used up",
        r"storage quota exceeded|out of storage space|is over (?:its |the )?quota",
        r"boite du destinataire pleine",
        r"too much mail data",
        r"recipient's mailbox exceeded",
        r"number of messages in recipient's mailbox exceeded",
        r"maildir.{0,20}quota",
    ),
    "mesgtoobig": _rx(
        r"message (?:file )?too (?:big|large) for (?:system|this (?:system|server))",
        r"message (?:file )?too big",
        r"message size exceeds (?:fixed|maximum|the)",
        r"exceeded (?:the )?maximum (?:inbound|incoming) message size",
        r"max(?:imum)? message size exceeded",
        r"size limit",
        r"message length exceeds administrative limit",
        r"line limit exceeded",
        r"taille limite du message atteinte",
        r"message exceeds (?:the )?(?:maximum )?size",
    ),
    "exceedlimit": _rx(
        r"message header size exceeds limit", r"message too large", r"exceeds limit set by recipient"
    ),
    "suspend": _rx(
        r"(?:is|been|currently) (?:temporarily )?suspended",
        r"temporary locked",
        r"archived recipient",
        r"boite du destinataire archivee",
        r"account that you tried to reach is (?:disabled|inactive)",
        r"inactive (?:account|user|mailbox)",
        r"invalid/inactive user",
        r"deactivated mailbox",
        r"user is terminated",
        r"mailbox (?:currently suspended|disabled|is frozen|is disabled|unavailable or access denied)",
        r"temporarily inactive",
        r"recipient suspend",
        r"account (?:has been |is )?(?:disabled|discontinued|locked)",
        r"this mailbox is disabled",
        r"user or domain is disabled",
        r"user suspended",
        r"account is disabled",
        r"this account has been disabled",
    ),
    "hasmoved": _rx(
        r" has been replaced by ", r"recipient no longer on server", r"no longer (?:valid|here).{0,30}forward"
    ),
    "norelaying": _rx(
        r"relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited)",
        r"no relaying|unable to relay|not allowed to relay|as a relay|not an open relay|insecure mail relay",
        r"not permitted to relay",
        r"relaying mail to .{0,80} is not allowed",
        r"not configured to relay mail",
        r"we don't handle mail for|that domain isn't in my list of allowed rcpthosts",
        r"not a gateway|not local host",
        r"requires authentication when attempting to send to a non-local",
        r"specified domain is not allowed",
    ),
    "authfailure": _rx(
        r"dmarc (?:policy|verification|check failed|failure|fail\b|reject)",
        r"(?:rejected|blocked|failed) (?:due to|per|by) dmarc|failed dmarc|dmarc rejection",
        r"does not pass dmarc",
        r"per dmarc policy|domain's dmarc policy|sender's dmarc policy|due to .{0,60}dmarc policy",
        r"spf (?:check|validation|record)?:? ?(?:hard )?fail",
        r"sender policy framework",
        r"bad spf records|please inspect your spf settings|spf\.pobox\.com",
        r"fails? to pass (?:spf|dkim|authentication)",
        r"(?:required|meet the) authentication (?:level|requirements)",
        r"senders to authenticate with (?:either )?(?:spf|dkim)",
        r"sender is unauthenticated",
        r"dkim (?:signature )?(?:fail|verification failed|did not pass|does not pass)",
        r"not allowed to send (?:mail )?from .{0,80}spf",
        r"unauthenticated email from",
        r"multiple authentication checks failed",
        r"failing both spf and dkim",
        r"spf unauthorized mail",
        r"(?:spf|dkim|dmarc) sender invalid",
    ),
    "userunknown": _rx(
        r"user (?:is )?unknown|unknown (?:user|recipient|mailbox|local ?part|e-?mail address)",
        r"no such (?:user|mailbox|recipient|address|person)",
        r"user(?: account)? (?:does not|doesn't|not) exists?|user not found|user not known",
        r"(?:mailbox|address|recipient|account|user) (?:does not|doesn't|do not) exist",
        r"(?:invalid|bad) (?:recipient|mailbox|address|user)",
        r"recipient (?:not found|not exist|is not local|is not accepted|not ok|unknown|rejected)",
        r"mailbox (?:not found|not present|invalid|is inactive|is unavailable|unavailable)",
        r"address (?:not present|unknown|invalid|does not exist|couldn't be found|not found)",
        r"email (?:address|account) (?:does not exist|could not be found)",
        r"email account that you tried to reach does not exist",
        r"is not a (?:valid|known) (?:user|mailbox|recipient)|not a valid (?:recipient|user)",
        r"recipnotfound|recipientnotfound|recipient not found",
        r"no mailbox (?:here|found|by that name)|no mail ?box available",
        r"no account by that name|there is no one at this address|this spectator does not exist",
        r"requested action not taken: mailbox unavailable",
        r"destination (?:addresses were unknown|server rejected recipients)",
        r"this user doesn't have an? .{1,60} account",
        r"is not an active address|not a local address|can't accept user",
        r"badrcptto|validrcptto|badrecipientto",
        r"invalid final delivery userid|unknown or illegal user",
        r"not listed in (?:the )?(?:domino )?directory|name is not recognized",
        r"utilisateur inconnu|nessun utente|no existe (?:dicha persona|ese usuario)",
        r"weil die adresse nicht gefunden wurde",
        r"user missing home directory|user not active|vdeliver: invalid or unknown virtual user",
        r"(?:bad|invalid|unknown|nonexistent|non-existent) (?:destination )?(?:recipient|user)",
        r"recipient address rejected: (?:access denied|invalid user|invalid-recipient|userunknown)",
        r"the following recipients was undeliverable",
        r"this address no longer accepts mail",
        r"address does not exist|does not exist\.",
        r"unknown recipient",
        r"recipient address rejected\.(?: \(in reply to rcpt to command\)|$)",
        r"no valid recipients for this",
    ),
    "filtered": _rx(
        r"account is protected by",
        r"bounced address",
        r"has restricted sms e-?mail",
        r"is not accepting any mail",
        r"message filtered",
        r"message rejected due to user rules",
        r"not found recipient account",
        r"refuse to receive (?:this )?mail|user refuses to receive",
        r"only accepting mail from specific email addresses",
        r"refused due to recipient preferences",
        r"user reject",
        r"blocked by the recipient",
        r"\b\d{3} : user unknown",
    ),
    "requireptr": _rx(
        r"ptr record|ptr resource record|reverse dns|rdns|reverse lookup|reverse-lookup",
        r"ip name lookup failed|cannot find your hostname|cannot resolve your address",
        r"unresolvable relay host name",
        r"dynamic ip or generic dns",
        r"unverifyable sending ips|mismatches client ip",
        r"dns lookup failure: .{0,80} try again later",
        r"no ptr",
        r"custom reverse dns name",
    ),
    "notcompliantrfc": _rx(
        r"duplicate header",
        r"not rfc ?5322 compliant|rfcmessagenoncompliant|not rfc compliant",
        r"rfc ?5322 (?:violation|non-?compliant)",
        r"multiple (?:addresses in )?(?:from|to|cc|subject|date|sender|message-id)?:? ?header",
        r" multiple .{0,40} headers?",
    ),
    "badreputation": _rx(
        r"poor (?:email )?reputation",
        r"rate limited due to ip reputation",
        r"ip/domain reputation problems",
        r"very low reputation",
        r"none/bad reputation",
        r"unexpected volume or user complaints",
        r"reputation (?:is too low|score)",
        r"\bip reputation\b",
    ),
    "contenterror": _rx(
        r"header size exceeds maximum permitted",
        r"improper use of 8-bit data",
        r"recipient list, exceeds policy limit",
        r"mime complexity",
        r"too many received: headers",
        r"invalid mime headers|improperly-formatted binary content|unnecessary base64 encoding",
    ),
    "rejected": _rx(
        r"sender (?:address )?(?:rejected|refused|denied|blocked|not pre-approved)",
        r"sender (?:is in my black list|is spammer)",
        r"spoofed message|rejecting spoofed",
        r"sender (?:email )?address (?:rejected|has been blacklisted)",
        r"(?:^|[^t] )address rejected",
        r"administrative prohibition",
        r"batv (?:failed|validation)|rejected by batv|batv: no tag",
        r"backscatter protection",
        r"because the sender isn't on the recipient's list",
        r"bogus mail from",
        r"can't determine purported responsible address",
        r"without a valid sender domain|unroutable sender address",
        r"denied \[bouncedeny\]|valid-address-filter",
        r"domain of sender address|sender domain (?:is empty|must (?:exist|resolve))",
        r"senderfilterconfig",
        r"emetteur invalide",
        r"empty envelope senders? not allowed|null sender is not allowed|no third-party dsns",
        r"envelope blocked",
        r"from: domain is invalid",
        r"fully qualified email address required",
        r"invalid domain, see",
        r"invalid sender",
        r"is not a registered gateway user",
        r"mail from not owned by user",
        r"email address is not verified",
        r"permissions? to send as this sender|not (?:allowed|authorized|permitted) to send as",
        r"mx records for .{0,80} (?:do not|don't) exist",
        r"returned mail not accepted here",
        r"recursive cname records",
        r"rule imposed mailbox access",
        r"sending this from a different address or alias",
        r"sender verify failed",
        r"sender was rejected",
        r"spam reporting address",
        r"syntax error: empty email address",
        r"this server does not accept mail from",
        r"unsigned dsn",
        r"not allowed to post to this (?:mailing )?list|not a member of this (?:mailing )?list",
        r"(?:sender|your email) address has been blacklisted|an address that has been blacklisted",
        r"your access to submit messages to this e-mail system has been rejected",
        r"access denied \(sender blacklisted\)",
        r"no such domain.{0,20}(?:sender|mail from)",
        r"group you tried to contact .{0,80} may not exist",
    ),
    "hostunknown": _rx(
        r"domain (?:does not exist|is not reachable|must exist|not found|name not found)",
        r"host (?:or domain name )?(?:not found|unknown|unreachable)",
        r"(?:unknown|illegal) (?:host|domain)",
        r"mail domain mentioned in email address is unknown",
        r"name or service not known",
        r"no such domain",
        r"recipient address rejected: unknown domain",
        r"the account or domain may not exist",
        r"unrout(?:e)?able address",
        r"couldn't find any host named",
        r"illegal host/domain name",
        r"553 .{0,80} does not exist",
    ),
    "spamdetected": _rx(
        r"\bspam\b.{0,40}(?:detected|blocked|rejected|refused|content|classification|message|score|filter|"
        r"check|email|not accepted|complaints)",
        r"(?:detected|identified|classified|considered|scored|marked|rejected|flagged) as spam",
        r"suspicion of spam|suspected of being spam",
        r"appears? (?:similar )?to (?:be )?(?:spam|unsolicited)",
        r"unsolicited (?:bulk |commercial )?(?:e-?mail|mail)",
        r"blacklisted url|uribl|surbl",
        r"content filter|message content rejected|mail content denied|rejecting (?:mail|banned) content",
        r"high probability of spam|probable spam|likely spam|looks like spam|spam-like",
        r"spamassassin|spambouncer|spamprofiler",
        r"bulk (?:e-?mail|advertising)|classification as bulk mail",
        r"message (?:rejected|refused) (?:as spam|for policy reasons|because of unacceptable content)",
        r"rejected due to spam",
        r"suspected spam|possible spam|spam or virus|spam/virus",
        r"recurrent pattern detection",
        r"\bube\b",
        r"mail score \(",
        r"greylisted.{0,40} please try again",
        r"\d+ spam points|spam points",
        r"message filtered\. (?:please|refer)",
        r"antispam checks",
        r"our system has detected that this message is",
        r"your message has (?:triggered a spam block|been temporarily blocked by our filter)",
        r"help_spam_16\.htm",
        r"554 5\.7\.0 reject, id=",
    ),
    "speeding": _rx(
        r"please try again slower",
        r"receiving mail too (?:quickly|fast)",
        r"exceeded their limit for the number of messages",
        r"receiving mail at a rate that prevents",
        r"temporarily rate limited",
        r"has sent to too many recipients",
        r"sending (?:rate|speed) (?:exceeded|too high)",
    ),
    "toomanyconn": _rx(
        r"too many (?:connections|concurrent|smtp sessions|errors from your ip|recipients|simultaneous)",
        r"concurrent connections|max(?:imum)? (?:number of )?messages? per connection",
        r"connection rate limit exceeded",
        r"per-domain connection limit",
        r"max emails per hour",
        r"throttling failure",
        r"maximum connection limit",
        r"connection frequency limited",
        r"trop de connexions",
        r"numerous attempts to deliver",
    ),
    "blocked": _rx(
        r"blocked using|blocked by (?:rbl|dnsbl|spamhaus)|"
        r"listed (?:in|on|at|by) .{0,80}(?:rbl|dnsbl|spamhaus|cloudmark|"
        r"blocklist|blacklist|block list|black list)",
        r"(?:ip|client|host|network|sender ip).{0,60}(?:blacklisted|blocklisted|block list|black list|"
        r"is blocked|was blocked|has been blocked|banned)",
        r"blacklisted by|is in a black ?list|on our block ?list",
        r"spamhaus|spamcop|sorbs|barracudacentral|abuseat\.org|cbl\.|ipcheck\.proofpoint|dnsbl|\brbl\b",
        r"bad sender ip|banned sending ip|sender ip address rejected",
        r"client host (?:rejected|blocked)|client host .{0,60} blocked",
        r"helo command rejected|bad helo|invalid helo",
        r"may not be mail exchanger",
        r"client host rejected: was not authenticated",
        r"confirm this mail server|your server requires confirmation",
        r"connection (?:dropped|refused by|reset by peer|was dropped)",
        r"dynamic(?:/zombied)? ip|hosts with dynamic ip|residential",
        r"esmtp not accepting connections",
        r"extreme bad ip profile",
        r"go away",
        r"host network not allowed",
        r"invalid ip for sending mail",
        r"is not allowed to send mail from",
        r"mailfrom domain is listed",
        r"no access from mail server",
        r"not currently accepting mail from your ip",
        r"please use the smtp server of your isp",
        r"(?:blocked|refused) - see http",
        r"rejecting open proxy|open relay",
        r"server access forbidden",
        r"service not available, closing transmission channel",
        r"smtp error from remote mail server after initial connection",
        r"looks suspiciously like spammer|currently sending spam|you are sending spam",
        r"too many spams from your ip",
        r"unwanted messages have been sent from",
        r"you are not allowed to connect",
        r"your ip address (?:is listed|has been|is blocked)",
        r"temporarily deferred due to (?:unexpected volume or )?user complaints",
        r"blocked for spamming|adresse ip source bloquee|ip source",
        r"\brejected\b.{0,30}\bip\b|\bip\b.{0,30}\brejected\b",
        r"daily relay quota",
        r"your access ip .{0,40} rejected",
        r"blocked by .{0,40}(?:filter|policy|threat list|block ?list|black ?list)|has been blocked",
        r"^\d{3} blocked|said: 550 blocked",
    ),
    "virusdetected": _rx(
        r"virus|malware|potentially executable attachment|infected",
        r"mcspamsignature",
    ),
    "policyviolation": _rx(
        r"illegal attachment",
        r"recipient is not accepting mail with",
        r"members-only list|closed mailing list",
        r"denied by policy|local policy violation|for policy reasons|organization(?:al)? (?:policy|settings)",
        r"rejected due to (?:local )?(?:security )?polic(?:y|ies)|email rejected due to security policies",
        r"header (?:error|are not accepted)",
        r"message given low priority",
        r"protocol violation",
        r"not subscribed to this group",
        r"content presents a potential",
        r"containing images or other attachments",
        r"mass mailer",
        r"allowable number of posts",
        r"messages with multiple addresses",
        r"\[ph01\]|policy reasons",
        r"anti-spoofing policy",
    ),
    "systemerror": _rx(
        r"loop (?:broken|was found|detected)|mail loop|loops back to myself|forwarding loop",
        r"can't create user output file",
        r"could not load drd",
        r"internal (?:server )?error",
        r"interrupted system call",
        r"encountered an error while being processed",
        r"(?:local|server|system|mail system) config(?:uration)? error|misconfigured",
        r"local error in processing|temporary local problem",
        r"queue file write error",
        r"no mdb",
        r"service currently unavailable",
        r"timeout waiting for input",
        r"transaction failed",
        r"unable to connect .{0,40}daemon",
        r"duplicated message-id",
    ),
    "networkerror": _rx(
        r"could not connect and send",
        r"dns records for the destination computer could not be found",
        r"hop count exceeded|too many hops|exceeded \d+ hops",
        r"host (?:is )?unreachable|no route to host|network is unreachable",
        r"host name lookup failure|host not found, try again",
        r"malformed (?:or unexpected )?name server reply",
        r"message (?:looping|probably in a routing loop)",
        r"unable to resolve route|unrouteable mail domain",
        r"network error",
        r"dns (?:error|lookup failure|failure)",
        r"wasn't able to establish an smtp connection",
    ),
    "systemfull": _rx(r"mail system full", r"requested mail action aborted: exceeded storage allocation"),
    "notaccept": _rx(
        r"does not accept mail|doesn't receive email|accepts no mail",
        r"null ?mx|nullmx",
        r"mail receiving disabled",
        r"name server: \.: host not found",
        r"no mx (?:record )?found|no mx or srv record|indicated no smtp service",
        r"no route for current request",
        r"smtp protocol returned a permanent error",
    ),
    "expired": _rx(
        r"connection timed out|timed out|timeout",
        r"could not find a gateway",
        r"delivery (?:attempts will continue|expired|time expired|failed \d+ attempts)",
        r"failed to deliver to domain",
        r"giving up",
        r"have been failing for a long time",
        r"has been delayed|been delayed|delivery delayed|message delayed",
        r"has not been collected",
        r"message (?:expired|timed out)|envelope expired|queue expired",
        r"retry (?:time not reached|timeout exceeded)",
        r"server did not respond",
        r"in the queue too long",
        r"after multiple retries|unable to deliver this message after",
        r"not reachable within the allowed queue period",
        r"could not be delivered for (?:more than|the last|\d)",
        r"could not deliver for the last",
        r"did not accept our requests to connect",
    ),
    "securityerror": _rx(
        r"account not subscribed to ses",
        r"authentication (?:credentials invalid|failure|failed|required|turned on)",
        r"executable files are not allowed",
        r"you don't authenticate",
        r"unauthenticated senders not allowed",
        r"verification failure",
        r"you are not authorized to send mail",
        r"is a dead domain",
        r"not authorized to perform ses",
        r"authentification (?:invalide|requise)",
        r"authrequired",
        r"starttls",
    ),
    "mailererror": _rx(
        r" \|\| exit |procmail|bin/maildrop|command (?:failed|died|output)",
        r"mailer error|pipe to \||x-unix;",
    ),
    "vacation": _rx(
        r"i am (?:away|out of (?:the )?office)|i'm (?:away|out of (?:the )?office)",
        r"i will be (?:out|away|traveling)",
        r"out of (?:the )?office|on vacation|on holiday|on leave",
        r"automatic reply|auto-?reply|autoreply",
        r"abwesenheit|absence|congés",
    ),
}

_STATUS_NAMES: dict[str, str] = {
    "2.1.5": "delivered",
    "4.1.6": "hasmoved",
    "4.1.7": "rejected",
    "4.1.8": "rejected",
    "4.1.9": "systemerror",
    "4.2.1": "blocked",
    "4.2.2": "mailboxfull",
    "4.2.3": "exceedlimit",
    "4.2.4": "filtered",
    "4.3.1": "systemfull",
    "4.3.2": "notaccept",
    "4.3.3": "systemerror",
    "4.3.5": "systemerror",
    "4.4.1": "expired",
    "4.4.2": "networkerror",
    "4.4.3": "systemerror",
    "4.4.4": "networkerror",
    "4.4.5": "systemfull",
    "4.4.6": "networkerror",
    "4.4.7": "expired",
    "4.5.3": "systemerror",
    "4.5.5": "systemerror",
    "4.6.0": "contenterror",
    "4.6.2": "contenterror",
    "4.6.5": "contenterror",
    "4.7.1": "blocked",
    "4.7.2": "blocked",
    "4.7.5": "securityerror",
    "4.7.6": "securityerror",
    "4.7.7": "securityerror",
    "4.7.12": "securityerror",
    "4.7.15": "securityerror",
    "4.7.16": "mesgtoobig",
    "4.7.24": "authfailure",
    "4.7.25": "requireptr",
    "4.7.26": "authfailure",
    "5.1.0": "userunknown",
    "5.1.1": "userunknown",
    "5.1.2": "hostunknown",
    "5.1.3": "userunknown",
    "5.1.4": "filtered",
    "5.1.6": "hasmoved",
    "5.1.7": "rejected",
    "5.1.8": "rejected",
    "5.1.9": "systemerror",
    "5.1.10": "notaccept",
    "5.2.0": "filtered",
    "5.2.1": "filtered",
    "5.2.2": "mailboxfull",
    "5.2.3": "exceedlimit",
    "5.2.4": "filtered",
    "5.3.0": "systemerror",
    "5.3.1": "systemfull",
    "5.3.2": "notaccept",
    "5.3.3": "systemerror",
    "5.3.4": "mesgtoobig",
    "5.3.5": "systemerror",
    "5.4.0": "networkerror",
    "5.4.3": "systemerror",
    "5.4.4": "hostunknown",
    "5.5.2": "syntaxerror",
    "5.5.3": "toomanyconn",
    "5.5.4": "systemerror",
    "5.5.5": "systemerror",
    "5.5.6": "syntaxerror",
    "5.6.0": "contenterror",
    "5.6.1": "contenterror",
    "5.6.2": "contenterror",
    "5.6.3": "contenterror",
    "5.6.5": "contenterror",
    "5.6.6": "contenterror",
    "5.6.7": "contenterror",
    "5.6.8": "contenterror",
    "5.6.9": "contenterror",
    "5.7.13": "suspend",
    "5.7.16": "mesgtoobig",
    "5.7.17": "hasmoved",
    "5.7.18": "hasmoved",
    "5.7.20": "authfailure",
    "5.7.21": "authfailure",
    "5.7.22": "authfailure",
    "5.7.23": "authfailure",
    "5.7.24": "authfailure",
    "5.7.25": "requireptr",
    "5.7.26": "authfailure",
    "5.7.27": "notaccept",
    "5.7.28": "spamdetected",
    "5.7.29": "authfailure",
    "5.7.30": "failedstarttls",
}
for _d in range(0, 20):
    _STATUS_NAMES.setdefault(f"5.7.{_d}", "securityerror")
_STATUS_NAMES["4.1.1"] = "userunknown"


def status_reason(status: str | None) -> str:
    """The reason an enhanced code implies on its own ("" when it implies none)."""
    if not status:
        return ""
    return _STATUS_NAMES.get(status, "")


_RETRY = frozenset({"", "undefined", "onhold", "systemerror", "securityerror", "expired", "networkerror"})
_RETRY_WITH_USER = _RETRY | {"hostunknown", "userunknown"}
_BEFORE_DATA = frozenset({"CONN", "EHLO", "HELO", "MAIL", "RCPT"})


@dataclass(frozen=True)
class Evidence:
    """What the classifier looks at for one recipient."""

    diagnostic: str  # lower-case, squashed
    status: str | None = None
    reply: str | None = None
    command: str | None = None
    action: str | None = None
    diagnostic_type: str | None = None  # "smtp", "x-unix", "x-postfix"...
    provider: str | None = None
    providers: tuple[str, ...] = ()  # every provider the evidence points to, most reliable first
    preset: str | None = None  # the format's own verdict (e.g. an MTA that says "retry timeout exceeded")
    reported_by: str | None = None  # the report's format (knowledge.bounce.formats)
    pasted: bool = False  # pasted text (a log line, a reply), not a report


# Wordings particular to one MTA's or service's reports that settle the reason outright, whatever the
# codes say (their codes are generic or misleading). Checked in order.
FORMAT_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), reason)
    for p, reason in (
        # Exchange and Microsoft 365 NDR codes.
        (r"resolver\.rst\.recipsizelimit|message too large for this recipient", "mesgtoobig"),
        (r"resolver\.rst\.authrequired", "securityerror"),
        (r"resolver\.rst\.notauthorized", "rejected"),
        (
            r"resolver\.adr\.(?:ex)?recip(?:ient)?notfound|recipient not found by smtp address lookup",
            "userunknown",
        ),
        (r"resolver\.adr\.reciplimit", "toomanyconn"),
        (r"resolver\.adr\.(?:badprimary|invalidinsmtp|ambiguous)", "systemerror"),
        (r"smtpsend\.dns\.nonexistentdomain", "hostunknown"),
        (r"smtpsend\.dns\.mxloopback", "networkerror"),
        (r"queue\.expired", "expired"),
        (r"the recipient name is not recognized", "userunknown"),
        # Gateways that say plainly whose fault it is.
        (r"email address is marked as invalid", "userunknown"),
        (r"unverified address|address verification in progress", "onhold"),
        (r"sender address rejected", "rejected"),
        # Exim's own messages.
        (
            r"all host address lookups failed permanently"
            r"|all relevant mx records point to non-existent hosts",
            "hostunknown",
        ),
        (r"error: quota exceed|mailbox is full", "mailboxfull"),
        (
            r"an mx or srv record indicated no smtp service|no host found for existing smtp connection",
            "notaccept",
        ),
        (
            r"angle-brackets nested too deep|domain missing in source-routed address|malformed address:",
            "syntaxerror",
        ),
        (r"delivery to (?:file|pipe) forbidden|local delivery failed|lmtp error after ", "systemerror"),
        (r"too many \"received\" headers", "contenterror"),
        (
            r"retry timeout exceeded|retry time not reached for any host|have been failing for a long time|"
            r"has been frozen|was frozen on arrival",
            "expired",
        ),
        # qmail and its clones.
        (r"couldn't find any host named|couldn't find any host by that name", "hostunknown"),
        (r"couldn't find a mail exchanger or ip address", "notaccept"),
        (
            r"wasn't able to establish an smtp connection|although i'm listed as a best-preference mx",
            "networkerror",
        ),
        (r"but my name was rejected|but greeting failed", "blocked"),
        (r"no mailbox here by that name", "userunknown"),
        (r"mailbox unavailable \(not enough free space\)", "systemfull"),
        (r"mailaddress is administrativ\w* disabled", "suspend"),
        (r"exeeded the maximum size the user accepts", "exceedlimit"),
        # Exchange 2000/2003 NDR codes in "MSEXCH:... (000C05A6)".
        (r"\(000c05a6\)", "userunknown"),
        (r"\(000c0595\)", "filtered"),
        (r"\(00010256\)|\(000d06b5\)", "systemerror"),
        (r"\(00120270\)", "networkerror"),
        (r"\(00050311\)|\(000502cc\)", "contenterror"),
        (r"\(000b0981\)", "securityerror"),
        # OpenSMTPD's own failure strings.
        (r"could not retrieve credentials", "securityerror"),
        (
            r"address family mismatch on destination mxs|all routes to destination blocked|"
            r"bad dns lookup error code|could not retrieve source address|"
            r"no valid route to (?:remote mx|destination)|"
            r"temporary failure in mx lookup",
            "networkerror",
        ),
        (r"destination seem to reject all mails|no mx found for destination", "notaccept"),
        # Courier, IMail, Domino, KDDI/au, Google Workspace.
        (r"this domain's dns violates rfc 1035", "systemerror"),
        (r"\bdns lookup failed\.", "networkerror"),
        (r"user mailbox exceeds allowed size|account is temporarily over quota", "mailboxfull"),
        (r"requested action not taken: virus detected", "virusdetected"),
        (
            r"not listed in (?:the )?domino directory|not listed in public name & address book|"
            r"no se encuentra en el directorio de domino|non répertorié dans l'annuaire domino",
            "userunknown",
        ),
        (r"cannot route mail to user", "filtered"),
        (r"several matches found in domino directory", "systemerror"),
        (r"your message was not delivered within ", "expired"),
        (r"the user\(s\) account is (?:disabled|temporarily limited)", "suspend"),
        (r"each of the following recipients was rejected by a remote mail server", "onhold"),
        (r"because the address couldn't be found\. check for typos", "userunknown"),
        # Other MTAs' distinctive sentences.
        (r"message will be retried for", "expired"),
        (r"could not deliver for the last \d+ seconds", "expired"),
        (r"envelope expired", "expired"),
        (r"network error on destination mx", "networkerror"),
        (r"no mx found for domain", "notaccept"),
        (r"type=mx: malformed or unexpected name server reply", "notaccept"),
        (r"doesn't receive email according to the administrator", "notaccept"),
        (
            r"dns error: domain name not found|dns error: dns server returned answer with no data",
            "hostunknown",
        ),
        (r"dns error: could not contact dns servers|did not accept our requests to connect", "expired"),
        (r"^dns error: |\bdns error: \d+ dns type", "networkerror"),
        (r"dns lookup failure: host \S+ not found", "hostunknown"),
        (r"メールボックスが一杯|容量(?:が|を)?超", "mailboxfull"),
        (r"見つかりません|存在しません", "userunknown"),
    )
)


# Gmail's older sender-side reports end the remote reply with "(state N)": the SMTP stage it failed at.
_GMAIL_STATE = re.compile(r"\(state (\d{1,2})\)")
_GMAIL_STATES = {
    "6": "systemerror",  # the remote server does not support TLS
    "8": "systemerror",  # SMTP AUTH failed with the remote server
    "9": "systemerror",  # TLS certificate trouble
    "12": "norelaying",
    "13": "blocked",
    "14": "userunknown",
    "15": "filtered",
    "17": "filtered",
    "18": "filtered",
}


def _gmail_state(ev: Evidence) -> str | None:
    m = _GMAIL_STATE.search(ev.diagnostic) if "(state " in ev.diagnostic else None
    if not m or m.group(1) not in _GMAIL_STATES:
        return None
    if ev.status and ".0" not in ev.status and status_reason(ev.status):
        return status_reason(ev.status)
    return _GMAIL_STATES[m.group(1)]


def format_reason(text: str) -> str | None:
    for rx, reason in FORMAT_WORDS:
        if rx.search(text):
            return reason
    return None


def words(reason: str, text: str) -> bool:
    rx = WORDS.get(reason)
    return bool(rx and text and rx.search(text))


def _probe(reason: str, ev: Evidence, temp: str) -> bool:
    """Phase one: the enhanced code family, checked against the wording and the SMTP command."""
    d = ev.diagnostic
    if reason == "mailboxfull":
        return temp == "mailboxfull" or words("mailboxfull", d)
    if reason == "mesgtoobig":
        if temp == "mesgtoobig":
            return True
        if temp == "exceedlimit" or ev.status == "5.2.3":
            return False
        return words("mesgtoobig", d)
    if reason == "exceedlimit":
        return temp == "exceedlimit" or words("exceedlimit", d)
    if reason == "suspend":
        return ev.reply == "525" or words("suspend", d)
    if reason == "hasmoved":
        return temp == "hasmoved" or words("hasmoved", d)
    if reason == "norelaying":
        if ev.command in ("CONN", "EHLO", "HELO"):
            return False
        return words("norelaying", d)
    if reason == "authfailure":
        return temp == "authfailure" or words("authfailure", d)
    if reason == "userunknown":
        if temp == "userunknown":
            return not any(
                words(r, d)
                for r in ("norelaying", "blocked", "mailboxfull", "hasmoved", "rejected", "notaccept")
            ) or (words("userunknown", d) and not words("norelaying", d))
        # A report that names no SMTP stage may be quoting a filter that ran after the message was sent;
        # Sisimai calls that "filtered". A pasted reply or log line is another matter: whoever pastes
        # "550 user unknown" means the address was refused.
        lenient = ev.pasted and ev.command is None and temp in ("", "userunknown")
        return (ev.command == "RCPT" or lenient) and words("userunknown", d) and not words("filtered", d)
    if reason == "filtered":
        if temp == "rejected":
            return False  # X.1.7/X.1.8 are about the sender, whatever else the text says
        if temp == "filtered":
            return words("userunknown", d) or words("filtered", d)
        if ev.command in _BEFORE_DATA:
            return False
        return words("filtered", d) or words("userunknown", d)
    if reason == "requireptr":
        return temp == "requireptr" or words("requireptr", d)
    if reason == "notcompliantrfc":
        return words("notcompliantrfc", d)
    if reason == "badreputation":
        return words("badreputation", d)
    if reason == "contenterror":
        if _probe("spamdetected", ev, temp):
            return False
        return temp == "contenterror" or words("contenterror", d)
    if reason == "rejected":
        if temp == "rejected":
            return True
        if ev.command == "MAIL":
            return words("rejected", d) or "access denied" in d
        if ev.command == "DATA" and temp != "userunknown":
            return words("rejected", d)
        if temp in _RETRY:
            return words("rejected", d)
        return False
    if reason == "hostunknown":
        if temp == "hostunknown":
            return not words("networkerror", d)
        return words("hostunknown", d)
    if reason == "spamdetected":
        if not ev.status:
            return False
        if temp == "spamdetected":
            return True
        if ev.command in _BEFORE_DATA:
            return False
        return words("spamdetected", d)
    if reason == "speeding":
        return words("speeding", d)
    if reason == "toomanyconn":
        return temp == "toomanyconn" or words("toomanyconn", d)
    if reason == "blocked":
        return temp == "blocked" or words("blocked", d)
    return False


_PHASE_ONE = (
    "mailboxfull",
    "mesgtoobig",
    "exceedlimit",
    "suspend",
    "hasmoved",
    "norelaying",
    "authfailure",
    "userunknown",
    "filtered",
    "requireptr",
    "notcompliantrfc",
    "badreputation",
    "contenterror",
    "rejected",
    "hostunknown",
    "spamdetected",
    "speeding",
    "toomanyconn",
    "blocked",
)
_PHASE_TWO = (
    "mailboxfull",
    "authfailure",
    "badreputation",
    "speeding",
    "spamdetected",
    "virusdetected",
    "policyviolation",
    "norelaying",
    "systemerror",
    "networkerror",
    "suspend",
    "contenterror",
    "systemfull",
    "notaccept",
    "expired",
    "securityerror",
    "mailererror",
)


def _dtype(ev: Evidence) -> str:
    # Postfix writes "X-Postfix;" for what it decided itself; it reads like any SMTP diagnostic.
    dtype = (ev.diagnostic_type or "smtp").lower()
    return "smtp" if dtype == "x-postfix" else dtype


def _fallback(ev: Evidence, temp: str) -> str:
    """Phase two: wordings in a looser order, then what the codes and the command imply."""
    d = ev.diagnostic
    dtype = _dtype(ev)
    if temp not in _RETRY_WITH_USER and dtype == "smtp":
        return temp
    for reason in _PHASE_TWO:
        if words(reason, d):
            return reason
    if temp:
        return temp
    if ev.status and ev.status[1:4] == ".6.":
        return "contenterror"
    if ev.status and ev.status[1:4] == ".7.":
        return "securityerror"
    if dtype.startswith("x-unix"):
        return "mailererror"
    if ev.reply and (ev.reply[0] in "45") and 1 <= int(ev.reply[1:]) <= 7:
        return "syntaxerror"
    if ev.action in ("delayed", "expired"):
        return "expired"
    if ev.command in ("EHLO", "HELO", "CONN"):
        return "blocked"
    return ""


def classify(ev: Evidence) -> str:
    """The reason for one recipient, in Sisimai's vocabulary ("undefined" when nothing points anywhere)."""
    if ev.preset:
        return ev.preset
    if ev.action == "delivered" or (ev.status or "").startswith("2."):
        return "delivered"
    from knowledge.bounce.formats import format_rule
    from knowledge.bounce.providers import provider_reason

    by_software = format_rule(ev.reported_by, ev.diagnostic)
    if by_software:
        return by_software

    by_state = _gmail_state(ev)
    if by_state:
        return by_state
    by_provider = provider_reason(ev)
    if by_provider:
        return by_provider
    by_format = format_reason(ev.diagnostic)
    if by_format:
        return by_format
    temp = status_reason(ev.status)
    reason = ""
    dtype = _dtype(ev)
    if dtype == "smtp":
        for name in _PHASE_ONE:
            if _probe(name, ev, temp):
                reason = name
                break
    if not reason:
        reason = _fallback(ev, temp)
        if not reason and ev.action == "delayed":
            reason = "expired"
        if not reason:
            if words("vacation", ev.diagnostic) and ev.action == "autoreply":
                return "vacation"
            return "onhold" if ev.diagnostic.strip() else "undefined"
    return reason


def is_hard(reason: str, status: str | None, reply: str | None) -> bool:
    """Hard bounce in Sisimai's sense: the address itself is bad, for good."""
    if reason in HARD_REASONS:
        return True
    if reason == "notaccept":
        code = status or reply or ""
        return code.startswith("5")
    return False


def first_match(text: str, reasons: Iterable[str]) -> str | None:
    for r in reasons:
        if words(r, text):
            return r
    return None
