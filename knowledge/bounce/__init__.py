"""Bounce parsing: from a pasted SMTP line, an NDR, a DSN, a complaint report or an auto-reply to results."""

from knowledge.bounce.model import BounceResult, ParsedInput
from knowledge.bounce.parser import parse

__all__ = ["BounceResult", "ParsedInput", "parse"]
