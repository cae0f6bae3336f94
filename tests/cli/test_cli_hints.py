"""Library errors carry a hint key; the command line words each key as one of its commands."""

from __future__ import annotations

import re
from collections.abc import Callable

import click
import pytest
from click.testing import CliRunner, Result

from hookwire.errors import NotFoundError, TargetBlockedError, UnknownEventError
from hookwire.events import event_spec
from hookwire.hints import Hint, split_hint
from hookwire_cli._hints import CLI_HINTS, cli_message, cli_text
from hookwire_cli.main import main


def _command(path: list[str]) -> click.Command:
    """The command ``hookwire <path...>`` names; fails the test when there is none."""
    command: click.Command = main
    ctx = click.Context(main)
    for name in path:
        assert isinstance(command, click.Group), f"{name!r} follows a command, not a group"
        found = command.get_command(ctx, name)
        assert found is not None, f"hookwire has no command {' '.join(path)!r}"
        command = found
    return command


def _named(wording: str) -> tuple[list[str], list[str]]:
    """The ``hookwire ...`` command (words) and the ``--options`` a wording names."""
    quoted = re.findall(r"`hookwire ([^`]+)`", wording)
    words = quoted[0].split() if quoted else []
    path = [w for w in words if not w.startswith("-")]
    options = [w for w in words if w.startswith("-")] + re.findall(r"(?<!`)(--[a-z-]+)", wording)
    return path, options


def test_every_hint_has_a_command_line_wording() -> None:
    assert set(CLI_HINTS) == set(Hint)


@pytest.mark.parametrize("hint", list(Hint), ids=str)
def test_each_hint_names_a_real_command_or_option(hint: Hint) -> None:
    path, options = _named(CLI_HINTS[hint])
    assert path or options, f"{hint} names neither a command nor an option"
    if path:
        command = _command(path)
        assert CliRunner().invoke(main, [*path, "--help"]).exit_code == 0
        flags = {flag for param in command.params for flag in getattr(param, "opts", ())}
        assert set(options) <= flags
    for option in options if not path else ():
        # An option on its own: every store command that reaches a target takes it.
        for where in (["webhooks", "add"], ["webhooks", "test"], ["dispatch"]):
            flags = {f for param in _command(where).params for f in getattr(param, "opts", ())}
            assert option in flags, f"hookwire {' '.join(where)} has no {option}"


@pytest.mark.parametrize("hint", list(Hint), ids=str)
def test_each_hint_keeps_its_python_wording_in_the_error_text(hint: Hint) -> None:
    error = NotFoundError("no webhook 'wh_x'", hint=hint)
    assert str(error) == "no webhook 'wh_x'" + hint.python
    assert error.message == "no webhook 'wh_x'"
    assert error.hint is hint
    assert "sender." in hint.python or "hookwire." in hint.python or "Sender" in hint.python


def test_the_cli_words_a_hint_after_the_message() -> None:
    error = NotFoundError("no webhook 'wh_x'", hint=Hint.LIST_WEBHOOKS)
    assert str(error) == "no webhook 'wh_x'; list them with sender.webhooks.list()"
    assert cli_message(error) == "no webhook 'wh_x'; list them with `hookwire webhooks list`"


def test_a_message_without_a_hint_is_never_reworded() -> None:
    # The text names a Python call, but no hint says so: the CLI prints it as it is.
    error = NotFoundError("no webhook 'wh_x'; list them with sender.webhooks.list()")
    assert error.hint is None
    assert cli_message(error) == str(error)


def test_an_unknown_event_name_carries_its_hint() -> None:
    with pytest.raises(UnknownEventError) as caught:
        event_spec("COURSE_FINISHED")
    assert caught.value.hint is Hint.EVENT_NAMES
    assert str(caught.value) == (
        "unknown event name 'COURSE_FINISHED'; see hookwire.CATALOGUE for the known names"
    )
    assert cli_message(caught.value) == (
        "unknown event name 'COURSE_FINISHED'; `hookwire trigger --list` shows the known names"
    )


def test_a_blocked_target_is_worded_with_the_cli_option() -> None:
    error = TargetBlockedError(
        "the target resolves to 10.0.0.5, a private or reserved address; point the webhook "
        "at a public host",
        address="10.0.0.5",
        hint=Hint.ALLOW_PRIVATE,
    )
    assert cli_message(error).endswith("public host (or pass --allow-private for a local listener)")
    assert str(error).endswith(
        "public host (or create the Sender with allow_private_targets=True for local tests)"
    )


def test_a_private_target_is_refused_naming_the_cli_option(
    hw: Callable[..., Result],
) -> None:
    result = hw("webhooks", "add", "x", "--url", "http://10.0.0.5/hooks", "--event", "CI_STATS")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the target resolves to 10.0.0.5, a private or reserved address; point the "
        "webhook at a public host (or pass --allow-private for a local listener)\n"
    )


@pytest.mark.parametrize("hint", list(Hint), ids=str)
def test_an_error_kept_as_text_reads_back_into_message_and_hint(hint: Hint) -> None:
    text = "blocked: " + str(NotFoundError("the message", hint=hint))
    assert split_hint(text) == ("blocked: the message", hint)
    assert cli_text(text) == "blocked: the message" + CLI_HINTS[hint]


def test_text_without_a_hint_reads_back_whole() -> None:
    text = "connection failed: Connection refused"
    assert split_hint(text) == (text, None)
    assert cli_text(text) == text
