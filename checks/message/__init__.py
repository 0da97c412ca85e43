"""Analysis of one raw message (issue 6): path, DKIM, SPF, DMARC, ARC, recorded verdicts, bulk checklist.

    from checks.message import analyze, MessageError
    analysis = await analyze(raw_bytes, dns=resolver, settings=settings, pasted=False)
    analysis.to_dict()  # {"from_domain", "sending_ip", "helo", "envelope_sender", "pasted", "findings", ...}

Modules: parse (input repair, header fields, addresses), path (Received headers, the sending hop),
dkim_verify (dkimpy through our resolver), auth (SPF, DMARC), recorded (ARC and the
Authentication-Results the message carries), requirements (the bulk-sender checklist), analyze (the entry
point).
"""

from checks.message.analyze import MessageAnalysis, analyze
from checks.message.parse import MessageError

__all__ = ["MessageAnalysis", "MessageError", "analyze"]
