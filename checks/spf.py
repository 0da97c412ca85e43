"""The `spf` check: the domain's v=spf1 record, its include tree and limits, and the result for --ip."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from dataclasses import dataclass, field

from checks.dns import Resolver, Result
from checks.model import Finding, Status, clean
from checks.runner import Context
from checks.spf_eval import Evaluation, evaluate

CHECK = "spf"
MAX_LOOKUPS = 10  # RFC 7208 §4.6.4: include, a, mx, ptr, exists and redirect, across the whole tree
MAX_VOID_LOOKUPS = 2  # RFC 7208 §4.6.4: answers with no records (NXDOMAIN or NODATA)
MAX_MX_NAMES = 10  # RFC 7208 §4.6.4: an mx mechanism may look up at most 10 MX names' addresses
# Broad ranges: an IPv4 prefix shorter than /16 (more than 65,536 addresses) or an IPv6 prefix
# shorter than /32 (more than a whole provider allocation: RIRs hand ISPs a /32) authorises far
# more than any one sender's mail servers, usually a typo or a whole cloud provider.
BROAD_IP4 = 16
BROAD_IP6 = 32
# The walk stops expanding past these, so hostile or broken trees stay bounded.
MAX_DEPTH = 10
MAX_NODES = 60

_MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
_LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists")
_VERSION = re.compile(r"^v=spf1(?: |$)", re.IGNORECASE)
_NEAR = re.compile(r"^[\s\"']*v\s*=\s*spf1", re.IGNORECASE)  # meant as SPF, but not as RFC 7208 §4.5 needs
_MODIFIER = re.compile(r"^([a-z][a-z0-9_.-]*)=(.*)$", re.IGNORECASE)
_MECHANISM = re.compile(r"^([+\-~?]?)([a-z0-9]+)(.*)$", re.IGNORECASE)
_MACRO = re.compile(r"%\{([a-z])(\d*)(r?)([.\-+,/_=]*)\}|%[%_-]", re.IGNORECASE)
_TOPLABEL = re.compile(r"^(?:[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])$", re.IGNORECASE)
_CIDR = re.compile(r"/(0|[1-9]\d*)$")
_DUAL_CIDR = re.compile(r"//(0|[1-9]\d*)$")


# -- parsing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One directive or modifier of a record, as published."""

    text: str
    kind: str  # a mechanism name, or a modifier name
    qualifier: str = "+"
    value: str = ""  # domain-spec, address or modifier value ("" when absent)
    prefix: int | None = None  # ip4/ip6 prefix, a/mx IPv4 prefix
    prefix6: int | None = None  # a/mx IPv6 prefix
    modifier: bool = False

    @property
    def dynamic(self) -> bool:
        """Its target depends on the sender or IP (macros), so it can't be resolved ahead of time."""
        return "%" in self.value

    @property
    def queries_dns(self) -> bool:
        """A mechanism that costs a DNS lookup (redirect= costs one too, when it is followed)."""
        return not self.modifier and self.kind in _LOOKUP_TERMS


@dataclass
class Parsed:
    terms: list[Term] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "term: what is wrong", permerror
    warnings: list[str] = field(default_factory=list)  # legal but almost certainly not meant

    def mechanisms(self, *kinds: str) -> list[Term]:
        return [t for t in self.terms if not t.modifier and t.kind in kinds]

    def modifier(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.modifier and t.kind == name), None)


def _macro_error(text: str, *, exp: bool = False) -> str | None:
    """Why `text` is not a valid macro-string (RFC 7208 §7.1), or None."""
    rest = _MACRO.sub("", text)
    if "%" in rest:
        return "invalid macro (a % must start %{x}, %%, %_ or %-)"
    for match in _MACRO.finditer(text):
        letter = (match.group(1) or "").lower()
        if letter and letter not in "slodiphv" + ("crt" if exp else ""):
            return f"unknown macro letter %{{{match.group(1)}}}"
    return None


