"""Play many virtual nodes onto ports, interleaved by node time, in real time or faster."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from typing import Any

from vibsentry.errors import UsageError
from vibsentry.nodes.virtual import VirtualNode


class Simulator:
    """Play several nodes' message streams onto ports, interleaved by node time.

    Parameters
    ----------
    nodes : sequence of VirtualNode
    ports : sequence of port objects (``write(bytes)``)
        Node ``i`` writes to ``ports[i % len(ports)]``.
    speed : float
        Node seconds per wall second (1 = real time; ``inf`` = as fast as the port takes them).
    """

    def __init__(self, nodes: Sequence[VirtualNode], ports: Sequence[Any], *, speed: float = 1.0) -> None:
        if not nodes or not ports:
            raise UsageError("simulate needs at least one node and one port")
        if not speed > 0:
            raise UsageError(f"--speed {speed!r}: must be positive")
        self.nodes = list(nodes)
        self.ports = list(ports)
        self.speed = speed
        self.sent = 0

    def run(
        self,
        *,
        stop: Callable[[], bool] | None = None,
        on_sent: Callable[[int, int, bytes, float], None] | None = None,
        stagger_us: int = 0,
    ) -> int:
        """Send every message; returns how many.

        ``on_sent(node_index, node_time_us, frame, wall_time)`` is called after each write. Node ``i`` boots
        ``i * stagger_us`` after node 0 (wall time), so a fleet's frames do not all leave at the same instant.
        """
        streams = [n.messages() for n in self.nodes]
        heap: list[tuple[int, int, int, bytes]] = []  # (wall offset us, node index, node time us, frame)
        for i, s in enumerate(streams):
            first = next(s, None)
            if first is not None:
                heap.append((first[0] + i * stagger_us, i, first[0], first[1]))
        heapq.heapify(heap)
        t0 = time.monotonic()
        while heap:
            if stop is not None and stop():
                break
            due_us, i, t_us, frame = heapq.heappop(heap)
            if self.speed != float("inf"):
                delay = t0 + due_us / 1e6 / self.speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self.ports[i % len(self.ports)].write(frame)
            self.sent += 1
            if on_sent is not None:
                on_sent(i, t_us, frame, time.time())
            nxt = next(streams[i], None)
            if nxt is not None:
                heapq.heappush(heap, (nxt[0] + i * stagger_us, i, nxt[0], nxt[1]))
        return self.sent
