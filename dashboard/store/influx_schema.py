"""The InfluxDB layout: the contract between the gateway (writer, :mod:`.influx`) and the dashboard (reader,
``vibsentry.dashboard.influx_read``), as :mod:`.schema` is for SQLite. ``docs/storage.md`` describes it.

Both sides import these names instead of repeating the strings.
"""

from __future__ import annotations

import re

from vibsentry.dashboard.store.schema import EVENT_CLEAR, EVENT_RAISE

#: Measurements, one per record kind (HELLO and STATUS share ``vib_status``, tagged ``kind``).
M_SCORE = "vib_score"
M_ALARM = "vib_alarm"
M_STATUS = "vib_status"
M_FEATURES = "vib_features"
M_RAW = "vib_raw"
#: Written by the gateway's diagnosis sink: one point per diagnosed raw capture (docs/diagnostics.md).
M_DIAGNOSIS = "vib_diagnosis"
#: Written by the dashboard only: an alarm acknowledgement at the raise's timestamp.
M_ACK = "vib_ack"

#: ``vib_alarm``'s ``event`` tag values.
EVENT_TAGS: dict[int, str] = {EVENT_RAISE: "raise", EVENT_CLEAR: "clear"}

#: ``vib_status`` fields ``c_<name>`` hold the node's counters.
COUNTER_PREFIX = "c_"
#: ``vib_features`` fields ``b00``, ``b01``, ... hold the feature vector in order.
FEATURE_FIELD_RE = re.compile(r"b(\d+)")


def feature_field(i: int) -> str:
    """Field name of feature value ``i`` in ``vib_features`` (``b00``, ``b01``, ...)."""
    return f"b{i:02d}"
