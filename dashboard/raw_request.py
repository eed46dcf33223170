"""The machine detail's "Request raw capture": REQUEST_RAW to one node through the running gateway's command
socket (``DATA_DIR/gateway.sock``, dashboard/gateway/commands.py), answered by the node's ACK or NACK.

The node sends the capture as RAW_CHUNKs after its ACK; the gateway stores it and diagnoses it in the
background, so it shows up in the machine detail's capture picker on its own (docs/diagnostics.md).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from vibsentry import protocol as vp
from vibsentry.dashboard import queries as q
from vibsentry.dashboard.gateway.commands import SOCKET_NAME
from vibsentry.dashboard.gateway.deploy import GatewayLink, LinkLost
from vibsentry.dashboard.store.records import announced_rate
from vibsentry.errors import DeployError, UsageError

#: Longest capture the page asks for, in seconds. REQUEST_RAW's n_samples is a u32, but every node NACKs
#: TOO_LARGE beyond its capture limit: 10 s for the simulator and for the C node (120,000 samples at 12 kHz, the
#: part its pre-trigger ring cannot hold streamed as recorded); a NACK is shown.
MAX_SECONDS = 10.0
#: Shortest capture, in seconds (below this no diagnosis resolves a shaft line).
MIN_SECONDS = 0.01
#: Rate assumed for a node that has announced no rate in HELLO and sent no capture yet (FeatureParams'
#: default, the CWRU 12 kHz recordings).
DEFAULT_RATE_HZ = 12000.0

#: NACK reasons in plain words (docs/protocol.md section "NACK reasons").
PLAIN_REASONS: dict[int, str] = {
    int(vp.NackReason.BAD_VALUE): "the node refused the request: a value is out of range for it",
    int(vp.NackReason.BUSY): "the node is busy with another capture; try again in a few seconds",
    int(vp.NackReason.UNSUPPORTED): "the node cannot send raw captures (in this sample format)",
    int(vp.NackReason.TOO_LARGE): "longer than the node's capture buffer; ask for fewer seconds",
    int(vp.NackReason.NOT_READY): "the node has not heard enough samples yet; try again shortly",
    int(vp.NackReason.BAD_STATE): "the node cannot capture in its current state",
}


@dataclass(frozen=True)
class RawReply:
    """The node's answer: ``ok`` (ACK) or not, the ``capture_id`` asked for and one line of plain ``text``."""

    ok: bool
    capture_id: int
    n_samples: int
    text: str


class NodeRate(NamedTuple):
    """The rate the page turns seconds into samples with.

    ``rate_hz`` in Hz; ``known`` False when it is :data:`DEFAULT_RATE_HZ` (assumed); ``origin`` where it came
    from: ``"hello"`` (announced in the node's newest HELLO), ``"capture"`` (the newest stored capture's) or
    ``"default"``.
    """

    rate_hz: float
    known: bool
    origin: str

    def note(self) -> str:
        """Where the rate comes from, in plain words, for the form (no rate in it: the caller shows it)."""
        return {
            "hello": "the rate the node announced in its latest HELLO",
            "capture": "the rate of the node's newest stored capture (no stored HELLO of it announces a rate)",
            "default": "assumed: no stored HELLO of this node announces a rate and it has sent no capture",
        }[self.origin]


def node_rate_hz(source: q.Source, node: int) -> NodeRate:
    """The sample rate to request ``node``'s capture at, in order of preference: the rate announced in its
    newest HELLO (``sample_rate_hz`` of :meth:`Source.nodes`, docs/storage.md), the rate of its newest stored
    capture, else :data:`DEFAULT_RATE_HZ`.

    The HELLO comes first: it is what the node samples at now, while a stored capture may predate a
    reconfiguration; a node that never sent a capture would otherwise be asked for a 12 kHz sample count.
    """
    nodes = source.nodes()
    mine = nodes[nodes["node"] == int(node)]["sample_rate_hz"]
    # announced_rate: the stores' rule for a usable rate (finite, positive), else 0.0; NaN for an old store.
    announced = announced_rate(mine.iloc[0]) if len(mine) else 0.0
    if announced > 0:
        return NodeRate(announced, True, "hello")
    caps = source.raw_captures(node, 0, time.time_ns() + 86400 * 10**9)
    if not caps.empty:
        rate = caps.sort_values("start_ns")["sample_rate"].dropna()
        newest = announced_rate(rate.iloc[-1]) if not rate.empty else 0.0
        if newest > 0:
            return NodeRate(newest, True, "capture")
    return NodeRate(DEFAULT_RATE_HZ, False, "default")


def samples_for(seconds: float, rate_hz: float) -> int:
    """Samples in ``seconds`` at ``rate_hz`` (rounded); UsageError (one line) outside the allowed lengths."""
    if not (isinstance(seconds, int | float) and math.isfinite(seconds)) or not (
        MIN_SECONDS <= seconds <= MAX_SECONDS
    ):
        raise UsageError(
            f"capture length {seconds!r} s: must be between {MIN_SECONDS:g} and {MAX_SECONDS:g} seconds"
        )
    return max(1, round(float(seconds) * rate_hz))


def request_raw(gateway_dir: str | Path, node: int, n_samples: int, *, timeout_s: float = 15.0) -> RawReply:
    """Send REQUEST_RAW (``n_samples`` int16 samples, a fresh capture id) to ``node`` through the gateway in
    ``gateway_dir`` and wait up to ``timeout_s`` for the ACK/NACK. DeployError (one line) when there is no
    gateway, or the node does not answer."""
    sock = Path(gateway_dir) / SOCKET_NAME
    if not sock.exists():
        raise DeployError(
            f"no gateway command socket at {sock}: is the gateway (vibsentry ingest) running with this data "
            "directory (VIBSENTRY_DASHBOARD_GATEWAY_DIR)?"
        )
    capture_id = random.randrange(1, 2**32)
    seq = random.getrandbits(32)
    frame = vp.encode(
        vp.RequestRaw(capture_id, int(n_samples), int(vp.SampleFormat.INT16)),
        node_id=node,
        seq=seq,
        timestamp_us=0,
    )
    try:
        link = GatewayLink(sock, [node])
    except LinkLost as exc:
        raise DeployError(f"{exc}; is the gateway (vibsentry ingest) running?") from None
    deadline = time.monotonic() + timeout_s
    try:
        link.send(frame)
        while time.monotonic() < deadline:
            try:
                frames = link.recv(0.2)
            except LinkLost:
                # The gateway has not heard this node on any port yet: ask again (same seq, so a node that did
                # get the first one answers again without capturing twice).
                time.sleep(0.2)
                link.reconnect()
                link.send(frame)
                continue
            for f in frames:
                m = f.message
                if f.header.node_id == node and isinstance(m, vp.Ack | vp.Nack) and m.acked_seq == seq:
                    if isinstance(m, vp.Ack):
                        return RawReply(
                            True, capture_id, int(n_samples), "the node accepted the request (ACK)"
                        )
                    why = PLAIN_REASONS.get(
                        int(m.reason), f"the node refused the request (reason {m.reason})"
                    )
                    return RawReply(False, capture_id, int(n_samples), why)
    except LinkLost as exc:
        raise DeployError(f"gateway command socket: {exc}") from None
    finally:
        link.close()
    raise DeployError(f"node {node} did not answer REQUEST_RAW within {timeout_s:g} s (is it connected?)")
