"""Play many virtual nodes onto ports, interleaved by node time, in real time or faster, and hand the host
commands that arrive on the ports to the nodes they are addressed to."""

from __future__ import annotations

import heapq
import select
import time
from collections.abc import Callable, Sequence
from typing import Any

from vibsentry import protocol as vp
from vibsentry.errors import UsageError
from vibsentry.nodes.virtual import VirtualNode


class Simulator:
    """Play several nodes' message streams onto ports, interleaved by node time.

    Parameters
    ----------
    nodes : sequence of VirtualNode
    ports : sequence of port objects (``write(bytes)``; optionally ``read(timeout) -> bytes``)
        Node ``i`` writes to ``ports[i % len(ports)]``. What a port's ``read`` returns (the gateway's host
        commands) is split into frames, checked (COBS, CRC, layout: :func:`vibsentry.protocol.decode_frame`)
        and delivered by node id (or to every node on the port for the broadcast id) to
        :meth:`VirtualNode.deliver <vibsentry.nodes.virtual.VirtualNode.deliver>`.

    Attributes
    ----------
    sent : int
        Frames written.
    received : int
        Command frames delivered to a node.
    rx_errors : int
        Frames received that do not decode (garbage, a broken CRC): counted and dropped.
    rx_foreign : int
        Frames for a node id no node on that port has: dropped.
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
        self.received = 0
        self.rx_errors = 0
        self.rx_foreign = 0
        self._rx_buf = [bytearray() for _ in self.ports]
        self._readers = [k for k, p in enumerate(self.ports) if callable(getattr(p, "read", None))]
        self._fds = [getattr(p, "master", None) for p in self.ports]

    # Bytes without a 0x00 beyond the longest wire frame are garbage: drop them rather than buffer without bound.
    _MAX_RX = vp.MAX_WIRE

    def poll_commands(self, timeout: float = 0.0) -> int:
        """Read what arrived on the ports (waiting up to ``timeout`` s for the first byte) and deliver the
        complete frames; returns how many were delivered."""
        if not self._readers:
            if timeout > 0:
                time.sleep(timeout)
            return 0
        fds = [fd for k in self._readers if isinstance(fd := self._fds[k], int)]
        if timeout > 0 and len(fds) == len(self._readers):
            try:
                ready = select.select(fds, [], [], timeout)[0]
            except (OSError, ValueError):  # a port closed under us
                return 0
            if not ready:
                return 0
        elif timeout > 0:
            time.sleep(timeout)
        delivered = 0
        for k in self._readers:
            data = self.ports[k].read(0)
            if data:
                delivered += self._take(k, data)
        return delivered

    def _take(self, k: int, data: bytes) -> int:
        buf = self._rx_buf[k]
        buf += data
        *frames, rest = bytes(buf).split(b"\0")
        if len(rest) > self._MAX_RX:
            self.rx_errors += 1
            rest = b""
        self._rx_buf[k] = bytearray(rest)
        delivered = 0
        for raw in frames:
            if not raw:
                continue  # 0x00 runs (line noise, a resync) are not frames
            try:
                node_id = vp.decode_frame(raw).header.node_id
            except vp.ProtocolError:
                self.rx_errors += 1
                continue
            targets = [
                n
                for i, n in enumerate(self.nodes)
                if i % len(self.ports) == k and node_id in (n.spec.node_id, vp.BROADCAST_NODE)
            ]
            if not targets:
                self.rx_foreign += 1
            for n in targets:
                n.deliver(raw + b"\0")
                delivered += 1
        self.received += delivered
        return delivered

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
                # wait for the frame's time while listening for commands (arriving ones reach the node
                # before the next frame it computes; this one is computed already)
                while (delay := t0 + due_us / 1e6 / self.speed - time.monotonic()) > 0:
                    self.poll_commands(min(delay, 0.05))
                self.poll_commands()
            elif self.sent % 64 == 0:
                self.poll_commands()
            self.ports[i % len(self.ports)].write(frame)
            self.sent += 1
            if on_sent is not None:
                on_sent(i, t_us, frame, time.time())
            nxt = next(streams[i], None)
            if nxt is not None:
                heapq.heappush(heap, (nxt[0] + i * stagger_us, i, nxt[0], nxt[1]))
        return self.sent
