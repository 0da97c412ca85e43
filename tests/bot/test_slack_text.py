from bot.slack_text import code_block, escape, mentions, unescape


def test_links_become_what_was_typed():
    assert unescape("see <http://example.com|example.com> now") == "see example.com now"
    assert unescape("<https://example.com/a?b=1&amp;c=2>") == "https://example.com/a?b=1&c=2"
    assert unescape("write to <mailto:postmaster@example.com|postmaster@example.com>") == (
        "write to postmaster@example.com"
    )
    assert unescape("<mailto:a@example.com>") == "a@example.com"


def test_channels_users_and_specials():
    assert unescape("in <#C0123|deliverability>") == "in #deliverability"
    assert unescape("in <#C0123>") == "in #C0123"
    assert unescape("<@U0ALICE> and <@U0BOB|bob>") == "@U0ALICE and @bob"
    assert unescape("<!here> <!channel> <!subteam^S1|@postmasters>") == "@here @channel @postmasters"


def test_entities_decode_once_and_in_the_right_order():
    assert unescape("&lt;user@example.com&gt; said 550 &amp; left") == "<user@example.com> said 550 & left"
    # A typed "&lt;" arrives as "&amp;lt;" and must stay "&lt;", not turn into "<".
    assert unescape("&amp;lt;") == "&lt;"


def test_a_pasted_bounce_reads_as_pasted():
    slack = (
        "&lt;<mailto:bob@example.org|bob@example.org>&gt;: host <http://mx.example.org|mx.example.org>"
        "[81.2.69.160] said: 550 5.7.1 blocked, see <https://www.spamhaus.org/query/ip/81.2.69.160>"
    )
    assert unescape(slack) == (
        "<bob@example.org>: host mx.example.org[81.2.69.160] said: 550 5.7.1 blocked, "
        "see https://www.spamhaus.org/query/ip/81.2.69.160"
    )


def test_escape_and_code_block_cannot_break_out():
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    block = code_block("x ``` <@U1> y")
    assert block.startswith("```\n") and block.endswith("\n```")
    assert block.count("```") == 2
    assert "<@U1>" not in block


def test_mentions():
    assert mentions("hey <@UBOT> look", "UBOT")
    assert mentions("<@UBOT|deliverability>", "UBOT")
    assert not mentions("hey <@UBOTX>", "UBOT")
    assert not mentions("hey @UBOT", "UBOT")
