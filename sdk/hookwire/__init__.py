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
:mod:`hookwire.recording` and sample events in :mod:`hookwire.samples`.
"""

from __future__ import annotations

from ._version import __version__ as __version__
from .errors import BasicAuthError as BasicAuthError
from .errors import ConfigurationError as ConfigurationError
from .errors import HeaderError as HeaderError
from .errors import InvalidSecretError as InvalidSecretError
from .errors import InvalidTargetError as InvalidTargetError
from .errors import NotFoundError as NotFoundError
from .errors import PayloadError as PayloadError
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
from .signing import basic_auth_header as basic_auth_header
from .signing import check_basic_auth as check_basic_auth
from .signing import generate_keypair as generate_keypair
from .signing import generate_secret as generate_secret
from .signing import public_key_of as public_key_of
from .signing import sign as sign
from .signing import sign_headers as sign_headers
from .signing import verify_signature as verify_signature
