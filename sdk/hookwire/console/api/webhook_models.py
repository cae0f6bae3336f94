"""The webhook resource's bodies and answers, in the API's wire form (camelCase).

The bodies run the registry's own checks on each field (name, description,
target URL, event names, basic auth credentials) while they are validated, so
a refusal names the field the request spelled. Secrets appear in one answer
only, :class:`WebhookWithSecret`, given by the calls that make one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ...errors import RegistryError
from ...events import event_spec
from ...sender.guard import validate_target_url
from ...sender.models import AuthKind, BasicAuth, Webhook
from ...sender.webhook_fields import (
    MAX_CREDENTIAL,
    MAX_DESCRIPTION,
    MAX_NAME,
    check_basic_password,
    check_basic_username,
    check_description,
    check_name,
)
from ...signature_file import SignatureFile
from ..routing import ApiModel, InputModel, refusal

__all__ = [
    "MAX_GRACE_SECONDS",
    "AuthInput",
    "RotateSecretInput",
    "SignatureFileModel",
    "WebhookCreate",
    "WebhookList",
    "WebhookModel",
    "WebhookTestResult",
    "WebhookUpdate",
    "WebhookWithSecret",
]

MAX_GRACE_SECONDS = 7 * 24 * 3600
"""The longest time an old secret may keep signing beside a new one after a rotation."""

_MAX_EVENTS = 100


Name = Annotated[str, Field(max_length=MAX_NAME), refusal(check_name)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION), refusal(check_description)]
TargetUrl = Annotated[str, refusal(validate_target_url)]
EventName = Annotated[str, refusal(event_spec)]
EventNames = Annotated[list[EventName], Field(min_length=1, max_length=_MAX_EVENTS)]


class AuthInput(InputModel):
    """How the sender proves itself to the listener.

    ``{"type": "none"}``, ``{"type": "signature"}`` (an HMAC secret),
    ``{"type": "signature-ed25519"}`` (a key pair; the listener gets the public
    key) or ``{"type": "basic", "username": ..., "password": ...}``.
    """

    model_config = ConfigDict(strict=True)

    type: AuthKind
    username: str | None = Field(default=None, validate_default=True, max_length=MAX_CREDENTIAL)
    password: str | None = Field(
        default=None, validate_default=True, max_length=MAX_CREDENTIAL, repr=False
    )

    @field_validator("username", "password")
    @classmethod
    def _basic_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Basic auth needs both credentials; the other kinds take none."""
        kind = info.data.get("type")
        field = info.field_name
        if kind == "basic":
            check = check_basic_username if field == "username" else check_basic_password
            try:
                check(value)
            except RegistryError as exc:
                raise PydanticCustomError("invalid", exc.message) from None
        elif kind is not None and value is not None:
            raise PydanticCustomError("unexpected", f"only basic auth takes a {field}")
        return value

    def library_auth(self) -> str | BasicAuth | None:
        """The ``auth`` argument of ``sender.webhooks.create`` and ``update``."""
        if self.type == "basic":
            return BasicAuth(self.username or "", self.password or "")
        return None if self.type == "none" else self.type


class WebhookCreate(InputModel):
    """The body of ``POST /accounts/<id>/webhooks``."""

    model_config = ConfigDict(strict=True)

    name: Name
    description: Description = ""
    target_url: TargetUrl
    events: EventNames
    auth: AuthInput = AuthInput(type="none")
    active: bool = True


class WebhookUpdate(InputModel):
    """The body of ``PATCH /accounts/<id>/webhooks/<id>``: only the fields given change.

    A new ``auth`` replaces the credentials at once (a new secret for the
    signature kinds, shown once in the answer); ``description: ""`` clears it.
    """

    model_config = ConfigDict(strict=True)

    name: Name | None = None
    description: Description | None = None
    target_url: TargetUrl | None = None
    events: EventNames | None = None
    auth: AuthInput | None = None
    active: bool | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """A field given as null is refused: leave it out to keep its value."""
        if value is None:
            raise PydanticCustomError("null", "must not be null; leave the field out to keep it")
        return value


class RotateSecretInput(InputModel):
    """The body of ``POST .../rotate-secret``: how long the old secret keeps signing."""

    model_config = ConfigDict(strict=True)

    grace_seconds: int | None = Field(default=None, ge=0, le=MAX_GRACE_SECONDS)


class WebhookModel(ApiModel):
    """A webhook as the API shows it: never its secret or basic auth password."""

    id: str
    account_id: int
    name: str
    description: str
    target_url: str
    events: list[str]
    auth: AuthKind
    basic_username: str | None
    active: bool
    status: Literal["active", "retired", "disabled"]
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookModel:
        """The answer for a registry record."""
        return cls(**_fields(webhook))


def _fields(webhook: Webhook) -> dict[str, Any]:
    """A registry record's values as the answer models name them, with its status."""
    if webhook.active:
        status = "active"
    else:
        status = "retired" if webhook.disabled_reason is None else "disabled"
    return {
        "id": webhook.id,
        "account_id": webhook.account_id,
        "name": webhook.name,
        "description": webhook.description,
        "target_url": webhook.target_url,
        "events": list(webhook.events),
        "auth": webhook.auth,
        "basic_username": webhook.basic_username,
        "active": webhook.active,
        "status": status,
        "disabled_reason": webhook.disabled_reason,
        "failing_since": webhook.failing_since,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
    }


def _absent(value: object) -> bool:
    return value is None


class SignatureFileModel(ApiModel):
    """A webhook's signature file, as ``hookwire.Receiver(signature_file=...)`` reads it.

    ``secret`` (and, during a rotation, every valid one in ``secrets``) for an
    HMAC webhook; ``publicKey`` for an ed25519 one. Keys a file lacks are left
    out of the JSON, so the answer is the file itself.
    """

    webhook_id: str
    scheme: str
    secret: str | None = Field(default=None, repr=False, exclude_if=_absent)
    secrets: list[str] | None = Field(default=None, repr=False, exclude_if=_absent)
    public_key: str | None = Field(default=None, exclude_if=_absent)
    created_at: str

    @classmethod
    def of(cls, file: SignatureFile) -> SignatureFileModel:
        """The model of a signature file, from the very JSON its ``to_json`` writes."""
        return cls.model_validate(json.loads(file.to_json()))


class WebhookWithSecret(WebhookModel):
    """A webhook with its new signature file: the one answer that shows a secret.

    ``signatureFile`` is present when the call made a secret (creating or
    updating a webhook to a signature kind, rotating its secret) and null
    otherwise; no later answer shows it again (download it with
    ``GET .../signature-file``).
    """

    signature_file: SignatureFileModel | None = None

    @classmethod
    def with_file(cls, webhook: Webhook, file: SignatureFile | None) -> WebhookWithSecret:
        """The answer for a record and the signature file the call made, if any."""
        shown = None if file is None else SignatureFileModel.of(file)
        return cls(**_fields(webhook), signature_file=shown)


class WebhookList(ApiModel):
    """The account's webhooks, oldest first."""

    items: list[WebhookModel]


class WebhookTestResult(ApiModel):
    """What one test delivery got back from the target.

    ``statusCode`` is null when no answer came (``error`` says why);
    ``responseExcerpt`` is the first 500 characters of the answer's body;
    ``verifiedBy`` says what the listener must check to trust the request.
    """

    succeeded: bool
    status_code: int | None
    latency_ms: float
    response_excerpt: str
    error: str | None
    request_id: str
    auth: AuthKind
    verified_by: str
