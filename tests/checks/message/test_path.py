"""Received headers as real servers write them, and the choice of the sending hop."""

from __future__ import annotations

import pytest

from checks.message.path import Recorded, choose, parse_received

POSTFIX = (
    "from mail.shop.example (mail.shop.example [81.2.69.160]) (using TLSv1.3 with cipher "
    "TLS_AES_256_GCM_SHA384 (256/256 bits)) (No client certificate requested) by mx.receiver.example "
    "(Postfix) with ESMTPS id 4V8k2; Tue, 2 Apr 2024 10:00:01 +0000 (UTC)"
)
GMAIL = (
    "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com with "
    "SMTPS id a1sor; Tue, 02 Apr 2024 03:00:01 -0700 (PDT)"
)
EXIM = (
    "from [89.160.20.112] (helo=out.shop.example) by mx.receiver.example with esmtps (TLS1.3) tls "
    "TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <bounce@shop.example>) id 1rr; Tue, 02 Apr 2024"
)
MICROSOFT = (
    "from EUR05-AM6-obe.outbound.protection.outlook.com (mail-am6eur05on2070.outbound.protection.outlook.com "
    "[40.107.22.70]) by mx.receiver.example with ESMTPS id 3; Tue, 2 Apr 2024 10:00:00 +0000"
)
QMAIL = "from unknown (HELO mail.shop.example) (81.2.69.160) by mx.receiver.example with SMTP; 2 Apr 2024"
IPV6 = "from mail.shop.example (mail.shop.example [IPv6:2a02:cf40::1]) by mx.receiver.example with ESMTP id 9"
INTERNAL_MS = (
    "from AM0PR02MB1234.eurprd02.prod.outlook.com (2603:10a6:208:12b::15) by AM0PR02MB5678.eurprd02.prod."
    "outlook.com with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) "
    "id 15.20.7409.42; Tue, 2 Apr 2024 10:00:02 +0000"
)


@pytest.mark.parametrize(
    ("value", "ip", "helo", "rdns", "by", "tls"),
    [
        (POSTFIX, "81.2.69.160", "mail.shop.example", "mail.shop.example", "mx.receiver.example", True),
        (GMAIL, "209.85.220.41", "mail-sor-f41.google.com", "mail-sor-f41.google.com", "mx.google.com", True),
        (EXIM, "89.160.20.112", "out.shop.example", None, "mx.receiver.example", True),
        (MICROSOFT, "40.107.22.70", "eur05-am6-obe.outbound.protection.outlook.com",
         "mail-am6eur05on2070.outbound.protection.outlook.com", "mx.receiver.example", True),
        (QMAIL, "81.2.69.160", "mail.shop.example", None, "mx.receiver.example", False),
        (IPV6, "2a02:cf40::1", "mail.shop.example", "mail.shop.example", "mx.receiver.example", False),
        (INTERNAL_MS, "2603:10a6:208:12b::15", "am0pr02mb1234.eurprd02.prod.outlook.com", None,
         "am0pr02mb5678.eurprd02.prod.outlook.com", True),
    ],
)  # fmt: skip
def test_received_headers_are_read(value, ip, helo, rdns, by, tls):
    hop = parse_received(value)
    assert (hop.ip, hop.helo, hop.rdns, hop.by, hop.tls) == (ip, helo, rdns, by, tls)


def test_exim_records_the_envelope_sender_and_authenticated_submission_is_seen():
    assert parse_received(EXIM).envelope_from == "bounce@shop.example"
    sub = parse_received("from laptop ([81.2.69.160]) by smtp.gmail.com with ESMTPSA id x; 2 Apr 2024")
    assert sub.authenticated and sub.tls and sub.ip == "81.2.69.160"
    assert parse_received("by 2002:a05:6358:1:b0:1 with SMTP id x; 2 Apr 2024").ip is None


def test_garbage_does_not_break_the_parser():
    for value in ("", "(((", "from", "from [999.1.1.1] by", "from x (y [z]) by ;;;", "from (unclosed by x"):
        hop = parse_received(value)
        assert hop.ip is None


def hops(*values: str):
    return [parse_received(v, i) for i, v in enumerate(values)]


