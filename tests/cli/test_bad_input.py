"""Every command given bad input: one ``Error: ...`` line on stderr, a non-zero exit, no secret.

One table row per bad input: the exit code it must give and the command line,
split as a shell would; leading ``NAME=value`` words set the environment.
Each row runs ``hookwire`` in-process with click's CliRunner in a folder of
awkward files (a directory, a binary file, a dangling link, an empty and a
broken recording) and a store that holds nothing, so every id is unknown.
``{...}`` fills in per test: ``{t}`` the folder, ``{db}`` its SQLite store,
``{busy}`` a port in use, ``{url}`` each bad URL, and the credentials below,
none of which may ever be echoed. Closed standard input cannot be staged
in-process, so those rows run the real program.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hookwire_cli.main import main

CREDENTIALS = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "short": "whsec_c2hvcnQ=",
    "not_base64": "whsec_!!not*base64!!",
    "no_colon": "hooksAndNoColonS3cret",
    "db_password": "dbS3cretPassw0rd",
}
PLACES = {
    "to": "http://127.0.0.1:9/hooks",
    "pg_closed": "postgresql+psycopg://hookwire:{db_password}@127.0.0.1:1/hookwire",
    "mysql": "mysql://hookwire:{db_password}@127.0.0.1/hookwire",
}
BAD_URLS = {
    "no-scheme": "127.0.0.1:8000/hooks",
    "ftp": "ftp://127.0.0.1/hooks",
    "space": "http://exa mple.com/hooks",
    "ipv6-unbracketed": "http://::1:8000/hooks",
    "port-out-of-range": "http://127.0.0.1:99999/hooks",
}
URL_COMMANDS = {
    "sign-curl": (1, "sign {t}/good.json --secret {secret} --curl {url}"),
    "trigger-url": (1, "trigger COURSE_COMPLETED --to {url} --secret {secret}"),
    "listen-forward-to": (1, "listen --port 0 --forward-to {url}"),
    "replay-url": (1, "replay {t}/recording.jsonl --to {url}"),
    "webhooks-add-url": (1, "webhooks add sink --url {url} -e CI_STATS --allow-private --db {db}"),
}
ADD = "webhooks add sink --url https://example.com/hooks -e COURSE_COMPLETED --db {db}"
PUBLISH = "events publish LEARNER_PROGRESS --db {db}"
RECORDING = "replay {t}/recording.jsonl --to {to}"

CASES: dict[str, tuple[int, str]] = {
    "secret-new-unknown-option": (2, "secret new --bogus"),
    "secret-unknown-subcommand": (2, "secret frob"),
    "sign-missing-body": (2, "sign {t}/missing.json --secret {secret}"),
    "sign-directory-body": (2, "sign {t}/dir --secret {secret}"),
    "sign-dangling-link-body": (2, "sign {t}/dangling --secret {secret}"),
    "sign-no-secret": (2, "sign {t}/good.json"),
    "sign-short-secret": (1, "sign {t}/good.json --secret {short}"),
    "sign-non-base64-secret": (1, "sign {t}/good.json --secret {not_base64}"),
    "sign-non-base64-secret-from-env": (1, "HOOKWIRE_SECRET={not_base64} sign {t}/good.json"),
    "sign-with-a-public-key": (1, "sign {t}/good.json --secret whpk_AAAA"),
    "sign-missing-signature-file": (1, "sign {t}/good.json --signature-file {t}/missing.json"),
    "sign-directory-signature-file": (1, "sign {t}/good.json --signature-file {t}/dir"),
    "sign-binary-signature-file": (1, "sign {t}/good.json --signature-file {t}/binary.dat"),
    "sign-keyless-signature-file": (1, "sign {t}/good.json --signature-file {t}/good.json"),
    "sign-negative-timestamp": (2, "sign {t}/good.json --secret {secret} --timestamp -1"),
    "verify-missing-body": (2, "verify {t}/missing.json --secret {secret}"),
    "verify-directory-body": (2, "verify {t}/dir --secret {secret}"),
    "verify-missing-headers-file": (2, "verify {t}/good.json --headers {t}/nope --secret {secret}"),
    "verify-binary-headers-file": (
        2,
        "verify {t}/good.json --headers {t}/binary.dat --secret {secret}",
    ),
    "verify-header-without-colon": (1, "verify {t}/good.json -H webhook-id --secret {secret}"),
    "verify-missing-recording": (1, "verify --recording {t}/missing.jsonl --secret {secret}"),
    "verify-directory-recording": (2, "verify --recording {t}/dir --secret {secret}"),
    "verify-binary-recording": (1, "verify --recording {t}/binary.dat --secret {secret}"),
    "verify-recording-bad-line": (
        1,
        "verify --recording {t}/bad-line.jsonl --line 2 --secret {secret}",
    ),
    "verify-empty-recording": (1, "verify --recording {t}/empty.jsonl --secret {secret}"),
    "verify-line-past-the-end": (
        1,
        "verify --recording {t}/recording.jsonl --line 9 --secret {secret}",
    ),
    "verify-line-zero": (2, "verify --recording {t}/recording.jsonl --line 0 --secret {secret}"),
    "verify-no-credentials": (2, "verify {t}/good.json -H 'webhook-id: msg_1'"),
    "verify-non-base64-secret": (
        1,
        "verify {t}/good.json -H 'webhook-id: msg_1' --secret {not_base64}",
    ),
    "verify-basic-auth-without-colon": (2, "verify {t}/good.json --basic-auth {no_colon}"),
    "verify-now-not-a-number": (2, "verify {t}/good.json --secret {secret} --now soon"),
    "trigger-unknown-event": (1, "trigger NOPE --to {to}"),
    "trigger-lowercase-event": (1, "trigger course_completed --to {to}"),
    "trigger-no-event": (2, "trigger --to {to}"),
    "trigger-no-url": (2, "trigger COURSE_COMPLETED"),
    "trigger-short-secret": (1, "trigger COURSE_COMPLETED --to {to} --secret {short}"),
    "trigger-non-base64-secret": (1, "trigger COURSE_COMPLETED --to {to} --secret {not_base64}"),
    "trigger-basic-auth-without-colon": (
        2,
        "trigger COURSE_COMPLETED --to {to} --basic-auth {no_colon}",
    ),
    "trigger-basic-auth-without-colon-from-env": (
        2,
        "HOOKWIRE_BASIC_AUTH={no_colon} trigger COURSE_COMPLETED --to {to}",
    ),
    "trigger-basic-auth-without-user": (
        2,
        "trigger COURSE_COMPLETED --to {to} --basic-auth :{no_colon}",
    ),
    "trigger-missing-signature-file": (
        1,
        "trigger COURSE_COMPLETED --to {to} --signature-file {t}/missing.json",
    ),
    "trigger-count-zero": (2, "trigger COURSE_COMPLETED --to {to} --count 0"),
    "trigger-count-negative": (2, "trigger COURSE_COMPLETED --to {to} --count -1"),
    "trigger-count-not-a-number": (2, "trigger COURSE_COMPLETED --to {to} --count many"),
    # listen: each must fail before it starts serving
    "listen-port-negative": (2, "listen --port -1"),
    "listen-port-out-of-range": (2, "listen --port 70000"),
    "listen-port-in-use": (1, "listen --port {busy}"),
    "listen-unknown-host": (1, "listen --port 0 --host 'no such host.invalid'"),
    "listen-path-without-slash": (2, "listen --port 0 --path hooks"),
    "listen-tolerance-negative": (2, "listen --port 0 --tolerance -1"),
    "listen-non-base64-secret": (1, "listen --port 0 --secret {not_base64}"),
    "listen-basic-auth-without-colon": (2, "listen --port 0 --basic-auth {no_colon}"),
    "listen-missing-signature-file": (1, "listen --port 0 --signature-file {t}/missing.json"),
    "listen-binary-signature-file": (1, "listen --port 0 --signature-file {t}/binary.dat"),
    "listen-record-into-a-directory": (2, "listen --port 0 --record {t}/dir"),
    "listen-record-in-a-missing-folder": (1, "listen --port 0 --record {t}/nope/requests.jsonl"),
    "listen-forward-secret-without-forward-to": (2, "listen --port 0 --forward-secret {secret}"),
    "listen-non-base64-forward-secret": (
        1,
        "listen --port 0 --forward-to {to} --forward-secret {not_base64}",
    ),
    "replay-missing-recording": (2, "replay {t}/missing.jsonl --to {to}"),
    "replay-directory-recording": (2, "replay {t}/dir --to {to}"),
    "replay-binary-recording": (1, "replay {t}/binary.dat --to {to}"),
    "replay-recording-with-a-bad-line": (1, "replay {t}/bad-line.jsonl --to {to}"),
    "replay-empty-recording": (1, "replay {t}/empty.jsonl --to {to}"),
    "replay-empty-recording-dry-run": (1, "replay {t}/empty.jsonl --to {to} --dry-run"),
    "replay-since-not-a-time": (2, RECORDING + " --since yesterday"),
    "replay-until-bad-date": (2, RECORDING + " --until 2026-13-45"),
    "replay-rate-zero": (2, RECORDING + " --rate 0"),
    "replay-rate-negative": (2, RECORDING + " --rate -5"),
    "replay-concurrency-zero": (2, RECORDING + " --concurrency 0"),
    "replay-short-secret": (1, RECORDING + " --secret {short}"),
    "replay-basic-auth-without-colon": (2, RECORDING + " --basic-auth {no_colon}"),
    "init-into-a-file": (2, "init {t}/good.json"),
    "webhooks-add-unknown-event": (1, ADD + " -e NOPE"),
    "webhooks-add-private-target": (1, ADD.replace("https://example.com", "http://127.0.0.1")),
    "webhooks-add-basic-auth-without-colon": (2, ADD + " --auth basic --basic-auth {no_colon}"),
    "webhooks-add-basic-auth-missing": (2, ADD + " --auth basic"),
    "webhooks-add-account-not-a-number": (2, ADD + " --account one"),
    "webhooks-show-unknown-id": (1, "webhooks show wh_nope --db {db}"),
    "webhooks-edit-unknown-id": (1, "webhooks edit wh_nope --name new --db {db}"),
    "webhooks-edit-nothing": (2, "webhooks edit wh_nope --db {db}"),
    "webhooks-delete-unknown-id": (1, "webhooks delete wh_nope --yes --db {db}"),
    "webhooks-retire-unknown-id": (1, "webhooks retire wh_nope --db {db}"),
    "webhooks-activate-unknown-id": (1, "webhooks activate wh_nope --db {db}"),
    "webhooks-test-unknown-id": (1, "webhooks test wh_nope --db {db}"),
    "webhooks-rotate-secret-unknown-id": (1, "webhooks rotate-secret wh_nope --db {db}"),
    "webhooks-rotate-secret-bad-grace": (2, "webhooks rotate-secret wh_x --grace ever --db {db}"),
    "webhooks-signature-file-unknown-id": (1, "webhooks signature-file wh_nope --db {db}"),
    "webhooks-signature-file-into-a-directory": (
        2,
        "webhooks signature-file wh_nope -o {t}/dir --db {db}",
    ),
    "db-garbage": (1, "webhooks list --db garbage"),
    "db-mysql": (1, "deliveries list --db {mysql}"),
    "db-mysql-from-env": (1, "HOOKWIRE_DATABASE_URL={mysql} events list"),
    "db-sqlite-in-a-missing-folder": (1, "webhooks list --db sqlite:///{t}/nope/hookwire.db"),
    "db-sqlite-file-that-is-not-a-database": (1, "events list --db sqlite:///{t}/binary.dat"),
    "db-sqlite-directory": (1, "deliveries list --db sqlite:///{t}/dir"),
    "db-postgres-closed-port": (1, "webhooks list --db {pg_closed}"),
    "dispatch-db-postgres-closed-port": (1, "dispatch --drain --db {pg_closed}"),
    "dispatch-db-not-a-database": (1, "dispatch --drain --db sqlite:///{t}/binary.dat"),
    "events-publish-unknown-event": (1, "events publish NOPE --sample --db {db}"),
    "events-publish-data-not-json": (2, PUBLISH + " --data '{{nope'"),
    "events-publish-data-a-list": (2, PUBLISH + " --data '[1, 2]'"),
    "events-publish-data-wrong-fields": (1, PUBLISH + """ --data '{{"userId": "x"}}'"""),
    "events-publish-data-missing-file": (1, PUBLISH + " --data @{t}/missing.json"),
    "events-publish-data-directory": (1, PUBLISH + " --data @{t}/dir"),
    "events-publish-data-binary-file": (2, PUBLISH + " --data @{t}/binary.dat"),
    "events-publish-no-data": (2, PUBLISH),
    "events-list-limit-zero": (2, "events list --limit 0 --db {db}"),
    "events-list-account-not-a-number": (2, "events list --account one --db {db}"),
    "deliveries-list-limit-negative": (2, "deliveries list --limit -1 --db {db}"),
    "deliveries-list-unknown-webhook": (1, "deliveries list --webhook wh_nope --db {db}"),
    "deliveries-show-unknown-id": (1, "deliveries show dlv_nope --db {db}"),
    "deliveries-redeliver-unknown-id": (1, "deliveries redeliver dlv_nope --db {db}"),
    "deliveries-recover-unknown-webhook": (1, "deliveries recover wh_nope --since 1h --db {db}"),
    "deliveries-recover-since-not-a-time": (2, "deliveries recover wh_x --since 5y --db {db}"),
    "dispatch-concurrency-zero": (2, "dispatch --drain --concurrency 0 --db {db}"),
    "dispatch-poll-interval-negative": (2, "dispatch --drain --poll-interval -1 --db {db}"),
    "demo-seed-not-a-number": (2, "demo --seed x"),
    "unknown-command": (2, "frobnicate"),
    **{
        f"{command}-{problem}": (code, line.replace("{url}", f"'{url}'"))
        for command, (code, line) in URL_COMMANDS.items()
        for problem, url in BAD_URLS.items()
    },
}


@pytest.fixture
def workdir(tmp_path: Path, make_recording: Callable[..., Path]) -> Path:
    """A folder of awkward inputs beside one good recording (recording.jsonl)."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "good.json").write_text('{"accountId": 1010, "events": []}')
    (tmp_path / "binary.dat").write_bytes(b"\x00\xff\xfe\x80 not text \x00")
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "bad-line.jsonl").write_text('{"not": "a recording"}\nnot json at all\n')
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    make_recording(["COURSE_COMPLETED"], secret=CREDENTIALS["secret"])
    return tmp_path


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something is already listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hookwire settings from the environment the tests happen to run in."""
    for name in list(os.environ):
        if name.startswith("HOOKWIRE_"):
            monkeypatch.delenv(name)


def command_line(line: str, **places: str) -> tuple[list[str], dict[str, str]]:
    """Split a table row as a shell would, then fill it in: (arguments, environment)."""
    fill = {**CREDENTIALS, **places}
    fill.update({name: value.format(**fill) for name, value in PLACES.items()})
    words = [word.format(**fill) for word in shlex.split(line)]
    env: dict[str, str] = {}
    while words and "=" in words[0] and words[0].split("=", 1)[0].isupper():
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return words, env


def assert_one_error_line(code: int, exit_code: int, stdout: str, stderr: str) -> None:
    assert exit_code == code, stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in stdout + stderr
    for credential in CREDENTIALS.values():
        assert credential not in stdout + stderr


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_error_line(name: str, workdir: Path, busy_port: int) -> None:
    code, line = CASES[name]
    db = f"sqlite:///{workdir / 'hookwire.db'}"
    args, env = command_line(line, t=str(workdir), db=db, busy=str(busy_port))
    result: Result = CliRunner().invoke(main, args, env=env, catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert_one_error_line(code, result.exit_code, result.stdout, result.stderr)


CLOSED_STDIN = {
    "sign": "sign --secret {secret}",
    "verify-body": "verify -H 'webhook-id: msg_1' --secret {secret}",
    "verify-headers": "verify {t}/good.json --headers - --secret {secret}",
    "events-publish-data": PUBLISH + " --data @-",
}


@pytest.mark.parametrize("name", list(CLOSED_STDIN))
def test_closed_stdin_is_one_error_line(name: str, tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text("{}")
    db = f"sqlite:///{tmp_path / 'hookwire.db'}"
    args, _ = command_line(CLOSED_STDIN[name], t=str(tmp_path), db=db)
    program = "import sys; from hookwire_cli.main import main; sys.exit(main())"
    # `<&-` starts the program with file descriptor 0 closed, as a detached job may be.
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" "$@" <&-', sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert_one_error_line(2, done.returncode, done.stdout, done.stderr)
    assert "standard input is closed" in done.stderr
