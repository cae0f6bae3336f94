"""The forms a secret could leak in, for the tests that search output for secrets."""

from __future__ import annotations


def forms(secret: str) -> list[str]:
    """A secret whole and, for a ``whsec_``/``whsk_`` one, its bare base64 without the prefix."""
    found = [secret]
    if "_" in secret:
        found.append(secret.split("_", 1)[1])
    return found