def test_private_and_receiver_internal_hops_are_skipped():
    path = choose(
        hops(
            "from mx1.receiver.example (mx1.receiver.example [89.160.20.112]) by mailbox.receiver.example "
            "with LMTP id 1",
            "from localhost (localhost [127.0.0.1]) by mx1.receiver.example with ESMTP id 2",
            POSTFIX.replace("mx.receiver.example", "mx1.receiver.example"),
            "from app1.shop.example (app1.shop.example [10.0.0.5]) by mail.shop.example with ESMTP id 3",
        )
    )
    assert path.receiving == ["receiver.example"]
    assert path.chosen is not None and path.chosen.ip == "81.2.69.160" and path.chosen.index == 2
    reasons = [step.get("skipped", "") for step in path.steps]
    assert "receiving side" in reasons[0] and "not a public address" in reasons[1]
    assert "Received #3" in path.reason


def test_sender_and_receiver_on_the_same_provider():
    path = choose(
        hops(
            "by 2002:a05:7300:5a0e:b0:d5 with SMTP id x; Tue, 2 Apr 2024",
            GMAIL,
            "from smtpclient.apple ([81.2.69.160]) by smtp.gmail.com with ESMTPSA id y; Tue, 2 Apr 2024",
        )
    )
    assert path.chosen is not None and path.chosen.ip == "209.85.220.41"
    assert "share google.com" in path.reason


def test_no_received_headers_and_no_public_hop():
    assert choose([]).chosen is None and "no Received headers" in choose([]).reason
    path = choose(hops("from a (a [10.1.1.1]) by b.example with ESMTP", "from c (c [192.168.0.1]) by a"))
    assert path.chosen is None and "no Received header names a public IP" in path.reason


def test_authentication_results_author_counts_as_receiving():
    # The gateway in front of the mailbox is another organisation; its AR author marks it as receiving.
    path = choose(
        hops(
            "from mx0a.gateway.example (mx0a.gateway.example [89.160.20.112]) by exchange.corp.example "
            "with ESMTPS id 1",
            POSTFIX.replace("mx.receiver.example", "mx0a.gateway.example"),
        ),
        ["mx0a.gateway.example"],
    )
    assert path.chosen is not None and path.chosen.ip == "81.2.69.160"


def test_the_ip_a_receiver_recorded_above_the_hop_settles_the_choice():
    # Microsoft 365 to Microsoft 365: every hop is outlook.com, and no submission hop marks the edge.
    chain = [
        INTERNAL_MS,
        MICROSOFT.replace("mx.receiver.example", "AM0PR02MB1234.eurprd02.prod.outlook.com"),
        "from AM9PR01MB1111.eurprd01.prod.outlook.com (2603:10a6:20b:1::2) by AM9PR01MB2222.eurprd01.prod."
        "outlook.com with Microsoft SMTP Server id 15.20; Tue, 2 Apr 2024 09:59:59 +0000",
    ]
    walked = choose([parse_received(v, i, i + 1) for i, v in enumerate(chain)])
    assert walked.chosen is not None and walked.chosen.ip == "2603:10a6:20b:1::2"  # the walk alone errs
    recorded = Recorded("40.107.22.70", 0, "the Authentication-Results")
    path = choose([parse_received(v, i, i + 1) for i, v in enumerate(chain)], recorded=recorded)
    assert path.chosen is not None and path.chosen.ip == "40.107.22.70"
    assert "records 40.107.22.70" in path.reason and "walk alone would pick #3" in path.reason
    assert sum(1 for s in path.steps if s.get("chosen")) == 0


def test_a_recorded_ip_below_the_hop_is_ignored():
    # A header the sender wrote sits below every hop the receivers added: it can't steer the choice.
    hops = [parse_received(POSTFIX, 0, 0), parse_received(EXIM, 1, 1)]
    path = choose(hops, recorded=Recorded("89.160.20.112", 5, "the Authentication-Results"))
    assert path.chosen is not None and path.chosen.ip == "81.2.69.160"


def test_microsofts_with_clause_is_named_whole():
    hop = parse_received(INTERNAL_MS)
    assert hop.protocol == "Microsoft SMTP Server"
    assert "with Microsoft SMTP Server" in hop.describe()


def test_a_receiver_that_writes_its_own_ip_as_by_is_known_by_its_authserv_id():
    yahoo = "from 81.2.69.160 (EHLO mail.shop.example) by 10.217.151.75 with SMTPs; Tue, 02 Apr 2024 10:00:02"
    path = choose([parse_received(yahoo)], ["atlas122.free.mail.ne1.yahoo.com"])
    assert path.receiving == ["yahoo.com"]
    assert path.chosen is not None and path.chosen.ip == "81.2.69.160" and path.chosen.tls
    assert "151.75" not in path.reason
