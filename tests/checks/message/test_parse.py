"""Reading a raw message: repairs of pasted text, header fields, addresses, and refusals of non-messages."""

from __future__ import annotations

import pytest

from checks.message.parse import MessageError, envelope_address, from_addresses, load

MSG = b"From: a@shop.example\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.mark.parametrize("data", [b"", "   \n\n  ", b"\r\n"])
def test_empty_input_is_refused(data):
    with pytest.raises(MessageError, match="empty input"):
        load(data)


def test_text_that_is_not_a_message_is_refused():
    with pytest.raises(MessageError, match="no header fields"):
        load("hello, my mail bounced, can you help?\nthanks")


def test_a_file_keeps_its_bytes_and_fields():
    m = load(MSG)
    assert [(h.name, h.value) for h in m.headers] == [("From", "a@shop.example"), ("Subject", "hi")]
    assert m.has_body and not m.truncated and not m.rejoined and m.raw_unspaced is None
    assert m.raw.endswith(b"\r\n\r\nbody\r\n")


def test_folded_fields_are_unfolded_and_duplicates_counted():
    m = load(b"Subject: one\r\n two\r\nSubject: again\r\nFrom: a@b.example\r\n\r\nx")
    assert m.first("subject") == "one two"
    assert m.duplicates() == {"subject": 2}


def test_paste_repairs_fence_preface_and_wrapped_lines():
    text = (
        "```\nHere it is:\nFrom: a@shop.example\nDKIM-Signature: v=1; a=rsa-sha256;\n"
        "h=from:to:subject; bh=abc\ndef=;\n\nbody\n```"
    )
    m = load(text, pasted=True)
    assert [h.name for h in m.headers] == ["From", "DKIM-Signature"]
    assert m.first("DKIM-Signature") == "v=1; a=rsa-sha256; h=from:to:subject; bh=abc def=;"
    assert m.rejoined == 2
    assert b"bh=abcdef=;" in m.raw_unspaced
    assert any("code fence" in n for n in m.notes) and any("ignored 1 line" in n for n in m.notes)
    assert m.body.strip() == b"body"


def test_an_mbox_from_line_is_not_a_field_and_not_reported():
    m = load(b"From someone@example.com Tue Apr  2 10:00:00 2024\nFrom: a@shop.example\n\nx\n")
    assert [h.name for h in m.headers] == ["From"] and not m.notes


def test_headers_only_and_non_utf8():
    m = load(b"From: a@shop.example\r\nSubject: Caf\xe9\r\n")
    assert not m.has_body and m.not_utf8
    assert m.first("Subject") == "Caf\ufffd"


def test_input_over_the_limit_is_cut_and_says_so():
    m = load(MSG + b"x" * 1000, limit=60)
    assert m.truncated and m.size == len(MSG) + 1000 and len(m.body) < 60
    assert any("MAX_INPUT_BYTES" in n for n in m.notes)


def test_addresses():
    assert [a.domain for a in from_addresses('"Shop" <News@Shop.Example>')] == ["shop.example"]
    two = from_addresses("a@one.example, b@two.example")
    assert [a.domain for a in two] == ["one.example", "two.example"]
    bad = from_addresses("undisclosed")
    assert bad[0].domain is None and bad[0].problem
    assert envelope_address("<>").address == ""
    assert envelope_address(" <bounce@Esp.Example> ").domain == "esp.example"
    assert envelope_address("<nobody>").domain is None
