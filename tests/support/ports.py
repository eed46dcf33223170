"""Loopback TCP ports for servers a test starts (dashboard, influxd, mosquitto, fake servers).

A port found free and then bound later by another process can be taken in between. With ``bind(0)`` that is
likely on a busy machine: the kernel hands out the same ephemeral range for every outgoing connection (each
HTTP request, each browser socket) and for every other ``bind(0)``. So ports are drawn at random from
*outside* the ephemeral range (``/proc/sys/net/ipv4/ip_local_port_range``), never twice in one process, and
checked to be free at the moment they are drawn. Servers that can still lose the race are started through
helpers that retry on a fresh port (``served_dashboard``, ``InfluxdServer``).
"""

from __future__ import annotations

import random
import socket

_GIVEN: set[int] = set()
_RNG = random.SystemRandom()  # not the seeded global generator: parallel runs must not draw the same ports


def _candidates() -> range:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            lo, hi = (int(v) for v in fh.read().split())
    except (OSError, ValueError):
        lo, hi = 32768, 60999
    if lo - 10000 >= 5000:
        return range(10000, lo)
    return range(hi + 1, 65536) if 65535 - hi >= 2000 else range(1024, 65536)


def free_port() -> int:
    """A loopback TCP port outside the ephemeral range that nobody listens on now and not handed out before."""
    pool = _candidates()
    for _ in range(2000):
        port = _RNG.choice(pool)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {pool.start}-{pool.stop - 1} after 2000 draws")
