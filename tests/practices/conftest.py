"""Fixtures for the practices tests: the store's clock set to a Tuesday in December, and made-up bounces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from knowledge.diagnose import diagnose
from tests.conftest import Clock

# 09:00 UTC on a Tuesday; plans in these tests start on this day unless they say otherwise.
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WARM_IP = "81.2.69.160"


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def dsn(recipient: str, status: str, text: str, *, message_id: str = "offer-1@sender.example.org") -> str:
    """A made-up RFC 3464 delivery status notification for one recipient."""
    code = {"5": "550", "4": "452"}[status[0]]
    return f"""From: MAILER-DAEMON@mx.example.net
To: news@sender.example.org
Subject: Undelivered Mail Returned to Sender
Date: Tue, 1 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.net. Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Action: failed
Status: {status}
Diagnostic-Code: smtp; {code} {status} <{recipient}>: {text}

--B
Content-Type: text/rfc822-headers

From: news@sender.example.org
To: {recipient}
Subject: Our December offers
Message-ID: <{message_id}>

--B--
"""


def user_unknown(recipient: str, **kw: str) -> list:
    return diagnose(
        dsn(recipient, "5.1.1", "Recipient address rejected: User unknown in local recipient table", **kw)
    )


def mailbox_full(recipient: str, **kw: str) -> list:
    return diagnose(dsn(recipient, "5.2.2", "Mailbox full, quota exceeded", **kw))
