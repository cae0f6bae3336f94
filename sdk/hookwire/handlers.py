"""Handlers: what a listener runs for each event, by name, for every event, and on failure.

A :class:`Handlers` registry is shared by the listening core and its adapters
(``hookwire.flask``, ``hookwire listen``); one registry may serve several
listeners.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ConfigurationError
from .events import Envelope, Event

__all__ = ["ErrorHandler", "Handler", "Handlers"]

F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[[Event, Envelope], Any]
"""A handler in the one shape the core calls: ``(event, envelope)``."""
ErrorHandler = Callable[[Exception, Event], Any]
"""Called with the exception a handler raised and the event it was handling."""

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _adapt(func: Callable[..., Any]) -> Handler:
    """Give every handler the ``(event, envelope)`` shape, following the signature rule.

    The rule: a handler whose signature takes two positional arguments (or
    ``*args``) receives ``(event, envelope)``; one that takes one receives ``event``.
    """
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the signature of handler {func!r}") from exc
    positional = [p for p in params if p.kind in _POSITIONAL]
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    keyword_only = any(
        p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
        for p in params
    )
    name = getattr(func, "__qualname__", repr(func))
    if len(required) > 2 or keyword_only or (not positional and not variadic):
        raise ConfigurationError(
            f"handler {name} must take (event) or (event, envelope) as positional arguments"
        )
    if len(positional) >= 2 or variadic:
        return func
    return lambda event, _envelope: func(event)


class Handlers:
    """What runs for each event: handlers by event name, for every event, and on failure.

    Handlers take ``(event)`` or ``(event, envelope)``: a handler whose
    signature has a second positional parameter also receives the envelope.
    """

    def __init__(self) -> None:
        self._named: dict[str, tuple[Handler, ...]] = {}
        self._any: tuple[Handler, ...] = ()
        self._errors: list[ErrorHandler] = []

    def on(self, *names: str) -> Callable[[F], F]:
        """Register a handler for one or more event names: ``@handlers.on("COURSE_COMPLETED")``."""
        if not names or not all(isinstance(name, str) and name for name in names):
            raise ConfigurationError("on() needs one or more event names")

        def register(func: F) -> F:
            handler = _adapt(func)
            for name in names:
                self._named[name] = (*self._named.get(name, ()), handler)
            return func

        return register

    def on_any(self, func: F) -> F:
        """Register a handler for every event, run after the event's own handlers."""
        self._any = (*self._any, _adapt(func))
        return func

    def on_error(self, func: F) -> F:
        """Register ``func(error, event)``, called when a handler raises.

        The request is still answered 500 so that the sender retries; use this
        to report the failure. An error handler that raises is logged and ignored.
        """
        self._errors.append(func)
        return func

    def handlers_for(self, name: str) -> tuple[Handler, ...]:
        """The handlers an event named ``name`` runs through, in order."""
        named = self._named.get(name)
        return self._any if named is None else named + self._any

    def report(self, exc: Exception, event: Event, logger: logging.Logger | None) -> None:
        """Tell every error handler that a handler raised ``exc`` on ``event``."""
        for error_handler in self._errors:
            try:
                error_handler(exc, event)
            except Exception:
                if logger is not None:
                    logger.exception("webhook error handler %r failed", error_handler)
