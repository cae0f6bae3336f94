"""``hookwire.console``: the management API (and pages) an account's admins and operators use.

Mount it in the platform's own Flask app::

    from hookwire.console import Console
    console = Console(app, sender=sender)   # settings from app.config (HOOKWIRE_CONSOLE_*)

or run it alone for operators: ``hookwire console serve --db URL``. See docs/api.md.
"""

from __future__ import annotations

from ..extras import requires_extra

with requires_extra("console", __name__, "flask", "werkzeug", "itsdangerous"):
    from .app import Console as Console
    from .principal import CAPABILITIES as CAPABILITIES
    from .principal import Capability as Capability
    from .principal import Principal as Principal

__all__ = ["CAPABILITIES", "Capability", "Console", "Principal"]
