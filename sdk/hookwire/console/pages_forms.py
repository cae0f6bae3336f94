"""The add/edit webhook form: reading it, checking it field by field, and the event groups.

Each field is checked with the library's own check for it, so every message
the page shows beside a field is the library's sentence; what only the
registry can decide (a blocked target, the account's limit) is placed after
``create``/``update`` by the error's type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from ..errors import (
    InvalidTargetError,
    TargetBlockedError,
    UnknownEventError,
    WebhookError,
    WebhookLimitError,
)
from ..events import CATALOGUE
from ..sender import BasicAuth, Webhook
from ..sender.guard import validate_target_url

# The registry's per-field checks: the page runs each alone to place its message.
from ..sender.webhook_fields import (
    check_basic_password,
    check_basic_username,
    check_description,
    check_event_names,
    check_name,
)

__all__ = ["FORM_AUTH", "WebhookForm", "event_groups"]

FORM_AUTH = ("none", "basic", "signature")
"""The authentication choices of the form, in the platform's order."""


def event_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The catalogue's events as (group title, [(name, when it is sent)]): real-time, then
    batch, each with the catalogue's own line."""
    realtime = [(name, spec.description) for name, spec in CATALOGUE.items() if spec.realtime]
    batch = [(name, spec.description) for name, spec in CATALOGUE.items() if not spec.realtime]
    return [
        ("Real-time events: sent as they happen", realtime),
        ("Batch events: collected and sent together at set times", batch),
    ]


@dataclass
class WebhookForm:
    """The values of the add/edit form and the message beside each field that needs one."""

    name: str = ""
    description: str = ""
    target_url: str = ""
    auth: str = "signature"
    basic_username: str = ""
    basic_password: str = ""
    events: list[str] = field(default_factory=list)
    active: bool = True
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, hook: Webhook) -> WebhookForm:
        """The form showing a stored webhook (the password is never shown)."""
        auth = "signature" if hook.auth.startswith("signature") else hook.auth
        return cls(
            name=hook.name,
            description=hook.description,
            target_url=hook.target_url,
            auth=auth,
            basic_username=hook.basic_username or "",
            events=list(hook.events),
            active=hook.active,
        )

    @classmethod
    def read(cls, form: MultiDict[str, str]) -> WebhookForm:
        """The form as posted, each field checked with the library's check for it."""
        posted = cls(
            name=form.get("name", ""),
            description=form.get("description", "").replace("\r\n", "\n"),
            target_url=form.get("target_url", "").strip(),
            auth=form.get("auth", "none"),
            basic_username=form.get("basic_username", ""),
            basic_password=form.get("basic_password", ""),
            events=form.getlist("events"),
            active=form.get("active") == "on",
        )
        posted._check("name", check_name, posted.name)
        posted._check("description", check_description, posted.description)
        posted._check("target_url", validate_target_url, posted.target_url)
        posted._check("events", check_event_names, posted.events)
        if posted.auth not in FORM_AUTH:
            posted.errors["auth"] = "choose None, Basic or Signature"
        return posted

    def _check(self, name: str, check: Any, value: Any) -> None:
        try:
            check(value)
        except WebhookError as exc:
            self.errors[name] = str(exc)

    def auth_argument(self, *, editing: bool) -> Any:
        """The ``auth`` argument for the registry; when ``editing`` a Basic webhook, an empty
        password keeps the stored credentials (None: keep them)."""
        if self.auth == "basic":
            if editing and not self.basic_password:
                return None
            credentials = BasicAuth(self.basic_username, self.basic_password)
            self._check("basic_username", check_basic_username, self.basic_username)
            self._check("basic_password", check_basic_password, self.basic_password)
            return credentials
        return self.auth if self.auth == "signature" else "none"

    def place(self, exc: WebhookError) -> None:
        """Put an error the registry raised beside the field it is about."""
        if isinstance(exc, WebhookLimitError):
            self.errors["form"] = str(exc)
        elif isinstance(exc, InvalidTargetError | TargetBlockedError):
            self.errors["target_url"] = str(exc)
        elif isinstance(exc, UnknownEventError):
            self.errors["events"] = str(exc)
        else:
            self.errors["form"] = str(exc)
