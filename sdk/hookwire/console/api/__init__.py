"""The REST API's resources; importing this package declares every route in ``ROUTES``."""

from __future__ import annotations

from . import audit_log, catalogue, deliveries, events, stats, webhooks

__all__ = ["audit_log", "catalogue", "deliveries", "events", "stats", "webhooks"]
