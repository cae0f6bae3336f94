"""The installed version of hookwire."""

__version__ = "0.1.0"
USER_AGENT = f"hookwire/{__version__}"
"""The ``user-agent`` of every request hookwire sends (the dispatcher and the CLI)."""
