"""Slack's text encoding both ways: read `<http://x|x>`, `<@U1>`, `&lt;`… as typed; escape what we send."""

from __future__ import annotations

import re

# `<…>` spans Slack puts around links, mentions and channels; `|` separates the target from its label.
_ANGLE = re.compile(r"<([^<>\n]*)>")
_FENCE = "```"


def unescape(text: str) -> str:
    """The text as the person typed or pasted it.

    `<http://x.com|x.com>` and `<mailto:a@b|a@b>` become their labels, `<https://x/y>` its URL,
    `<#C1|name>` `#name`, `<@U1>` `@U1`, `<!here>` `@here`, and `&lt; &gt; &amp;` the characters.
    """
    if not text:
        return ""
    return _entities(_ANGLE.sub(_replace_span, text))


def _replace_span(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("!"):
        # <!here>, <!channel>, <!subteam^S1|@team>, <!date^123^{date}|fallback>
        if label:
            return label if target.startswith(("!subteam", "!date")) else "@" + label.lstrip("@")
        return "@" + target[1:].split("^", 1)[0]
    if target.startswith("mailto:"):
        return label or target[len("mailto:") :]
    if label:
        return label
    return target


def _entities(text: str) -> str:
    # &amp; last, so `&amp;lt;` (a typed "&lt;") stays "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    """User text made safe for mrkdwn and plain_text: `&`, `<`, `>` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code_block(text: str) -> str:
    """User text shown verbatim in a ``` block: escaped, and unable to close the fence early."""
    return _FENCE + "\n" + escape(text).replace("`", "ˋ") + "\n" + _FENCE


def inline_code(text: str) -> str:
    return "`" + escape(text).replace("`", "ˋ").replace("\n", " ") + "`"


def mentions(text: str, user_id: str) -> bool:
    """Whether Slack-encoded text mentions that user (`<@U1>` or `<@U1|name>`)."""
    return bool(user_id) and re.search(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>", text or "") is not None


# Public and private channel ids (C…, G…), and user ids (U…, W…), as Slack writes them.
CHANNEL_ID = re.compile(r"\b([CG][A-Z0-9]{6,})\b")
_USER_ID = re.compile(r"[UW][A-Z0-9]{6,}")


def channel_mention(channel: str, *, prefix: str = "") -> str:
    """`<#C0123ABCD>` (Slack shows the channel's name) after `prefix`; "" for anything not a channel id
    (a DM's D… id, a name), which Slack would show as a broken link."""
    return f"{prefix}<#{channel}>" if CHANNEL_ID.fullmatch(channel) else ""


def user_mention(user: str) -> str:
    """`<@U0123ABCD>` for a Slack user id, anything else escaped as it is."""
    return f"<@{user}>" if _USER_ID.fullmatch(user) else escape(user)
