"""The `tls-rpt` check: the _smtp._tls TXT record (RFC 8460) that says where TLS failure reports go."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from checks import tagvalue
from checks.model import Finding, Status
from checks.runner import Context
from checks.target import TargetError, domain_name

CHECK = "tls-rpt"

_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")


@dataclass
class TlsRptRecord:
    """One `v=TLSRPTv1` TXT record as parsed; `problems` is empty when it is valid."""

    text: str
    rua: list[str] = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def is_candidate(text: str) -> bool:
    # Senders keep only records that start with v=TLSRPTv1; a near miss (v=tlsrptv1) is worth pointing out.
    return text.lstrip(tagvalue.WSP).lower().startswith("v=tlsrpt")


def uri_problem(uri: str) -> str | None:
    """Why a rua URI is unusable, or None. RFC 8460 §3 defines only mailto: and https: destinations."""
    if not uri:
        return "empty URI in rua"
    if not _URI_CHARS.match(uri):
        return f"{uri!r} is not a URI (spaces or characters that must be percent-encoded)"
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "mailto":
        address = unquote(parts.path)
        local, at, host = address.rpartition("@")
        if not at or not local or not host:
            return f"{uri!r} has no email address after mailto:"
        try:
            domain_name(host)
        except TargetError:
            return f"{uri!r}: {host!r} is not a valid domain"
        return None
    if scheme == "https":
        if not parts.hostname:
            return f"{uri!r} has no host"
        try:
            domain_name(parts.hostname)
        except TargetError:
            return f"{uri!r}: {parts.hostname!r} is not a valid host name"
        return None
    if not scheme:
        return f"{uri!r} has no scheme: write mailto:{uri}" if "@" in uri else f"{uri!r} has no scheme"
    return f"{uri!r} uses {scheme}:, but reports go only to mailto: or https: URIs"


def parse_record(text: str) -> TlsRptRecord:
    """RFC 8460 §3: `v=TLSRPTv1; rua=<uri>[,<uri>...]` plus optional extensions, `;`-separated."""
    record = TlsRptRecord(text)
    seen_rua = False
    for name, value, part in tagvalue.strict_fields(text, "TLSRPTv1", record.problems):
        if name == "rua":
            if seen_rua:
                record.problems.append(
                    "rua appears more than once (list every URI in one rua, comma-separated)"
                )
                continue
            seen_rua = True
            for uri in (u.strip(tagvalue.WSP) for u in value.split(",")):
                problem = uri_problem(uri)
                if problem:
                    record.problems.append(problem)
                else:
                    record.rua.append(uri)
        else:
            tagvalue.add_extension(record.extensions, record.problems, name, value, part)
    if not seen_rua:
        record.problems.append("no rua= field: the record does not say where reports go")
    return record


async def check(ctx: Context) -> list[Finding]:
    domain = ctx.domain
    if domain is None:
        return []
    name = f"_smtp._tls.{domain}"
    txt = await ctx.dns.query(name, "TXT")
    evidence: dict = {"record_lookup": txt.evidence()}
    if txt.failed:
        summary = f"could not check: the lookup of {name} TXT failed ({txt.describe()})"
        return [Finding(CHECK, Status.ERROR, domain, summary, evidence, "dns-lookup-failed")]
    records = [r for r in txt.records if is_candidate(r)] if txt.ok else []
    if not records:
        summary = f"no TLS-RPT record at {name}: nobody is told when senders fail to deliver over TLS"
        return [Finding(CHECK, Status.INFO, domain, summary, evidence, "tls-rpt-missing")]
    evidence["records"] = records
    if len(records) > 1:
        summary = f"{len(records)} TLS-RPT records at {name}: senders ignore them all and send no reports"
        return [Finding(CHECK, Status.FAIL, domain, summary, evidence, "tls-rpt-syntax")]
    record = parse_record(records[0])
    if record.problems:
        evidence["problems"] = record.problems
        summary = f"the TLS-RPT record is invalid ({record.problems[0]}): senders send no reports"
        return [Finding(CHECK, Status.FAIL, domain, summary, evidence, "tls-rpt-syntax")]
    evidence["rua"] = record.rua
    summary = f"TLS-RPT reports go to {', '.join(record.rua)}"
    return [Finding(CHECK, Status.PASS, domain, summary, evidence, "tls-rpt-ok")]
