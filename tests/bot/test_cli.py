"""The CLI's edges: an unexpected error is one line with an id (JSON with --json), never a traceback."""

import json

from bot import cli


def test_an_unexpected_error_is_one_line_with_an_id(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "tests.bot.exploding_command"))
    assert cli.main(["explode"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "internal error" in err and "KeyError" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_with_json_the_error_is_a_json_object(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "tests.bot.exploding_command"))
    assert cli.main(["explode", "--json"]) == 1
    out, _ = capsys.readouterr()
    assert json.loads(out)["error"].startswith("internal error ")
