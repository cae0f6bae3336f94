"""The README's three main sections print or answer what the README says.

Every ```python block of the README also runs in tests/test_docs_blocks.py, the
harness of all the docs, with its ``<!-- doctest: ... -->`` markers; the tests
here check what those three sections promise beyond running.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from hookwire import read_signature_file, sign_headers

README = Path(__file__).resolve().parent.parent / "README.md"
VERIFY, FLASK, SEND = "Verify a webhook in ten lines", "Receive them in Flask", "Send them"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n", flags=re.DOTALL | re.MULTILINE)
_IDS = re.compile(r"\b(evt|wh)_[0-9A-Za-z]+")


def blocks(section: str) -> list[tuple[str, str]]:
    """The fenced blocks of a ``## section``: (language, code)."""
    text = README.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [(match[1], match[2]) for match in _BLOCK.finditer(body)]


def sections() -> list[str]:
    """Every ``## section`` title of the README, in order."""
    return re.findall(r"^## (.+)$", README.read_text(encoding="utf-8"), flags=re.MULTILINE)


def python_block(section: str) -> str:
    """The one runnable ```python block of a section."""
    (code,) = [code for language, code in blocks(section) if language == "python"]
    return code


def run_script(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script in ``cwd`` with this interpreter; fail on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def read_webhook_id(directory: Path) -> str:
    """The id of the webhook the send script registered in ``directory``'s database."""
    from hookwire.sender import Sender

    with Sender(f"sqlite:///{directory / 'hookwire.db'}") as sender:
        (hook,) = sender.webhooks.list(1010)
        return hook.id


def test_readme_verify_example_prints_its_documented_output(tmp_path: Path) -> None:
    (_, code), (_, shown) = blocks(VERIFY)[:2]
    assert run_script(code, tmp_path).stdout == shown


def test_send_script_delivers_offline_and_again_on_a_rerun(tmp_path: Path) -> None:
    (_, code), (_, shown) = blocks(SEND)[:2]
    for _ in range(2):
        result = run_script(code, tmp_path)
        assert _IDS.sub(r"\1_ID", result.stdout) == _IDS.sub(r"\1_ID", shown)
        assert result.stderr == ""


def test_flask_listener_accepts_a_signed_request_with_the_file_the_readme_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_script(python_block(SEND), tmp_path)
    (tmp_path / "signature.json").unlink()
    hook_id = read_webhook_id(tmp_path)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hookwire_cli",
            "webhooks",
            "signature-file",
            hook_id,
            "-o",
            "signature.json",
        ],
        cwd=tmp_path,
        env={**os.environ, "HOOKWIRE_DATABASE_URL": "sqlite:///hookwire.db"},
        capture_output=True,
        check=True,
        timeout=60,
    )
    (tmp_path / "app.py").write_text(python_block(FLASK), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    app = runpy.run_path("app.py")["app"]
    body = json.dumps(
        {
            "accountId": 1010,
            "events": [
                {
                    "eventId": "e1",
                    "eventName": "COURSE_COMPLETED",
                    "timestamp": 1727414643000,
                    "data": {
                        "userId": 7,
                        "loId": "course:1",
                        "loInstanceId": "course:1_1",
                        "hasPassed": True,
                    },
                }
            ],
        }
    ).encode()
    secret = read_signature_file("signature.json").secret
    assert secret is not None
    headers = {**sign_headers(secret, body), "Content-Type": "application/json"}
    answer = app.test_client().post("/webhooks", data=body, headers=headers)
    assert answer.status_code == 202
    assert capsys.readouterr().out == "7 course:1 True\n"


def test_the_flask_listener_without_its_signature_file_names_the_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", python_block(FLASK)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "cannot read the signature file signature.json: No such file" in result.stderr


@pytest.mark.parametrize("section", [VERIFY, FLASK, SEND])
def test_the_readme_keeps_its_tested_sections(section: str) -> None:
    assert section in sections(), f"the README lost its {section!r} section"
    python_block(section)