def _domain_error(spec: str) -> str | None:
    """Why `spec` is not a valid domain-spec (macro-string ending in a top label or a macro)."""
    if not spec:
        return "missing domain"
    if any(ch.isspace() or not 0x21 <= ord(ch) <= 0x7E for ch in spec):
        return "space, control or non-ASCII character in domain"
    if error := _macro_error(spec):
        return error
    if re.search(r"%\{[^}]*\}\.?$", spec):
        return None  # ends with a macro: the last label is only known at evaluation time
    labels = spec.rstrip(".").split(".")
    if len(labels) < 2 or not _TOPLABEL.match(labels[-1]):
        return "not a fully qualified domain name"
    return None


def _mechanism(token: str) -> tuple[Term | None, str | None]:
    match = _MECHANISM.match(token)
    if not match:
        return None, "unknown mechanism"
    qualifier, kind, tail = match.group(1) or "+", match.group(2).lower(), match.group(3)
    if kind not in _MECHANISMS:
        return None, "unknown mechanism"
    if kind == "all":
        if tail:
            return None, "all takes no argument"
        return Term(token, kind, qualifier), None
    if kind in ("ip4", "ip6"):
        if not tail.startswith(":"):
            return None, f"{kind} needs an address"
        addr = tail[1:]
        prefix = None
        if m := _CIDR.search(addr):
            prefix, addr = int(m.group(1)), addr[: m.start()]
        limit = 32 if kind == "ip4" else 128
        try:
            ip = ipaddress.ip_address(addr) if "%" not in addr else None  # no IPv6 scope ids
        except ValueError:
            ip = None
        if ip is None or ip.version != (4 if kind == "ip4" else 6):
            return None, f"invalid {kind} address"
        if prefix is not None and prefix > limit:
            return None, f"invalid prefix length /{prefix} (at most /{limit})"
        return Term(token, kind, qualifier, addr, limit if prefix is None else prefix), None
    prefix = prefix6 = None
    if kind in ("a", "mx"):
        if m := _DUAL_CIDR.search(tail):
            prefix6, tail = int(m.group(1)), tail[: m.start()]
        if m := _CIDR.search(tail):
            prefix, tail = int(m.group(1)), tail[: m.start()]
        if prefix is not None and prefix > 32:
            return None, f"invalid IPv4 prefix length /{prefix}"
        if prefix6 is not None and prefix6 > 128:
            return None, f"invalid IPv6 prefix length //{prefix6}"
    elif _CIDR.search(tail):
        return None, f"{kind} takes no prefix length"
    if tail and not tail.startswith(":"):
        return None, "unknown mechanism"
    spec = tail[1:]
    if tail or kind in ("include", "exists"):
        if error := _domain_error(spec):
            return None, error
    return Term(token, kind, qualifier, spec.rstrip("."), prefix, prefix6), None


def parse_record(text: str) -> Parsed:
    """Every term of a v=spf1 record, with the syntax errors that make receivers return permerror."""
    parsed = Parsed()
    tokens = [t for t in text.split(" ") if t]  # RFC 7208 §4.6.1: terms are separated by spaces only
    for token in tokens[1:]:
        if any(not 0x21 <= ord(ch) <= 0x7E for ch in token):
            parsed.errors.append(f"{token!r}: control or non-ASCII character (only spaces separate terms)")
            continue
        if m := _MODIFIER.match(token):
            name, value = m.group(1).lower(), m.group(2)
            if name in ("redirect", "exp"):
                if parsed.modifier(name):
                    parsed.errors.append(f"{token}: {name}= appears more than once")
                    continue
                if error := _domain_error(value):
                    parsed.errors.append(f"{token}: {error}")
                    continue
            elif error := _macro_error(value, exp=True):
                parsed.errors.append(f"{token}: {error}")
                continue
            elif name in _MECHANISMS:
                parsed.warnings.append(
                    f"{token}: '{name}=' is not a mechanism (receivers ignore it); use {name}:"
                )
            parsed.terms.append(Term(token, name, value=value.rstrip("."), modifier=True))
            continue
        term, error = _mechanism(token)
        if error:
            parsed.errors.append(f"{token}: {error}")
        elif term is not None:
            parsed.terms.append(term)
    if parsed.modifier("redirect") and parsed.mechanisms("all"):
        parsed.warnings.append("redirect= is ignored because the record has an all mechanism")
    return parsed


