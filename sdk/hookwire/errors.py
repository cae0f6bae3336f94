"""Every error hookwire raises, in one tree.

Catch ``WebhookError`` to handle anything hookwire raises; catch a subclass to
handle one kind of failure. Each class means one thing wherever it is raised::

    WebhookError
    ├── VerificationError           a request is not authentic (a listener answers 401)
    │   ├── HeaderError             a required header is missing or malformed
    │   ├── SignatureMismatchError  no signature matches any configured key
    │   ├── TimestampError          webhook-timestamp is outside the tolerance
    │   └── BasicAuthError          the Authorization header does not match
    ├── PayloadError                an envelope or event is not valid (a listener answers
    │   │                           400; publish and publish_many raise it to their caller)
    │   └── UnknownEventError       an event name that is not in the catalogue; also a
    │                               RegistryError, as a webhook cannot subscribe to it
    ├── RegistryError               the registry refused to register or change a webhook,
    │   │                           or to hand out its key, as asked
    │   ├── WebhookLimitError       the account already has its maximum of webhooks
    │   ├── InvalidTargetError      a target URL that is not an absolute http(s) URL
    │   └── TargetBlockedError      a target that resolves to a private address
    ├── QueryError                  a filter, limit or time given to a list, count or
    │                               recover call is not valid
    ├── NotFoundError               no webhook, event or delivery with that id
    ├── ConfigurationError          hookwire was set up wrongly (a programming error)
    │   ├── InvalidSecretError      a secret or key that cannot be used
    │   └── SignatureFileError      a signature file that cannot be read
    └── RecordingError              a recording file or line cannot be read

Messages say what went wrong and what to do next. They never contain a secret,
a password or a signature: context that is safe to show is kept as attributes.
Where what to do next is a call to make, the error carries it as a
:class:`~hookwire.hints.Hint`: ``str(error)`` words it for Python (``list them
with sender.webhooks.list()``), and a front end such as the ``hookwire`` command
words the same key its own way after ``error.message``, the text without it.
"""

from __future__ import annotations

from .hints import Hint

__all__ = [
    "BasicAuthError",
    "ConfigurationError",
    "HeaderError",
    "InvalidSecretError",
    "InvalidTargetError",
    "NotFoundError",
    "PayloadError",
    "QueryError",
    "RecordingError",
    "RegistryError",
    "SignatureFileError",
    "SignatureMismatchError",
    "TargetBlockedError",
    "TimestampError",
    "UnknownEventError",
    "VerificationError",
    "WebhookError",
    "WebhookLimitError",
]


class WebhookError(Exception):
    """The base of every error hookwire raises.

    ``message`` is the text without advice; ``hint`` the :class:`~hookwire.hints.Hint` saying
    what to do next, or None. ``str(error)`` is the message followed by the
    hint's Python wording.
    """

    message: str
    hint: Hint | None

    def __init__(self, message: str = "", *, hint: Hint | None = None) -> None:
        super().__init__(message + hint.python if hint is not None else message)
        self.message = message
        self.hint = hint


class VerificationError(WebhookError):
    """The request could not be authenticated; a listener answers 401."""


class HeaderError(VerificationError):
    """A required header is missing or malformed.

    ``header`` names the header (lower case), never its value.
    """

    def __init__(self, message: str, *, header: str) -> None:
        super().__init__(message)
        self.header = header


class SignatureMismatchError(VerificationError):
    """No signature in ``webhook-signature`` matches a configured secret or key."""


class TimestampError(VerificationError):
    """``webhook-timestamp`` is too far from the receiver's clock.

    ``timestamp`` is the header's value, ``now`` the receiver's clock and
    ``tolerance`` the allowed difference, all in Unix seconds.
    """

    def __init__(self, message: str, *, timestamp: int, now: float, tolerance: float) -> None:
        super().__init__(message)
        self.timestamp = timestamp
        self.now = now
        self.tolerance = tolerance


class BasicAuthError(VerificationError):
    """The ``Authorization`` header is missing or does not carry the configured credentials."""


class PayloadError(WebhookError):
    """An envelope or event is not valid.

    A listener answers 400 to a body that is not a valid envelope;
    ``sender.publish`` and ``publish_many`` raise it to their caller for an
    event they cannot send. ``location`` is the path to the first offending
    field in wire names (``"events.0.data.userId"``), or ``""`` when the body
    as a whole is at fault.
    """

    def __init__(self, message: str, *, location: str = "", hint: Hint | None = None) -> None:
        super().__init__(message, hint=hint)
        self.location = location


class ConfigurationError(WebhookError):
    """hookwire was given settings it cannot work with."""


class InvalidSecretError(ConfigurationError):
    """A secret or key that is empty, too short, or not base64."""


class SignatureFileError(ConfigurationError):
    """A signature file that is missing, not JSON, or lacks its key.

    ``path`` is the file's path when it came from a file.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class RegistryError(WebhookError):
    """The registry refused to register or change a webhook, or to hand out its key, as asked."""


class WebhookLimitError(RegistryError):
    """The account already has as many webhooks as it may (5 by default)."""

    def __init__(self, message: str, *, account_id: int, limit: int) -> None:
        super().__init__(message)
        self.account_id = account_id
        self.limit = limit


class UnknownEventError(PayloadError, RegistryError):
    """An event name that is not in the catalogue.

    Both an invalid event (a :class:`PayloadError`, from ``publish``) and a
    refused registration (a :class:`RegistryError`, from a webhook's
    ``events``), so either ``except`` catches it. ``event_name`` is the name
    (shortened when it is not text); ``location`` is where it was given
    (``"eventName"``, ``"events.3.eventName"``), or ``""``.
    """

    def __init__(
        self, message: str, *, event_name: str, location: str = "", hint: Hint | None = None
    ) -> None:
        super().__init__(message, location=location, hint=hint)
        self.event_name = event_name


class InvalidTargetError(RegistryError):
    """A target URL that is not an absolute http(s) URL."""


class TargetBlockedError(RegistryError):
    """A target that resolves to a private, loopback, link-local, multicast or reserved address.

    ``address`` is the offending IP address.
    """

    def __init__(self, message: str, *, address: str, hint: Hint | None = None) -> None:
        super().__init__(message, hint=hint)
        self.address = address


class QueryError(WebhookError):
    """A filter, limit or time given to a list, count or recover call is not valid.

    Raised by ``sender.webhooks.list``, ``sender.events.list`` and
    ``sender.deliveries.list``, ``counts`` and ``recover``: nothing was refused
    to register, and nothing is missing.
    """


class NotFoundError(WebhookError):
    """No webhook, event or delivery has the given id."""


class RecordingError(WebhookError):
    """A recording file or one of its lines cannot be read.

    ``line`` is the 1-based line number when one line is at fault.
    """

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def error_line(exc: BaseException) -> str:
    """The first line of an exception's text, or its class name when it has none.

    How hookwire quotes another library's error in one line: a driver's or
    SQLAlchemy's later lines carry statements, parameters and quoted rows.
    """
    return (str(exc).splitlines() or [type(exc).__name__])[0]
