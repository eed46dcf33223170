"""Stores the gateway writes to and the dashboard reads from: SQLite (default) and InfluxDB 1.x/2.x/3.x.

``docs/storage.md`` is the contract (SQLite schema, InfluxDB measurements/tags/fields).
"""

from vibsentry.dashboard.store.base import Store
from vibsentry.dashboard.store.records import KINDS, Record

__all__ = ["KINDS", "Record", "Store"]