def spf_records(txt: Result) -> list[str]:
    """The v=spf1 records among a name's TXT records (RFC 7208 §4.5)."""
    return [r for r in txt.records if _VERSION.match(r)] if txt.ok else []


def near_miss(txt: Result) -> str | None:
    """Why a TXT record meant as SPF is skipped by receivers (a leading space, quotes...), or None."""
    for record in txt.records if txt.ok else ():
        if _VERSION.match(record) or not _NEAR.match(record):
            continue
        shown = record if len(record) <= 40 else record[:37] + "..."
        if record[:1].isspace():
            return f"{shown!r} starts with a space"
        if record[:1] in "\"'":
            return f"{shown!r} is wrapped in quotes"
        if re.match(r"^v=spf1", record, re.IGNORECASE):
            return f"{shown!r} has no space after v=spf1"
        return f"{shown!r} has spaces around '='"
    return None


# -- the include tree -------------------------------------------------------------------------------


@dataclass
class TermLookup:
    """The DNS answer behind one a/mx/exists term, for void and MX-count limits."""

    node: str
    kind: str  # a | mx | exists
    term: str
    name: str
    results: list[Result]

    @property
    def void(self) -> bool:
        return all(r.absent for r in self.results)

    @property
    def failed(self) -> Result | None:
        if any(r.ok for r in self.results):
            return None
        return next((r for r in self.results if r.failed), None)


@dataclass
class Node:
    """One record in the tree: the domain's own, or one reached by include: or redirect=."""

    name: str
    via: str  # "record" | "include" | "redirect"
    parent: Node | None = None
    txt: Result | None = None
    records: list[str] = field(default_factory=list)
    parsed: Parsed | None = None
    children: list[Node] = field(default_factory=list)
    note: str = ""  # "loop", "dynamic", "not followed", or why it has no record
    lookups: list[asyncio.Task[TermLookup]] = field(default_factory=list)

    @property
    def record(self) -> str | None:
        return self.records[0] if len(self.records) == 1 else None

    @property
    def depth(self) -> int:
        return 0 if self.parent is None else self.parent.depth + 1

    def ancestors(self) -> set[str]:
        names, node = set(), self
        while node is not None:
            names.add(node.name)
            node = node.parent
        return names

    @property
    def own(self) -> int:
        """DNS-querying terms in this record itself (a followed redirect counts; an ignored one not)."""
        if self.parsed is None:
            return 0
        count = sum(1 for t in self.parsed.terms if t.queries_dns)
        if self.followed_redirect():
            count += 1
        return count

    @property
    def subtotal(self) -> int:
        return self.own + sum(child.subtotal for child in self.children)

    def followed_redirect(self) -> Term | None:
        if self.parsed is None or self.parsed.mechanisms("all"):
            return None
        return self.parsed.modifier("redirect")

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def tree(self) -> dict:
        data: dict = {"name": self.name, "via": self.via}
        if self.record is not None:
            data["record"] = self.record
        elif self.records:
            data["records"] = self.records
        if self.note:
            data["note"] = self.note
        data["lookups"] = self.own
        data["subtotal"] = self.subtotal
        if self.children:
            data["includes"] = [child.tree() for child in self.children]
        return data


async def _term_lookup(resolver: Resolver, node: str, term: Term, name: str) -> TermLookup:
    if term.kind == "a":
        results = list(await asyncio.gather(resolver.query(name, "A"), resolver.query(name, "AAAA")))
    elif term.kind == "mx":
        results = [await resolver.query(name, "MX")]
    else:  # exists
        results = [await resolver.query(name, "A")]
    return TermLookup(node, term.kind, term.text, name, results)


