"""hookwire: both ends of learning-platform webhooks, signed, verified and typed.

Listening::

    from hookwire import Receiver
    receiver = Receiver(secret="whsec_...")
    envelope = receiver.verify(body, headers)
    for event in envelope.events:
        print(event.event_name, event.data)

Sending lives in :mod:`hookwire.sender`, the Flask integration in
:mod:`hookwire.flask`; neither is imported here, so verification stays light.
De-duplication stores are in :mod:`hookwire.dedupe`, the recording format in
:mod:`hookwire.recording`, the headers of an outgoing request in
:mod:`hookwire.outgoing`, what to do after an error (``error.hint``) in
:mod:`hookwire.hints`, sample events in :mod:`hookwire.samples` and
owner-only files (:func:`~hookwire.files.open_private`) in :mod:`hookwire.files`,
and the extras that install each optional part in :mod:`hookwire.extras`.

``import hookwire`` itself is nearly free: the errors and ``__version__`` load
at once, every other name imports its module (pydantic, cryptography) the first
time it is used (PEP 562), so the ``hookwire`` command starts without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import USER_AGENT as USER_AGENT
from ._version import __version__ as __version__
from .errors import BasicAuthError as BasicAuthError
from .errors import ConfigurationError as ConfigurationError
from .errors import HeaderError as HeaderError
from .errors import InvalidSecretError as InvalidSecretError
from .errors import InvalidTargetError as InvalidTargetError
from .errors import NotFoundError as NotFoundError
from .errors import PayloadError as PayloadError
from .errors import QueryError as QueryError
from .errors import RecordingError as RecordingError
from .errors import RegistryError as RegistryError
from .errors import SignatureFileError as SignatureFileError
from .errors import SignatureMismatchError as SignatureMismatchError
from .errors import TargetBlockedError as TargetBlockedError
from .errors import TimestampError as TimestampError
from .errors import UnknownEventError as UnknownEventError
from .errors import VerificationError as VerificationError
from .errors import WebhookError as WebhookError
from .errors import WebhookLimitError as WebhookLimitError
from .errors import __all__ as _ERROR_NAMES

if TYPE_CHECKING:
    from .events import CATALOGUE as CATALOGUE
    from .events import CiStatsData as CiStatsData
    from .events import CiStatsEvent as CiStatsEvent
    from .events import CompletionData as CompletionData
    from .events import CompletionEvent as CompletionEvent
    from .events import EnrollmentData as EnrollmentData
    from .events import EnrollmentEvent as EnrollmentEvent
    from .events import Envelope as Envelope
    from .events import Event as Event
    from .events import EventSpec as EventSpec
    from .events import GenericEvent as GenericEvent
    from .events import InstanceData as InstanceData
    from .events import InstanceEvent as InstanceEvent
    from .events import LearningObjectData as LearningObjectData
    from .events import LearningObjectEvent as LearningObjectEvent
    from .events import ProgressData as ProgressData
    from .events import ProgressEvent as ProgressEvent
    from .events import UnenrollmentData as UnenrollmentData
    from .events import UnenrollmentEvent as UnenrollmentEvent
    from .events import UserGroupData as UserGroupData
    from .events import UserGroupEvent as UserGroupEvent
    from .events import event_spec as event_spec
    from .receiver import HeaderMapping as HeaderMapping
    from .receiver import Receiver as Receiver
    from .receiver import parse_unverified as parse_unverified
    from .signature_file import SignatureFile as SignatureFile
    from .signature_file import read_signature_file as read_signature_file
    from .signing import Signer as Signer
    from .signing import basic_auth_header as basic_auth_header
    from .signing import check_basic_auth as check_basic_auth
    from .signing import generate_keypair as generate_keypair
    from .signing import generate_secret as generate_secret
    from .signing import public_key_of as public_key_of
    from .signing import sign as sign
    from .signing import sign_headers as sign_headers
    from .signing import verify_signature as verify_signature

#: Where each lazily imported public name lives: module -> names.
_LAZY_EXPORTS: dict[str, tuple[str, ...]] = {
    "events": (
        "CATALOGUE",
        "CiStatsData",
        "CiStatsEvent",
        "CompletionData",
        "CompletionEvent",
        "EnrollmentData",
        "EnrollmentEvent",
        "Envelope",
        "Event",
        "EventSpec",
        "GenericEvent",
        "InstanceData",
        "InstanceEvent",
        "LearningObjectData",
        "LearningObjectEvent",
        "ProgressData",
        "ProgressEvent",
        "UnenrollmentData",
        "UnenrollmentEvent",
        "UserGroupData",
        "UserGroupEvent",
        "event_spec",
    ),
    "receiver": ("HeaderMapping", "Receiver", "parse_unverified"),
    "signature_file": ("SignatureFile", "read_signature_file"),
    "signing": (
        "Signer",
        "basic_auth_header",
        "check_basic_auth",
        "generate_keypair",
        "generate_secret",
        "public_key_of",
        "sign",
        "sign_headers",
        "verify_signature",
    ),
}
_HOME: dict[str, str] = {name: module for module, names in _LAZY_EXPORTS.items() for name in names}

# Star-imports see the lazy names too; ruff cannot check a computed list.
__all__ = ["USER_AGENT", "__version__", *_ERROR_NAMES, *_HOME]  # noqa: PLE0604

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """Import the module behind a public name (or a core submodule) on first use."""
        if name in _LAZY_EXPORTS:
            return importlib.import_module(f".{name}", __name__)
        home = _HOME.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{home}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        """The module's names, lazy ones included, as if they were all imported."""
        return sorted({*globals(), *_HOME})
