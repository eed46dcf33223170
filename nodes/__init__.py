"""The Python side of the sensor nodes: virtual nodes (:mod:`.virtual`), the ports they write to
(:mod:`.ports`) and the simulator that plays a fleet onto them (:mod:`.simulator`).

Above ``vibsentry.runtime`` and ``vibsentry.training`` in the layers, independent of ``vibsentry.dashboard``
(see ``ARCHITECTURE.md``).
"""