async def _fetch(resolver: Resolver, node: Node) -> None:
    node.txt = await resolver.query(node.name, "TXT")
    node.records = spf_records(node.txt)
    if node.record is None:
        return
    node.parsed = parse_record(node.record)
    for term in node.parsed.mechanisms("a", "mx", "exists"):
        if term.dynamic:
            continue
        target = (term.value or node.name).lower()
        # Started now, so they run alongside the next level of the tree.
        node.lookups.append(asyncio.create_task(_term_lookup(resolver, node.name, term, target)))


async def walk(resolver: Resolver, domain: str) -> Node:
    """The include/redirect tree, fetched level by level: every name at one depth at once."""
    root = Node(domain, "record")
    level, count = [root], 1
    while level:
        await asyncio.gather(*(_fetch(resolver, node) for node in level))
        following: list[Node] = []
        for node in level:
            if node.parsed is None:
                continue
            targets = [(t, "include") for t in node.parsed.mechanisms("include")]
            if redirect := node.followed_redirect():
                targets.append((redirect, "redirect"))
            for term, via in targets:
                child = Node(term.value.lower(), via, node)
                node.children.append(child)
                if term.dynamic:
                    child.note = "depends on the sender or IP (macros): not followed"
                elif child.name in node.ancestors():
                    child.note = "loop"
                elif child.depth > MAX_DEPTH or count >= MAX_NODES:
                    child.note = "not followed (tree too large)"
                else:
                    following.append(child)
                    count += 1
        level = following
    return root


# -- findings ---------------------------------------------------------------------------------------


def _finding(status: Status, about: str, summary: str, evidence: dict, kb: str | None) -> Finding:
    return Finding(CHECK, status, about, summary, evidence, kb)


def _effective_all(node: Node) -> tuple[Term | None, Node]:
    """The `all` that ends evaluation for the domain: its own, or the one its redirect reaches."""
    while node.parsed is not None:
        alls = node.parsed.mechanisms("all")
        if alls:
            return alls[0], node
        redirect = next((c for c in node.children if c.via == "redirect"), None)
        if redirect is None:
            break
        node = redirect
    return None, node


