"""The installed version of hookwire."""

__version__ = "0.1.0"
