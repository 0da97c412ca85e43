"""Masking of recipient addresses in stored text: `john.doe@example.com` is kept as `j***@example.com`."""

from __future__ import annotations

import re

# Role mailboxes say who answered, not whom the mail was for: they stay readable.
ROLE_MAILBOXES = frozenset({"postmaster", "mailer-daemon", "abuse", "hostmaster", "noreply", "no-reply"})

_ADDRESS = re.compile(
    r"(?<![\w.+%-])([A-Za-z0-9][A-Za-z0-9._%+=-]*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
)


def mask_addresses(text: str) -> str:
    """Every address's local part cut to its first character and `***`; role mailboxes are kept."""

    def mask(match: re.Match[str]) -> str:
        local, domain = match.group(1), match.group(2)
        if local.lower() in ROLE_MAILBOXES:
            return match.group(0)
        return f"{local[0]}***@{domain}"

    return _ADDRESS.sub(mask, text)
