"""The API's routes as data: each one says its method, path, capability and models.

A resource module declares its views with :func:`route`; the blueprint, the
OpenAPI document and the tests that check every route's access read the same
:data:`ROUTES`. A view receives a :class:`Call` (who asks, the validated body
and query, the path's values) and returns a model, which is answered as JSON in
the wire format's casing (camelCase).

Example::

    @route("GET", "/accounts/<int:account_id>/webhooks", capability="read",
           response=WebhookList, summary="List the account's webhooks")
    def list_webhooks(call: Call) -> WebhookList:
        return WebhookList(items=[...])
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from ..errors import NotFoundError, WebhookError
from .principal import Capability, Principal

if TYPE_CHECKING:
    from ..sender import Sender, Webhook
    from .state import ConsoleState

__all__ = ["ROUTES", "ApiModel", "Call", "InputModel", "Route", "refusal", "route", "run_coroutine"]

T = TypeVar("T")


class ApiModel(BaseModel):
    """A model the API answers with: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class InputModel(BaseModel):
    """A model of a request body or query: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def refusal(check: Callable[[Any], object], error: str = "invalid") -> AfterValidator:
    """Run a library check on a field's value; its refusal becomes that field's error (of
    type ``error``), so the problem document names the field in the library's words."""

    def run(value: Any) -> Any:
        try:
            check(value)
        except WebhookError as exc:
            raise PydanticCustomError(error, exc.message) from None
        return value

    return AfterValidator(run)


@dataclass(frozen=True)
class Route:
    """One API operation."""

    method: str
    path: str
    view: Callable[[Call], BaseModel | None]
    capability: Capability
    summary: str
    body: type[InputModel] | None = None
    query: type[InputModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    tag: str = ""
    download_name: Callable[[Call], str] | None = None
    """For a file download: the attachment's file name (``Content-Disposition``) of a call."""

    @property
    def account_scoped(self) -> bool:
        """Whether the path names an account (``/accounts/<int:account_id>/...``)."""
        return "<int:account_id>" in self.path

    @property
    def operation_id(self) -> str:
        """The view's name, camelCase: OpenAPI's ``operationId``."""
        return to_camel(self.view.__name__)

    @property
    def openapi_path(self) -> str:
        """The path with OpenAPI's ``{name}`` parameters."""
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + to_camel(m.group(1)) + "}", self.path)

    @property
    def path_parameters(self) -> list[tuple[str, str]]:
        """``(name, converter)`` of each path parameter, in order (converter ``string``
        when the rule names none)."""
        return [
            (name, converter or "string")
            for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", self.path)
        ]

    @property
    def unsafe(self) -> bool:
        """Whether the method changes something (and takes an ``Idempotency-Key``)."""
        return self.method not in ("GET", "HEAD", "OPTIONS")


ROUTES: list[Route] = []
"""Every API route, in the order the resource modules declare them."""


def route(
    method: str,
    path: str,
    *,
    capability: Capability,
    summary: str,
    body: type[InputModel] | None = None,
    query: type[InputModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    tag: str = "",
    download_name: Callable[[Call], str] | None = None,
) -> Callable[[Callable[[Call], Any]], Callable[[Call], Any]]:
    """Declare a view as the API operation ``method path`` (a Flask rule under ``/api/v1``).

    ``download_name`` makes a successful answer an attachment with the file name it gives.
    """

    def register(view: Callable[[Call], Any]) -> Callable[[Call], Any]:
        ROUTES.append(
            Route(
                method,
                path,
                view,
                capability,
                summary,
                body,
                query,
                response,
                status,
                tag,
                download_name,
            )
        )
        return view

    return register


@dataclass
class Call:
    """What a view is given: the caller, the validated input and the console's parts."""

    principal: Principal
    state: ConsoleState
    params: dict[str, Any]
    body: Any = None
    query: Any = None
    audited: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sender(self) -> Sender:
        """The sender the console manages."""
        return self.state.sender

    @property
    def account_id(self) -> int:
        """The account the path names."""
        return int(self.params["account_id"])

    def webhook(self, webhook_id: str) -> Webhook:
        """The account's webhook with this id; another account's answers 404 as a missing one."""
        found = self.sender.webhooks.get(webhook_id)
        if found.account_id != self.account_id:
            raise NotFoundError(f"no webhook {webhook_id!r} in account {self.account_id}")
        return found

    def audit(self, action: str, *, webhook_id: str | None = None, **detail: Any) -> None:
        """Record a change in the audit log (after the view succeeds): who, what, which webhook.

        ``detail`` names what changed; it must never hold a secret value.
        """
        self.audited.append({"action": action, "webhook_id": webhook_id, "detail": detail})


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an async library call from a sync view and return its result.

    A view usually runs in a thread without an event loop, where this is
    ``asyncio.run``; in a thread whose loop is running (an async server, or a
    test driving a browser) the call runs in a thread of its own instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
