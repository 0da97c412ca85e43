"""The `name=value; ...` TXT records several checks parse: MTA-STS and TLS-RPT's strict fields, and the
more lenient tag-lists of DMARC and BIMI."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

WSP = " \t"
_EXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_EXT_VALUE = re.compile(r"^[\x21-\x3a\x3c\x3e-\x7e]+$")
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def strict_fields(text: str, version: str, problems: list[str]) -> Iterator[tuple[str, str, str]]:
    """RFC 8461 §3.1 and RFC 8460 §3: `v=<version>` first, then `name=value` fields, `;`-separated.

    Yields `(name, value, field)` for each well-formed field after the version; what is malformed
    (a wrong version, an empty field, no '=', spaces around '=', a second v=) is appended to `problems`
    as it is met, so problems keep the record's order.
    """
    parts = [p.strip(WSP) for p in text.split(";")]
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()  # one trailing delimiter is allowed
    if parts[0] != f"v={version}":
        problems.append(f"the record must start with exactly v={version}, not {parts[0]!r}")
    for part in parts[1:]:
        if not part:
            problems.append("empty field (two ; in a row)")
            continue
        name, eq, value = part.partition("=")
        if not eq:
            problems.append(f"field {part!r} has no '='")
        elif name != name.rstrip(WSP) or value != value.lstrip(WSP):
            problems.append(f"spaces around '=' in {part!r}")
        elif name == "v":
            problems.append("v appears more than once")
        else:
            yield name, value, part


def add_extension(extensions: dict[str, str], problems: list[str], name: str, value: str, part: str) -> None:
    """A field the record does not define: kept when it has the extension syntax (RFC 8461 §3.1)."""
    if not _EXT_NAME.match(name) or not _EXT_VALUE.match(value):
        problems.append(f"malformed field {part!r}")
    else:
        extensions[name] = value


def is_extension_name(name: str) -> bool:
    return bool(_EXT_NAME.match(name))


def tag_list(text: str, problem: Callable[[str], None]) -> Iterator[tuple[str, str, str]]:
    """DMARC's tag-list (RFC 7489 §6.4), which BIMI borrows: `tag=value` pairs, `;`-separated.

    Yields `(tag, value, pair)`: the tag lower-cased, the value as written (unstripped), the pair
    stripped; a part that is not a tag=value pair is passed to `problem` instead, in the record's order.
    """
    parts = text.split(";")
    if parts and not parts[-1].strip():
        parts.pop()
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or not _TAG.match(name):
            problem(f"not a tag=value pair: {part.strip()!r}")
        else:
            yield name, value, part.strip()
