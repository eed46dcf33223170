"""Per-node sequence tracking, boot epochs and feature-hash checks; turns decoded frames into records.

Timestamps are deterministic: a record's ``ts_ns`` is ``boot_epoch_ns + timestamp_us * 1000`` where
``boot_epoch_ns`` is fixed once per node boot (gateway wall clock at the first frame of the boot minus the
node time it carried) and journaled with the records. A replay therefore produces the same keys.

A new boot is recognised by a HELLO whose ``boot_counter`` differs from the current boot's, or (when the
HELLO was lost) by the node clock going backwards on a frame that is not a recent duplicate. Sequence
numbers (u32, wrapping) are checked per node: a jump forward counts the missing frames as ``gaps``, a frame
already seen (same sequence number and node time) counts as a ``duplicate`` and is dropped.
"""

from __future__ import annotations

import logging
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vibsentry import protocol as vp
from vibsentry.dashboard.gateway.journal import NodeState
from vibsentry.dashboard.store.records import Record

log = logging.getLogger("vibsentry.ingest")

_SEQ_MOD = 1 << 32
_RECENT = 256

#: Largest node clock the gateway accepts, in microseconds since the node's boot: 100 years. A larger value
#: is a corrupt clock, and its nanosecond timestamp (``boot_epoch_ns + timestamp_us * 1000``) would overflow
#: the signed 64-bit integers SQLite and InfluxDB store; such a frame is quarantined, never journaled.
MAX_NODE_TIME_US = 100 * 365 * 86_400 * 1_000_000
_INT64_MAX = (1 << 63) - 1
#: How far ahead of the gateway's wall clock a record may be. A node's time maps to UTC through the boot
#: epoch fixed at its first frame, so a real node's records arrive at or before "now"; crystal drift of
#: 100 ppm adds under an hour a year. A frame further ahead is a jump of a corrupt clock: accepting it would
#: push this boot's time (and the floor of every later boot) years into the future.
MAX_FUTURE_NS = 86_400 * 1_000_000_000


class Quarantined(Exception):
    """A CRC-valid frame whose content the gateway cannot store (absurd clock, out-of-range value).

    The journal writer keeps such frames in the journal's ``quarantine`` table with this reason, counts them
    and goes on with the rest of the batch.
    """


_FEATURE_KIND_NAMES = {int(k): k.name.lower() for k in vp.FeatureKind}
_SAMPLE_FORMAT_NAMES = {int(vp.SampleFormat.INT16): "i16", int(vp.SampleFormat.FLOAT32): "f32"}
# HEALTH counters stored under their field names; ``nacks[r]`` as ``nacks_<reason>`` (``nacks_other`` for entry 0).
_HEALTH_SCALARS = tuple(n for n in vp.Health.LAYOUT.fields if n != "nacks")
_NACK_KEYS = tuple(
    "nacks_other"
    if i == 0
    else f"nacks_{vp.NackReason(i).name.lower()}"
    if i in set(vp.NackReason)
    else f"nacks_{i}"
    for i in range(vp.NACK_SLOTS)
)


@dataclass
class NodeCounters:
    """Counters for one node, shown by ``vibsentry ingest --status``."""

    frames: int = 0
    gaps: int = 0
    duplicates: int = 0
    reboots: int = 0
    quarantined: int = 0
    hash_mismatch: bool = False
    last_seq: int = -1
    port: str | None = None
    machine: str | None = None


@dataclass
class _Live:
    state: NodeState
    recent: OrderedDict[tuple[int, int], None] = field(default_factory=OrderedDict)


def _hex(h: bytes) -> str:
    return bytes(h).hex()


