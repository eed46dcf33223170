"""The store-facing form of a decoded message: one :class:`Record` per wire-protocol message.

The gateway turns protocol messages into records (``vibsentry.dashboard.gateway.convert``); stores only see
records, so a store never depends on the wire format. ``fields`` per kind:

- ``hello`` / ``status``: ``fw_version``, ``feature_hash``, ``model_hash`` (str), ``uptime_ms`` (int),
  ``machine`` (str or None), ``counters`` (dict str -> int), ``hash_mismatch`` (bool), ``port`` (str);
  ``hello`` also ``sample_rate_hz`` (float, the accelerometer rate the node announces; stored through
  :func:`announced_rate`)
- ``health`` (HEALTH), ``model`` (MODEL_STATUS), ``baseline`` (BASELINE_PROGRESS): stored like ``status``
  (same fields, mostly ``counters``; ``model`` also ``model_hash``), under their own kind so that a HEALTH sent
  in the same microsecond as its STATUS never shares a storage key with it
- ``score``: ``score``, ``threshold`` (float), ``alarm_state`` (0/1), ``cls`` (int or None), ``rms``,
  ``peak``, ``velocity_rms`` (float or None), ``hash_mismatch``
- ``alarm``: ``event`` (1 raise, 2 clear), ``score``, ``threshold``, ``hash_mismatch``
- ``features``: ``kind`` (str), ``values`` (tuple of float)
- ``raw``: ``capture_id``, ``chunk_index``, ``n_chunks`` (int), ``sample_rate`` (float), ``channels`` (int),
  ``sample_format`` (``"f32"``/``"i16"``), ``scale`` (float), ``data`` (bytes, little-endian)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Kinds stored as node status rows (SQLite ``status`` table, InfluxDB ``vib_status`` with a ``kind`` tag).
STATUS_KINDS: tuple[str, ...] = ("hello", "status", "health", "model", "baseline")
KINDS: tuple[str, ...] = (*STATUS_KINDS, "score", "alarm", "features", "raw")


@dataclass(frozen=True)
class Record:
    """One decoded message, keyed for idempotent storage.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    node : int
        Protocol node id.
    ts_ns : int
        Deterministic UTC timestamp in nanoseconds (node boot epoch + node time).
    seq : int
        The frame's sequence number.
    fields : mapping
        Kind-specific values, see the module docstring.
    machine : str or None
        Machine name from the gateway config, when known.
    port : str or None
        The serial port the message arrived on.
    site, gateway : str or None
        Where the message came from when it travelled through MQTT (``vibsentry collect``); None for a
        gateway writing its own store. Stores keep them per node (SQLite ``nodes``, InfluxDB tags).
    """

    kind: str
    node: int
    ts_ns: int
    seq: int
    fields: Mapping[str, Any] = field(default_factory=dict)
    machine: str | None = None
    port: str | None = None
    site: str | None = None
    gateway: str | None = None


def raw_scale(value: Any) -> float:
    """A RAW_CHUNK's g-per-LSB scale as stored: the node's value when finite and non-zero, else 0.0.

    0.0 marks "no usable scale" (the node sent 0, infinity or NaN; SQLite and InfluxDB cannot hold NaN).
    Readers refuse such captures (``queries.check_raw_chunks``); storing 1.0 instead would silently turn the
    samples into a wrong recording.
    """
    try:
        f = float(value)
    except (TypeError, ValueError):
        return 0.0
    return f if math.isfinite(f) and f != 0.0 else 0.0


def announced_rate(value: Any) -> float:
    """A HELLO's ``sample_rate_hz`` as stored: the node's value in Hz when finite and positive, else 0.0.

    0.0 marks "this HELLO announced no usable rate" in both stores (as :func:`raw_scale` does for a scale), so
    a later HELLO without a usable rate replaces an earlier one instead of leaving a stale rate behind, and
    readers fall back to the newest capture's rate.
    """
    f = raw_scale(value)  # finite and non-zero, else 0.0; a rate must also be positive
    return f if f > 0.0 else 0.0


def finite_or_none(value: Any) -> float | None:
    """``value`` as a float when it is finite, else None (NaN, +-inf and None all mean "no value").

    The one rule for numbers a node sent: the SQLite store keeps them as NULL (it cannot hold NaN or inf, and
    a NULL score stays out of the rollup), and the dashboard shows them as missing, whichever store it reads.
    """
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None
