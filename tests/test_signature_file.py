"""The signature file: its exact shapes, its file mode, and its failures."""

from __future__ import annotations

import base64
import hmac
import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hookwire import (
    Receiver,
    SignatureFile,
    SignatureFileError,
    generate_keypair,
    read_signature_file,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CREATED = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)


def hmac_file() -> SignatureFile:
    return SignatureFile(
        webhook_id="wh_1", scheme="standard-webhooks-v1", keys=(SECRET,), created_at=CREATED
    )


def test_v1_shape_is_exact() -> None:
    assert hmac_file().to_dict() == {
        "webhookId": "wh_1",
        "scheme": "standard-webhooks-v1",
        "secret": SECRET,
        "createdAt": "2026-11-28T17:00:00Z",
    }


def test_v1a_shape_holds_only_the_public_key() -> None:
    _, public = generate_keypair()
    file = SignatureFile(
        webhook_id="wh_2", scheme="standard-webhooks-v1a", keys=(public,), created_at=CREATED
    )
    assert file.to_dict() == {
        "webhookId": "wh_2",
        "scheme": "standard-webhooks-v1a",
        "publicKey": public,
        "createdAt": "2026-11-28T17:00:00Z",
    }


def test_written_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    hmac_file().write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    hmac_file().write(path)
    assert read_signature_file(path) == hmac_file()


def test_rotation_file_round_trips_all_secrets(tmp_path: Path) -> None:
    second = "whsec_" + "QUFB" * 8
    file = SignatureFile(
        webhook_id="wh_1",
        scheme="standard-webhooks-v1",
        keys=(SECRET, second),
        created_at=CREATED,
    )
    path = tmp_path / "signature.json"
    file.write(path)
    assert read_signature_file(path).keys == (SECRET, second)


def test_read_accepts_a_loaded_dict() -> None:
    assert read_signature_file(hmac_file().to_dict()).keys == (SECRET,)


def test_repr_hides_the_secret() -> None:
    assert "MfKQ9r8" not in repr(hmac_file())


def test_missing_file_fails(tmp_path: Path) -> None:
    with pytest.raises(SignatureFileError) as info:
        read_signature_file(tmp_path / "absent.json")
    assert info.value.path == str(tmp_path / "absent.json")


def test_missing_file_error_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(SignatureFileError) as info:
        read_signature_file(path)
    assert str(info.value) == f"cannot read the signature file {path}: No such file or directory"


def test_unreadable_path_with_a_line_break_stays_one_line(tmp_path: Path) -> None:
    path = f"{tmp_path}/sig\nnature.json"
    with pytest.raises(SignatureFileError) as info:
        read_signature_file(path)
    assert repr(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_non_json_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    path.write_text("secret=whsec_x")
    with pytest.raises(SignatureFileError):
        read_signature_file(path)


def test_non_object_json_fails(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    path.write_text("[1, 2]")
    with pytest.raises(SignatureFileError):
        read_signature_file(path)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"webhookId": "wh_1", "createdAt": "2026-11-28T17:00:00Z"}, "no 'secret'"),
        (
            {"scheme": "standard-webhooks-v1a", "createdAt": "2026-11-28T17:00:00Z"},
            "no 'publicKey'",
        ),
        ({"scheme": "hmac-md5", "secret": SECRET, "createdAt": "2026-11-28"}, "unknown scheme"),
        ({"secret": SECRET, "createdAt": "yesterday"}, "createdAt"),
        ({"secret": SECRET}, "createdAt"),
        ({"secret": "whsec_", "createdAt": "2026-11-28T17:00:00Z"}, "unusable"),
        ({"secret": "whsec_short", "createdAt": "2026-11-28T17:00:00Z"}, "unusable"),
    ],
    ids=[
        "no-secret",
        "no-public-key",
        "unknown-scheme",
        "bad-created",
        "no-created",
        "empty-secret",
        "non-base64-secret",
    ],
)
def test_bad_contents_fail(data: dict[str, Any], words: str) -> None:
    with pytest.raises(SignatureFileError) as info:
        read_signature_file(data)
    assert words in str(info.value)


def test_file_with_a_secret_shorter_than_hookwire_makes_verifies() -> None:
    # 23 bytes: another sender's secret, below the 24 hookwire generates.
    secret = "whsec_" + base64.b64encode(bytes(range(23))).decode()
    file = read_signature_file({"secret": secret, "createdAt": "2026-11-28T17:00:00Z"})
    body = b'{"accountId": 1, "events": []}'
    content = b"msg_1.1764349200." + body
    signature = "v1," + base64.b64encode(hmac.digest(bytes(range(23)), content, "sha256")).decode()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1764349200",
        "webhook-signature": signature,
    }
    Receiver(signature_file=file).authenticate(body, headers, now=1764349200)


def test_to_json_is_the_text_write_writes(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    hmac_file().write(path)
    assert hmac_file().to_json() == path.read_text(encoding="utf-8")
    assert json.loads(hmac_file().to_json()) == hmac_file().to_dict()


def test_secret_and_public_key_name_the_key_as_the_json_does() -> None:
    assert (hmac_file().secret, hmac_file().public_key) == (SECRET, None)
    _, public = generate_keypair()
    ed25519 = SignatureFile(
        webhook_id="wh_2", scheme="standard-webhooks-v1a", keys=(public,), created_at=CREATED
    )
    assert (ed25519.secret, ed25519.public_key) == (None, public)


def test_saved_file_is_json_with_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    hmac_file().write(path)
    text = path.read_text()
    assert text.endswith("\n")
    assert json.loads(text)["secret"] == SECRET


def test_non_utf8_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(SignatureFileError) as info:
        read_signature_file(path)
    assert "UTF-8" in str(info.value)


def test_path_with_nul_byte_fails(tmp_path: Path) -> None:
    with pytest.raises(SignatureFileError):
        read_signature_file(f"{tmp_path}/sig\0nature.json")


def test_deeply_nested_json_fails(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    path.write_text("[" * 100_000)
    with pytest.raises(SignatureFileError):
        read_signature_file(path)