class Tracker:
    """Track every node's boot and sequence; convert :class:`vibsentry.protocol.Frame` to :class:`Record`.

    Parameters
    ----------
    states : mapping of int to NodeState
        Journaled node states to resume from (``Journal.node_states()``).
    expected_feature_hash : str or None
        The deployed bundle's ``feature_hash`` (lower-case hex); None disables the check.
    machines : mapping of int to str
        Configured machine names by node id; they win over the name a node reports in HELLO.
    clock_ns : callable
        Wall clock in UTC nanoseconds (injected by tests).
    """

    def __init__(
        self,
        states: Mapping[int, NodeState] | None = None,
        *,
        expected_feature_hash: str | None = None,
        machines: Mapping[int, str] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._live = {n: _Live(s) for n, s in (states or {}).items()}
        self.expected_feature_hash = expected_feature_hash.lower() if expected_feature_hash else None
        self.machines = dict(machines or {})
        self._clock = clock_ns
        self.nodes: dict[int, NodeCounters] = {}
        for n, s in (states or {}).items():
            self.nodes[n] = NodeCounters(hash_mismatch=s.hash_mismatch, last_seq=s.last_seq)
        self.dirty: dict[int, NodeState] = {}
        self.ignored = 0  # frames of types the store does not keep (ACK/NACK, host commands)

    def _new_boot(self, node: int, frame: vp.Frame, boot: int, prev: _Live | None) -> _Live:
        h = frame.header
        epoch = self._clock() - h.timestamp_us * 1000
        if prev is not None:
            # A node clock that restarted must never map to times before the previous boot's last record.
            floor = prev.state.boot_epoch_ns + prev.state.last_time_ns + 1
            epoch = max(epoch, floor - h.timestamp_us * 1000)
        st = NodeState(boot=boot, boot_epoch_ns=epoch, last_seq=(h.seq - 1) % _SEQ_MOD, last_time_ns=0)
        if prev is not None:
            st.feature_hash, st.hash_mismatch = prev.state.feature_hash, prev.state.hash_mismatch
        live = _Live(st)
        self._live[node] = live
        return live

    def process(self, frame: vp.Frame, port: str | None = None) -> Record | None:
        """Account for ``frame`` and return its record, or None for a duplicate or a type not stored."""
        h = frame.header
        msg = frame.message
        node = h.node_id
        cnt = self.nodes.get(node)
        if cnt is None:
            cnt = self.nodes[node] = NodeCounters()
        cnt.port = port or cnt.port
        if h.timestamp_us > MAX_NODE_TIME_US:
            # Checked before any state changes: the frame must not move this node's boot or sequence.
            cnt.quarantined += 1
            raise Quarantined(
                f"node {node} seq {h.seq}: node clock {h.timestamp_us} us is beyond {MAX_NODE_TIME_US} us "
                "(100 years): corrupt clock"
            )
        live = self._live.get(node)
        key = (h.seq, h.timestamp_us)
        t_ns = h.timestamp_us * 1000
        # A HELLO with a new boot counter is a reboot even when its (seq, time) equals a recent frame of the
        # previous boot: a node that restarts quickly repeats its first sequence numbers and timestamps, and
        # checking for duplicates first would drop the whole new boot's data as "duplicates".
        if live is not None and isinstance(msg, vp.Hello) and msg.boot_counter != live.state.boot:
            cnt.reboots += 1
            log.info("node %d rebooted (boot_counter %d -> %d)", node, live.state.boot, msg.boot_counter)
            live = self._new_boot(node, frame, msg.boot_counter, live)
        elif live is not None and key in live.recent:
            cnt.duplicates += 1
            return None
        if live is None:
            boot = msg.boot_counter if isinstance(msg, vp.Hello) else 0
            live = self._new_boot(node, frame, boot, None)
        elif (
            t_ns >= live.state.last_time_ns
            and live.state.boot_epoch_ns + t_ns > self._clock() + MAX_FUTURE_NS
        ):
            cnt.quarantined += 1
            raise Quarantined(
                f"node {node} seq {h.seq}: node clock jumped to {h.timestamp_us} us, more than a day ahead of "
                "the gateway's clock: corrupt clock"
            )
        elif t_ns < live.state.last_time_ns:
            cnt.reboots += 1
            log.info(
                "node %d clock went back (%d us < %d us): new boot",
                node,
                h.timestamp_us,
                live.state.last_time_ns // 1000,
            )
            live = self._new_boot(node, frame, live.state.boot, live)
        st = live.state
        ahead = (h.seq - st.last_seq) % _SEQ_MOD
        if ahead == 0 or ahead > _SEQ_MOD // 2:
            # Sequence number not ahead but the clock is: the node restarted its counter without a reboot
            # we saw, or sent an out-of-order frame. Keep the data (its time is new), count it as a gap.
            cnt.gaps += 1
        elif ahead > 1:
            cnt.gaps += ahead - 1
        st.last_seq = h.seq
        st.last_time_ns = max(st.last_time_ns, t_ns)
        live.recent[key] = None
        if len(live.recent) > _RECENT:
            live.recent.popitem(last=False)
        cnt.frames += 1
        cnt.last_seq = h.seq
        ts = st.boot_epoch_ns + t_ns
        machine = self.machines.get(node) or cnt.machine
        fields: dict[str, Any]
        if isinstance(msg, vp.Hello):
            fh = _hex(msg.feature_hash)
            mismatch = self.expected_feature_hash is not None and fh != self.expected_feature_hash
            if mismatch and not st.hash_mismatch:
                log.warning(
                    "node %d reports feature_hash %s but the deployed bundle has %s: its data is flagged "
                    "hash_mismatch",
                    node,
                    fh,
                    self.expected_feature_hash,
                )
            st.feature_hash, st.hash_mismatch = fh, mismatch
            machine = self.machines.get(node) or msg.machine or None
            fields = {
                "fw_version": msg.fw_version,
                "machine": machine,
                "sample_rate_hz": msg.sample_rate_hz,
                "feature_hash": fh,
                "model_hash": _hex(msg.model_hash),
                "boot_counter": msg.boot_counter,
                "uptime_ms": h.timestamp_us // 1000,
                "boot_epoch_ns": st.boot_epoch_ns,
                "counters": {
                    "boot_counter": msg.boot_counter,
                    "reset_reason": msg.reset_reason,
                    "model_slot": msg.model_slot,
                    "model_state": msg.model_state,
                },
            }
            kind = "hello"
        elif isinstance(msg, vp.Status):
            fields = {
                "uptime_ms": msg.uptime_s * 1000,
                "boot_epoch_ns": st.boot_epoch_ns,
                "counters": {
                    "frames_analysed": msg.frames_analysed,
                    "frames_skipped": msg.frames_skipped,
                    "tx_frames": msg.tx_frames,
                    "rx_frames": msg.rx_frames,
                    "rx_errors": msg.rx_errors,
                    "alarm_state": msg.alarm_state,
                },
                "battery_v": msg.battery_v,
                "temperature_c": msg.temperature_c,
            }
            kind = "status"
        elif isinstance(msg, vp.Score):
            fields = {
                "score": msg.score,
                "threshold": msg.threshold,
                "alarm_state": msg.alarm_state,
                "cls": msg.class_index if msg.class_index >= 0 else None,
                "rms": msg.rms_g,
                "peak": msg.peak_g,
                "velocity_rms": msg.velocity_rms_mm_s,
                "frame_index": msg.frame_index,
            }
            kind = "score"
        elif isinstance(msg, vp.Alarm):
            fields = {
                "event": msg.event,
                "score": msg.score,
                "threshold": msg.threshold,
                "clear_threshold": msg.clear_threshold,
                "k": msg.k,
                "n": msg.n,
                "frame_index": msg.frame_index,
            }
            kind = "alarm"
        elif isinstance(msg, vp.Features):
            fields = {
                "kind": _FEATURE_KIND_NAMES.get(msg.kind, str(msg.kind)),
                "values": msg.values,
                "frame_index": msg.frame_index,
            }
            kind = "features"
        elif isinstance(msg, vp.RawChunk):
            fmt = _SAMPLE_FORMAT_NAMES[msg.sample_format]
            data = struct.pack(f"<{len(msg.samples)}{'h' if fmt == 'i16' else 'f'}", *msg.samples)
            fields = {
                "capture_id": msg.capture_id,
                "chunk_index": msg.chunk_index,
                "n_chunks": msg.chunk_count,
                "sample_rate": msg.sample_rate_hz,
                "channels": 1,
                "sample_format": fmt,
                "scale": msg.scale_g_per_lsb,
                "data": data,
            }
            kind = "raw"
        elif isinstance(msg, vp.Health):
            counters = {n: getattr(msg, n) for n in _HEALTH_SCALARS}
            counters.update(zip(_NACK_KEYS, msg.nacks, strict=True))
            fields = {"boot_epoch_ns": st.boot_epoch_ns, "counters": counters}
            kind = "health"
        elif isinstance(msg, vp.ModelStatus):
            fields = {
                "model_hash": _hex(msg.model_hash),
                "boot_epoch_ns": st.boot_epoch_ns,
                "counters": {
                    "model_slot": msg.model_slot,
                    "model_state": msg.model_state,
                    "model_counter": msg.counter,
                    "trial_frames": msg.trial_frames,
                    "trial_target": msg.trial_target,
                    "staged_bytes": msg.staged_bytes,
                    "staged_total": msg.staged_total,
                    "last_error": msg.last_error,
                },
            }
            kind = "model"
        elif isinstance(msg, vp.BaselineProgress):
            # counters are integers in both stores: the learned threshold is kept in micro-units.
            thr = msg.threshold if msg.threshold == msg.threshold and abs(msg.threshold) < 1e12 else 0.0
            fields = {
                "boot_epoch_ns": st.boot_epoch_ns,
                "counters": {
                    "baseline_state": msg.state,
                    "baseline_frames_done": msg.frames_done,
                    "baseline_frames_target": msg.frames_target,
                    "baseline_threshold_micro": round(thr * 1e6),
                    "baseline_crc": msg.baseline_crc,
                },
            }
            kind = "baseline"
        else:
            self.ignored += 1
            self.dirty[node] = st
            return None
        if not 0 <= ts <= _INT64_MAX:
            cnt.quarantined += 1
            raise Quarantined(
                f"node {node} seq {h.seq}: timestamp {ts} ns does not fit a signed 64-bit integer"
            )
        if kind != "raw":
            fields["hash_mismatch"] = st.hash_mismatch
        cnt.hash_mismatch = st.hash_mismatch
        cnt.machine = machine or cnt.machine
        self.dirty[node] = st
        return Record(kind=kind, node=node, ts_ns=ts, seq=h.seq, fields=fields, machine=machine, port=port)

    def take_dirty(self) -> dict[int, NodeState]:
        """Node states changed since the last call (journaled with the batch they belong to)."""
        d, self.dirty = self.dirty, {}
        return {n: NodeState(**vars(s)) for n, s in d.items()}