def _under(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


def _tree_findings(domain: str, root: Node, lookups: list[TermLookup]) -> list[Finding]:
    findings: list[Finding] = []
    tree = root.tree()
    for node in root.walk():
        if node is root:
            continue
        findings.extend(_node_lookup_findings(node))
    for node in root.walk():
        if node.parsed is None:
            continue
        evidence = {"name": node.name, "record": node.record}
        if node.parsed.errors:
            findings.append(
                _finding(
                    Status.FAIL,
                    node.name,
                    f"SPF syntax error at {node.name}: {node.parsed.errors[0]} (receivers return permerror)",
                    {**evidence, "errors": node.parsed.errors},
                    "spf-syntax",
                )
            )
        if node.parsed.warnings:
            findings.append(
                _finding(
                    Status.WARN,
                    node.name,
                    f"SPF record at {node.name}: {node.parsed.warnings[0]}",
                    {**evidence, "warnings": node.parsed.warnings},
                    "spf-syntax",
                )
            )
        if ptrs := node.parsed.mechanisms("ptr"):
            findings.append(
                _finding(
                    Status.WARN,
                    node.name,
                    f"SPF at {node.name} uses the deprecated ptr mechanism ({ptrs[0].text}): slow, "
                    "unreliable, and ignored by some receivers",
                    {**evidence, "terms": [t.text for t in ptrs]},
                    "spf-ptr-mechanism",
                )
            )
        findings.extend(_range_findings(domain, node, evidence))
        if node is not root and node.via == "include":
            include_all = node.parsed.mechanisms("all")
            if include_all and include_all[0].qualifier == "+":
                findings.append(
                    _finding(
                        Status.FAIL,
                        node.name,
                        f"included record {node.name} ends +all: the include matches every IP on the "
                        "internet, so anyone can send as this domain",
                        evidence,
                        "spf-permissive-all",
                    )
                )
        child = next((c for c in node.children if c.note == "loop"), None)
        if child is not None:
            findings.append(
                _finding(
                    Status.FAIL,
                    node.name,
                    f"SPF loop: {child.via}:{child.name} in {node.name} leads back to a record already being "
                    "evaluated (receivers return permerror)",
                    {**evidence, "loop": child.name, "tree": tree},
                    "spf-too-many-lookups",
                )
            )
    findings.extend(_all_findings(root))
    findings.extend(_limit_findings(domain, root, lookups, tree))
    return findings


def _node_lookup_findings(node: Node) -> list[Finding]:
    """An include or redirect target whose record is missing, duplicated, or could not be fetched."""
    if node.txt is None:
        return []
    parent = node.parent.name if node.parent else node.name
    term = f"include:{node.name}" if node.via == "include" else f"redirect={node.name}"
    evidence = {"name": node.name, "via": node.via, "from": parent, "lookup": node.txt.evidence()}
    if node.txt.failed:
        return [
            _finding(
                Status.ERROR,
                node.name,
                f"could not check {term} (in {parent}): {node.txt.describe()}",
                evidence,
                "dns-lookup-failed",
            )
        ]
    if not node.records:
        why = node.txt.describe() if node.txt.absent else "TXT records but none starts v=spf1"
        if miss := near_miss(node.txt):
            why += f"; {miss}"
        return [
            _finding(
                Status.FAIL,
                node.name,
                f"{term} (in {parent}) has no SPF record ({why}): receivers return permerror",
                evidence,
                "spf-include-missing",
            )
        ]
    if len(node.records) > 1:
        return [
            _finding(
                Status.FAIL,
                node.name,
                f"{term} (in {parent}) publishes {len(node.records)} SPF records: receivers return permerror",
                {**evidence, "records": node.records},
                "spf-multiple",
            )
        ]
    return []


def _range_findings(domain: str, node: Node, evidence: dict) -> list[Finding]:
    # Only the domain's own records: a provider's include lists the provider's whole fleet by design.
    if node.parsed is None or not _under(node.name, domain):
        return []
    findings = []
    everything = [t for t in node.parsed.mechanisms("ip4", "ip6") if t.prefix == 0 and t.qualifier == "+"]
    if everything:
        findings.append(
            _finding(
                Status.FAIL,
                node.name,
                f"SPF at {node.name} authorises every address ({everything[0].text}), like +all",
                {**evidence, "terms": [t.text for t in everything]},
                "spf-permissive-all",
            )
        )
    broad = [
        t
        for t in node.parsed.mechanisms("ip4", "ip6")
        if t.qualifier != "-"
        and 0 < (t.prefix or 0) < (BROAD_IP4 if t.kind == "ip4" else BROAD_IP6)
        and t not in everything
    ]
    if broad:
        findings.append(
            _finding(
                Status.WARN,
                node.name,
                f"SPF at {node.name} authorises very broad ranges ({', '.join(t.text for t in broad)})",
                {
                    **evidence,
                    "terms": [t.text for t in broad],
                    "thresholds": {"ip4": BROAD_IP4, "ip6": BROAD_IP6},
                },
                "spf-broad-range",
            )
        )
    return findings


def _all_findings(root: Node) -> list[Finding]:
    term, node = _effective_all(root)
    evidence = {"record": root.record, "ends_at": node.name}
    if node.parsed is None:
        return []  # the redirect target is missing or broken: reported on its own
    if term is None:
        return [
            _finding(
                Status.WARN,
                root.name,
                "SPF record has no all mechanism: mail from unlisted IPs gets neutral, not fail",
                evidence,
                "spf-no-all",
            )
        ]
    evidence["all"] = term.text
    if term.qualifier == "+":
        return [
            _finding(
                Status.FAIL,
                root.name,
                f"SPF ends {term.text}: every IP on the internet may send as {root.name}",
                evidence,
                "spf-permissive-all",
            )
        ]
    if term.qualifier == "?":
        return [
            _finding(
                Status.WARN,
                root.name,
                "SPF ends ?all (neutral): unlisted IPs are neither allowed nor refused",
                evidence,
                "spf-permissive-all",
            )
        ]
    return []


def _limit_findings(domain: str, root: Node, lookups: list[TermLookup], tree: dict) -> list[Finding]:
    findings: list[Finding] = []
    total = root.subtotal
    if total > MAX_LOOKUPS:
        parts = [f"{c.via}:{c.name} {c.subtotal + 1}" for c in root.children]
        own = root.own - len(root.children)
        if own:
            parts.append(f"own terms {own}")
        findings.append(
            _finding(
                Status.FAIL,
                domain,
                f"SPF needs {total} DNS lookups, over the limit of {MAX_LOOKUPS} "
                f"(receivers return permerror): {', '.join(parts)}",
                {"lookups": total, "limit": MAX_LOOKUPS, "tree": tree},
                "spf-too-many-lookups",
            )
        )
    for lookup in lookups:
        mx = lookup.results[0] if lookup.kind == "mx" else None
        if mx is not None and mx.ok and len(mx.records) > MAX_MX_NAMES:
            findings.append(
                _finding(
                    Status.FAIL,
                    lookup.name,
                    f"{lookup.term} (in {lookup.node}) has {len(mx.records)} MX hosts, over the limit of "
                    f"{MAX_MX_NAMES} (receivers return permerror)",
                    {"term": lookup.term, "in": lookup.node, "lookup": mx.evidence()},
                    "spf-too-many-lookups",
                )
            )
        if (failed := lookup.failed) is not None:
            findings.append(
                _finding(
                    Status.ERROR,
                    lookup.name,
                    f"could not check {lookup.term} (in {lookup.node}): {failed.describe()}",
                    {"term": lookup.term, "in": lookup.node, "lookup": failed.evidence()},
                    "dns-lookup-failed",
                )
            )
    voids = [
        {"term": f"{n.via}:{n.name}", "in": n.parent.name if n.parent else "", "answer": n.txt.describe()}
        for n in root.walk()
        if n is not root and n.txt is not None and n.txt.absent
    ]
    voids += [
        {"term": lookup.term, "in": lookup.node, "answer": "; ".join(r.describe() for r in lookup.results)}
        for lookup in lookups
        if lookup.void
    ]
    if len(voids) > MAX_VOID_LOOKUPS:
        findings.append(
            _finding(
                Status.FAIL,
                domain,
                f"SPF has {len(voids)} lookups that find nothing, over the limit of {MAX_VOID_LOOKUPS} "
                "(receivers return permerror for senders that reach them)",
                {"void_lookups": voids, "limit": MAX_VOID_LOOKUPS},
                "spf-void-lookups",
            )
        )
    return findings


def _root_findings(domain: str, root: Node) -> list[Finding] | None:
    """Findings that end the analysis: no record, several, or a lookup that failed."""
    txt = root.txt
    assert txt is not None
    evidence = {"lookup": txt.evidence()}
    if txt.failed:
        return [
            _finding(
                Status.ERROR,
                domain,
                f"could not check SPF: TXT lookup for {domain}: {txt.describe()}",
                evidence,
                "dns-lookup-failed",
            )
        ]
    if not root.records:
        seen = txt.describe() if txt.absent else f"{len(txt.records)} TXT record(s), none starting v=spf1"
        summary = f"no SPF record at {domain} ({seen})"
        if miss := near_miss(txt):
            summary += f": {miss}, so receivers ignore it"
        return [_finding(Status.FAIL, domain, summary, evidence, "spf-missing")]
    if len(root.records) > 1:
        return [
            _finding(
                Status.FAIL,
                domain,
                f"{domain} publishes {len(root.records)} SPF records; receivers return permerror "
                "and treat the mail as unauthenticated",
                {**evidence, "records": root.records},
                "spf-multiple",
            )
        ]
    return None


def _summary_finding(domain: str, root: Node) -> Finding:
    term, _ = _effective_all(root)
    ending = {
        "-": "ends -all (fail)",
        "~": "ends ~all (softfail: unlisted IPs are marked, not refused)",
    }.get(term.qualifier if term else "", "")
    dynamic = [n.name for n in root.walk() if n.note.startswith("depends")]
    summary = f"SPF record is valid: {root.subtotal} of {MAX_LOOKUPS} DNS lookups"
    if dynamic:
        summary += " plus macro includes"
    if ending:
        summary += f", {ending}"
    return _finding(
        Status.PASS,
        domain,
        summary,
        {"record": root.record, "lookups": root.subtotal, "limit": MAX_LOOKUPS, "tree": root.tree()},
        "spf-ok",
    )


_PERMERROR_KB = (
    ("too many dns lookups", "spf-too-many-lookups"),
    ("more than", "spf-too-many-lookups"),
    ("void lookup", "spf-void-lookups"),
    ("two or more", "spf-multiple"),
    ("no valid spf record for included", "spf-include-missing"),
    ("redirect domain has no spf", "spf-include-missing"),
)


def _evaluation_finding(domain: str, ev: Evaluation) -> Finding:
    """A receiver's verdict for the given IP: pass, fail, softfail, neutral, none, permerror, temperror."""
    evidence = ev.evidence()
    ip = ev.ip
    if ev.result == "pass":
        matched = f" (matched {ev.mechanism})" if ev.mechanism else ""
        return _finding(Status.PASS, ip, f"SPF pass: {domain} authorises {ip}{matched}", evidence, "spf-ok")
    if ev.result == "fail":
        return _finding(
            Status.FAIL,
            ip,
            f"SPF fail: {domain} does not authorise {ip}; receivers may refuse its mail",
            evidence,
            "spf-ip-not-authorised",
        )
    if ev.result in ("softfail", "neutral"):
        return _finding(
            Status.WARN,
            ip,
            f"SPF {ev.result}: {domain} does not list {ip}; its mail counts as unauthenticated",
            evidence,
            "spf-ip-not-authorised",
        )
    if ev.result == "none":
        return _finding(
            Status.FAIL,
            ip,
            f"SPF none: {domain} has no SPF record to authorise {ip}",
            evidence,
            "spf-missing",
        )
    if ev.result == "temperror":
        return _finding(
            Status.ERROR,
            ip,
            f"could not check SPF for {ip}: a DNS lookup failed ({ev.problem or 'temperror'})",
            evidence,
            "dns-lookup-failed",
        )
    problem = (ev.problem or "").lower()
    kb = next((kb for key, kb in _PERMERROR_KB if key in problem), "spf-syntax")
    return _finding(
        Status.FAIL,
        ip,
        f"SPF permerror for {ip}: {ev.problem or 'the record cannot be evaluated'}",
        evidence,
        kb,
    )


def _unique(findings: list[Finding]) -> list[Finding]:
    """One finding per problem: a record reached by two include paths is reported once."""
    seen: set[tuple] = set()
    out = []
    for f in findings:
        key = (f.status, f.about, f.summary, f.kb)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


async def analyse(resolver: Resolver, domain: str) -> list[Finding]:
    """The record and its tree, without an IP: presence, syntax, limits and policy."""
    root = await walk(resolver, domain)
    if (stop := _root_findings(domain, root)) is not None:
        return stop
    lookups = list(await asyncio.gather(*(t for n in root.walk() for t in n.lookups)))
    findings = _unique(_tree_findings(domain, root, lookups))
    if clean(findings):
        findings.append(_summary_finding(domain, root))
    return findings


async def check(ctx: Context) -> list[Finding]:
    domain = ctx.domain
    if domain is None:
        return []
    if ctx.ip is None:
        return await analyse(ctx.dns, domain)
    findings, ev = await asyncio.gather(
        analyse(ctx.dns, domain), evaluate(ctx.dns, ctx.ip, f"postmaster@{domain}", domain)
    )
    return [*findings, _evaluation_finding(domain, ev)]
