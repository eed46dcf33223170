"""Virtual sensor nodes: the Python reference pipeline on a recording, speaking the wire protocol.

Each :class:`VirtualNode` does what a node's firmware does, with the reference implementations: frames the
signal (``vibsentry.dsp``), decides per frame whether to analyse it (trigger), computes the features, scores
them with the bundle's INT8 model (``Bundle.score_features``), applies the alarm rule
(``vibsentry.runtime.alarm.AlarmState``) and emits HELLO, periodic STATUS, one SCORE per analysed frame,
ALARM raise/clear events and periodic FEATURES (the log-mel vector) as protocol frames.
:class:`vibsentry.nodes.simulator.Simulator` interleaves many nodes in node-time order onto ports
(:mod:`vibsentry.nodes.ports`).

Without a bundle a node scores with a baseline model fitted on its own first seconds of healthy signal
(mean squared z-score of the features; threshold at 1.5 x the largest baseline score), so tests and demos
run without TensorFlow; with ``--bundle`` the bundle's feature parameters, INT8 model and alarm rule are used.
"""

from __future__ import annotations

import functools
import math
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from vibsentry import protocol as vp
from vibsentry.errors import UsageError

#: Raw captures are int16 with this many g per LSB (full scale +-16 g, the usual MEMS accelerometer range).
RAW_SCALE_G = 16.0 / 32767.0

#: Longest REQUEST_RAW capture the Python engine serves (seconds of signal); longer requests get NACK TOO_LARGE.
#: The C engine's limit is ``VS_NODE_RAW_MAX_SAMPLES`` (120,000 samples, 10 s at 12 kHz): it sends its pre-trigger
#: ring and streams the samples that follow, where this engine sends the ``n`` samples up to the request.
PY_RAW_LIMIT_S = 10.0

#: Synthetic sources accepted wherever a recording path is: ``synth:KIND`` (KIND below).
SYNTH_KINDS: tuple[str, ...] = ("normal", "outer", "inner", "ball")


def node_machine_name(machine: str, n_nodes: int, node_id: int) -> str:
    """The machine name a node of ``vibsentry simulate --machine MACHINE --nodes N`` announces in HELLO:
    ``MACHINE`` for one node, ``MACHINE-<node id>`` for several."""
    return machine if n_nodes == 1 else f"{machine}-{node_id}"


@dataclass(frozen=True)
class NodeSpec:
    """One virtual node.

    Parameters
    ----------
    node_id : int
        Protocol node id (0..65534).
    machine : str
        Machine name sent in HELLO.
    recording : str
        WAV/CSV/NPY path or ``synth:KIND``; looped when shorter than the run.
    fault_recording : str or None
        Signal after ``fault_at_s`` seconds of node time (path or ``synth:KIND``).
    fault_at_s : float or None
        Node time in seconds at which the signal switches to ``fault_recording``.
    seed : int
        Seed of the synthetic signals.
    boot_counter : int
        Reported in HELLO.
    """

    node_id: int
    machine: str
    recording: str = "synth:normal"
    fault_recording: str | None = None
    fault_at_s: float | None = None
    seed: int = 0
    boot_counter: int = 1


def load_signal(source: str, *, sample_rate: float, duration_s: float, seed: int = 0) -> np.ndarray:
    """Samples in g (float32, 1-D) of ``source``: a recording path or ``synth:KIND``, at ``sample_rate`` Hz.

    Raises :class:`UsageError` for an unknown synthetic kind or a recording at another sampling rate.
    """
    if source.startswith("synth:"):
        kind = source[len("synth:") :].removesuffix("_race")
        if kind not in SYNTH_KINDS:
            raise UsageError(f"recording {source!r}: synthetic kind must be one of {', '.join(SYNTH_KINDS)}")
        from vibsentry.synth import machine_signal

        x = machine_signal(
            duration_s=max(duration_s, 1.0),
            sample_rate=sample_rate,
            fault=None if kind == "normal" else kind,
            seed=seed,
        )
        return np.asarray(x, dtype=np.float32)
    rate, x = _read_file(os.path.abspath(source))
    if rate is not None and abs(rate - sample_rate) > 1e-6:
        raise UsageError(
            f"recording {source!r} is sampled at {rate:g} Hz but the features need {sample_rate:g} Hz"
        )
    # Nodes sharing one recording start at different places in it, so a fleet does not move in lockstep.
    return np.roll(x, -(seed * 7919) % max(1, x.size))


@functools.lru_cache(maxsize=16)
def _read_file(path: str) -> tuple[float | None, np.ndarray]:
    from vibsentry.dsp.io import read_recording

    rec = read_recording(path)
    x = np.ascontiguousarray(rec.data[:, 0], dtype=np.float32)
    x.setflags(write=False)
    return rec.sample_rate, x


class BaselineScorer:
    """Score = mean squared z-score of the features against a healthy baseline (used without a bundle).

    Attributes
    ----------
    mean_, std_ : ndarray float32, shape (n_features,)
    threshold_ : float
        1.5 x the largest baseline score.
    """

    def fit(self, features: np.ndarray) -> BaselineScorer:
        """Fit on healthy features, shape (n_frames, n_features)."""
        x = np.asarray(features, dtype=np.float32)
        self.mean_ = x.mean(axis=0)
        self.std_ = np.maximum(x.std(axis=0), np.float32(1e-3))
        self.threshold_ = float(1.5 * self.score_samples(x).max())
        return self

    def score_samples(self, features: np.ndarray) -> np.ndarray:
        """Scores, shape (n_frames,), float32."""
        z = (np.asarray(features, dtype=np.float32) - self.mean_) / self.std_
        return np.mean(z * z, axis=1).astype(np.float32)


def hop_levels(signal: np.ndarray, *, params: Any, n_frames: int) -> np.ndarray:
    """vs_trigger's block level (``vs_trigger.h``) of the block the C node's trigger judges each frame by: the
    frame's last hop (frame 0 of a hop longer than the frame: the frame). RMS about the block mean in one
    float32 pass about the first sample, summed in sample order. Shape (n_frames,), float32."""
    n, hop = params.frame_length, params.hop_length
    x = np.asarray(signal, dtype=np.float32)

    def level(b: np.ndarray) -> np.ndarray:
        c = b - b[:, :1]
        m = np.float32(b.shape[1])
        d = np.cumsum(c, axis=1, dtype=np.float32)[:, -1] / m
        var = np.cumsum(c * c, axis=1, dtype=np.float32)[:, -1] / m - d * d
        return np.where(var > 0, np.sqrt(np.maximum(var, np.float32(0))), np.float32(0)).astype(np.float32)

    if n_frames == 0:
        return np.zeros(0, dtype=np.float32)
    first = 1 if hop > n else 0
    out = np.empty(n_frames, dtype=np.float32)
    if first:
        out[0] = level(x[None, :n])[0]
    starts = np.arange(first, n_frames) * hop + (n - hop)
    if starts.size:
        out[first:] = level(x[starts[:, None] + np.arange(hop)[None, :]])
    return out


@dataclass
class _PyState:
    """What host commands change in the Python engine: the alarm rule (``cfg`` is SET_THRESHOLD's, ``rule``
    the one in force, with a learned baseline's thresholds), its state, the baseline learner, the last command
    (a retry with the same type and seq gets the same answer again, as vs_node does)."""

    cfg: Any
    rule: Any
    alarm: Any
    learner: Any = None
    last_cmd: tuple[int, int, int] | None = None


def _pick_engine(engine: str, bundle: Any) -> str:
    if engine not in ("auto", "c", "python"):
        raise UsageError(f"engine {engine!r}: must be auto, c or python")
    if engine == "python" or (engine == "auto" and bundle is None):
        return "python"
    from vibsentry.nodes.cnode import c_node_available

    reason = c_node_available()
    if engine == "c" and (bundle is None or reason is not None):
        raise UsageError(f"engine 'c': {reason or 'needs a bundle (the model and feature configuration)'}")
    return "c" if reason is None else "python"


class VirtualNode:
    """One node's message stream, computed from its recording (see the module docstring).

    Parameters
    ----------
    spec : NodeSpec
    duration_s : float
        Node time to simulate, in seconds.
    bundle : Bundle or None
        A loaded ``vibsentry.runtime.bundle.Bundle``; None uses :class:`BaselineScorer`.
    status_every_s : float
        STATUS period (node time); HELLO repeats every 10 periods.
    features_every : int
        Send FEATURES every this many analysed frames (0: never).
    trigger_rms_g : float
        Analyse a frame only when the RMS about its mean of the frame's last hop exceeds this (g; 0: every
        frame): vs_trigger's level rule (``vs_trigger.h``), the same in both engines; skipped frames are
        counted.
    baseline_s : float
        Seconds of the node's own healthy signal the baseline scorer is fitted on (no bundle only).
    raw_capture_s : float
        Length in seconds of a raw capture (RAW_CHUNK frames, int16 at :data:`RAW_SCALE_G` g per LSB) sent
        when an alarm is raised and every ``raw_every_s``; 0 disables captures.
    raw_every_s : float
        Period of routine captures in node seconds (0: only on alarm raise).
    learn_baseline : (at_s, n_frames, k) or None
        Send the node BASELINE_LEARN START at node time ``at_s`` (docs/node.md, "Baseline learning"): it learns
        from the next ``n_frames`` analysed frames (threshold ``mean + k std``, 0: the node's default) and
        then scores with the learned baseline. Both engines do it (the C node through the command, the Python
        engine with :class:`vibsentry.nodes.baseline.BaselineLearner`, the same float32 arithmetic) and send
        the same BASELINE_PROGRESS frames.
    engine : {"auto", "c", "python"}
        Who computes the node's behaviour. ``"c"``: the firmware's own node core (``vs_node``, through
        :mod:`vibsentry.nodes.cnode`: trigger, framing, C features, INT8 model, alarm, captures), so SCORE and
        ALARM are bit for bit what a flashed node sends; needs a bundle, ``make`` and a C compiler.
        ``"python"``: the reference pipeline of this module. ``"auto"``: C when a bundle is given and the C
        node builds here, else Python.

    Attributes
    ----------
    signal : ndarray float32 or None
        The node's input in g (healthy, then the fault after ``fault_at_s``); kept only for raw captures.
    """

    def __init__(
        self,
        spec: NodeSpec,
        *,
        duration_s: float,
        bundle: Any = None,
        status_every_s: float = 10.0,
        features_every: int = 10,
        trigger_rms_g: float = 0.0,
        baseline_s: float = 10.0,
        raw_capture_s: float = 1.0,
        raw_every_s: float = 0.0,
        learn_baseline: tuple[float, int, float] | None = None,
        engine: str = "auto",
    ) -> None:
        from vibsentry.dsp import FeatureParams, extract_features
        from vibsentry.runtime.alarm import AlarmRule, AlarmState

        self.spec = spec
        self.engine = _pick_engine(engine, bundle)
        self._bundle = bundle
        self.params = bundle.params if bundle is not None else FeatureParams()
        p = self.params
        fs = float(p.sample_rate)
        n_total = int(duration_s * fs) + p.frame_length
        sig = self._looped(
            load_signal(spec.recording, sample_rate=fs, duration_s=duration_s, seed=spec.seed), n_total
        )
        if spec.fault_at_s is not None:
            src = spec.fault_recording or "synth:outer"
            cut = int(spec.fault_at_s * fs)
            if cut < n_total:
                fault = load_signal(
                    src, sample_rate=fs, duration_s=duration_s - spec.fault_at_s + 1.0, seed=spec.seed + 1
                )
                sig[cut:] = self._looped(fault, n_total - cut)
        feats = extract_features(sig, params=p)
        self.raw_capture_s = raw_capture_s
        self.raw_every_s = raw_every_s
        self.signal = sig if raw_capture_s > 0 else None
        self._c_signal = sig if self.engine == "c" else None
        self._samples = sig  # what REQUEST_RAW captures from
        self._inbox: deque[bytes] = deque()
        self._capture_id = 0
        self._last_t_us = 0
        names = list(p.feature_names)
        self._idx = {k: names.index(k) if k in names else None for k in ("rms", "peak", "velocity_rms_mm_s")}
        self._logmel = [i for i, n in enumerate(names) if n.startswith("logmel_")]
        if bundle is not None:
            scores = np.asarray(bundle.score_features(feats), dtype=np.float32)
            rule = bundle.alarm
            if rule is None:
                raise UsageError(f"bundle {bundle.path}: no alarm rule (classifier without a 'normal' class)")
        else:
            n_base = max(8, min(len(feats), int(baseline_s * p.frame_rate)))
            healthy_end = len(feats) if spec.fault_at_s is None else int(spec.fault_at_s * p.frame_rate)
            scorer = BaselineScorer().fit(feats[: max(8, min(n_base, healthy_end))])
            scores = scorer.score_samples(feats)
            rule = AlarmRule(scorer.threshold_, 0.8 * scorer.threshold_, 3, 5)
        self.rule = rule
        self._alarm = AlarmState(rule)
        self.features = feats
        self.scores = scores
        self.status_every_s = status_every_s
        self.features_every = features_every
        self.trigger_rms_g = trigger_rms_g
        self.learn_baseline = learn_baseline
        self._levels = hop_levels(sig, params=p, n_frames=len(feats)) if trigger_rms_g > 0 else None
        self.model_hash = (
            bytes.fromhex(bundle.meta["files"]["model.tflite"]) if bundle is not None else bytes(32)
        )
        self.seq = 0
        self.counters = {"analysed": 0, "skipped": 0, "tx": 0, "rx": 0, "rx_errors": 0}

    def deliver(self, frame: bytes) -> None:
        """Queue a host -> node wire frame (with its 0x00) received for this node; :meth:`messages` acts on it
        before the next frame it computes, at that frame's node time, and its answer (exactly one ACK or NACK,
        then e.g. RAW_CHUNKs) comes out in the stream. Thread-safe (a deque append)."""
        self._inbox.append(bytes(frame))

    @staticmethod
    def _looped(x: np.ndarray, n: int) -> np.ndarray:
        if x.size == 0:
            raise UsageError("recording has no samples")
        reps = -(-n // x.size)
        return np.tile(x, reps)[:n].copy()

    def _frame(self, msg: vp.Message, t_us: int) -> tuple[int, bytes]:
        # A node clock never runs backwards within a boot (the gateway would take that for a reboot).
        t_us = max(t_us, self._last_t_us)
        self._last_t_us = t_us
        out = vp.encode(msg, node_id=self.spec.node_id, seq=self.seq & 0xFFFFFFFF, timestamp_us=t_us)
        self.seq += 1
        self.counters["tx"] += 1
        return t_us, out

    def _hello(self, t_us: int) -> tuple[int, bytes]:
        return self._frame(
            vp.Hello(
                fw_version="sim-1.0",
                machine=self.spec.machine[:32],
                sample_rate_hz=float(self.params.sample_rate),
                feature_hash=bytes.fromhex(self.params.feature_hash),
                model_hash=self.model_hash,
                boot_counter=self.spec.boot_counter,
            ),
            t_us,
        )

    def _c_messages(self) -> Iterator[tuple[int, bytes]]:
        from vibsentry.nodes.cnode import build_node_library, stream_messages

        fs = float(self.params.sample_rate)
        signal = self.signal if self.signal is not None else self._c_signal
        assert signal is not None  # the C engine keeps the samples (set in __init__)
        yield from stream_messages(
            build_node_library(self._bundle),
            signal,
            node_id=self.spec.node_id,
            machine=self.spec.machine,
            rule=self.rule,
            boot_counter=self.spec.boot_counter,
            trigger_rms_g=self.trigger_rms_g,
            status_every_s=self.status_every_s,
            features_every=self.features_every,
            raw_capture_samples=int(self.raw_capture_s * fs),
            raw_every_s=self.raw_every_s,
            learn_baseline=self.learn_baseline,
            commands=self._inbox,
        )

    def _raw_capture(
        self, end_sample: int, t_us: int, *, n: int | None = None, capture_id: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """RAW_CHUNK frames of the ``n`` samples (default ``raw_capture_s`` seconds) ending at ``end_sample``,
        1 us apart in node time (distinct timestamps keep every chunk a distinct point in InfluxDB). Without
        ``capture_id`` the node numbers the capture itself."""
        sig = self.signal if self.signal is not None else self._samples
        if n is None:
            n = int(self.raw_capture_s * float(self.params.sample_rate))
        x = sig[max(0, end_sample - n) : end_sample]
        q = np.clip(np.round(x / RAW_SCALE_G), -32767, 32767).astype(np.int16)
        per = vp.MAX_SAMPLES_I16
        count = -(-q.size // per)
        if capture_id is None:
            self._capture_id += 1
            capture_id = self._capture_id
        for k in range(count):
            yield self._frame(
                vp.RawChunk(
                    capture_id=capture_id,
                    chunk_index=k,
                    chunk_count=count,
                    sample_rate_hz=float(self.params.sample_rate),
                    sample_format=int(vp.SampleFormat.INT16),
                    scale_g_per_lsb=RAW_SCALE_G,
                    samples=tuple(int(v) for v in q[k * per : (k + 1) * per]),
                ),
                t_us + 1 + k,
            )

    def _commands(self, st: _PyState, played: int, t_us: int) -> Iterator[tuple[int, bytes]]:
        """Serve the queued host commands at node time ``t_us`` with ``played`` samples heard so far (the
        Python engine's vs_node handle_command): exactly one ACK/NACK each, then what the command sends."""
        while self._inbox:
            try:
                f = vp.decode_frame(self._inbox.popleft()[:-1])
            except vp.ProtocolError:
                self.counters["rx_errors"] += 1
                continue
            h = f.header
            if h.node_id not in (self.spec.node_id, vp.BROADCAST_NODE):
                continue  # vs_node counts these as rx_foreign and does not answer
            self.counters["rx"] += 1
            typ = int(h.msg_type)
            after: list[tuple[int, bytes]] = []
            if st.last_cmd is not None and st.last_cmd[:2] == (typ, h.seq):
                reason = st.last_cmd[2]  # a retry: the answer was lost, the command was not
            else:
                reason, after = self._command(st, f.message, h.seq, played, t_us)
                st.last_cmd = (typ, h.seq, reason)
            reply = vp.Ack(typ, h.seq) if reason == 0 else vp.Nack(typ, h.seq, reason)
            yield self._frame(reply, t_us)
            yield from after

    def _command(
        self, st: _PyState, msg: vp.Message, seq: int, played: int, t_us: int
    ) -> tuple[int, list[tuple[int, bytes]]]:
        """One new command: (0 or the NACK reason, the frames that follow the ACK)."""
        from vibsentry.runtime.alarm import AlarmRule, AlarmState

        if isinstance(msg, vp.SetThreshold):
            thr, clr = float(np.float32(msg.threshold)), float(np.float32(msg.clear_threshold))
            if not (1 <= msg.k <= msg.n <= 32 and math.isfinite(thr) and math.isfinite(clr) and clr <= thr):
                return int(vp.NackReason.BAD_VALUE), []
            # docs/protocol.md: from the next frame; the alarm state and the newest min(count, n) scores stay
            old = st.alarm
            st.cfg = AlarmRule(thr, clr, msg.k, msg.n)
            st.rule = st.cfg
            if st.learner is not None and st.learner.have:  # vs_node keeps a learned baseline's thresholds
                st.rule = AlarmRule(
                    float(st.learner.threshold), float(st.learner.clear_threshold), msg.k, msg.n
                )
            st.alarm = AlarmState(st.rule)
            st.alarm._ring.extend(list(old._ring)[-msg.n :])
            st.alarm.state = old.state
            return 0, []
        if isinstance(msg, vp.RequestRaw):
            fs = float(self.params.sample_rate)
            if msg.sample_format != int(vp.SampleFormat.INT16):
                return int(vp.NackReason.UNSUPPORTED), []
            if msg.n_samples == 0:
                return int(vp.NackReason.BAD_VALUE), []
            if msg.n_samples > int(PY_RAW_LIMIT_S * fs):
                return int(vp.NackReason.TOO_LARGE), []
            n = min(msg.n_samples, played)
            if n == 0:
                return int(vp.NackReason.NOT_READY), []
            return 0, list(self._raw_capture(played, t_us, n=n, capture_id=msg.capture_id))
        if isinstance(msg, vp.BaselineLearn):
            from vibsentry.nodes.baseline import BaselineLearner

            if st.learner is None:
                st.learner = BaselineLearner(self.params.n_features, bytes.fromhex(self.params.feature_hash))
            lr = st.learner
            if msg.action == int(vp.BaselineAction.START):
                reason = lr.start(msg.n_frames, msg.threshold_k)
            elif msg.action == int(vp.BaselineAction.ABORT):
                reason = lr.abort()
            else:
                reason = lr.clear()
                if reason == 0:
                    st.rule, st.alarm = st.cfg, AlarmState(st.cfg)
            return reason, [self._frame(lr.progress(), t_us)] if reason == 0 else []
        # MODEL_* (no model slots in the Python engine), REPLAY_SAMPLES (it plays its own signal), node -> host types
        return int(vp.NackReason.UNSUPPORTED), []

    def messages(self) -> Iterator[tuple[int, bytes]]:
        """``(node_time_us, wire_frame)`` in time order: HELLO first, then frames as the signal plays."""
        if self.engine == "c":
            yield from self._c_messages()
            return
        p = self.params
        fs = float(p.sample_rate)
        yield self._hello(1000)
        next_status = self.status_every_s
        next_raw = self.raw_every_s if self.raw_every_s > 0 else float("inf")
        n_status = 0
        analysed = 0
        st = _PyState(cfg=self.rule, rule=self.rule, alarm=self._alarm)
        learn_at = float("inf")
        if self.learn_baseline is not None:
            from vibsentry.nodes.baseline import BaselineLearner

            st.learner = BaselineLearner(p.n_features, bytes.fromhex(p.feature_hash))
            learn_at = self.learn_baseline[0] * 1e6
        for i in range(len(self.scores)):
            t_us = round((i * p.hop_length + p.frame_length) / fs * 1e6) + 1000
            if self._inbox:  # host commands arrive between frames (an empty inbox changes nothing)
                yield from self._commands(st, (i - 1) * p.hop_length + p.frame_length, t_us)
            learner, rule, alarm = st.learner, st.rule, st.alarm
            while t_us >= next_status * 1e6:
                n_status += 1
                if n_status % 10 == 0:
                    yield self._hello(int(next_status * 1e6))
                    if learner is not None and learner.have and not learner.learning:
                        yield self._frame(learner.progress(), int(next_status * 1e6))
                c = self.counters
                yield self._frame(
                    vp.Status(
                        uptime_s=int(next_status),
                        frames_analysed=c["analysed"],
                        frames_skipped=c["skipped"],
                        tx_frames=c["tx"],
                        rx_frames=c["rx"],
                        rx_errors=c["rx_errors"],
                        alarm_state=alarm.state,
                    ),
                    int(next_status * 1e6),
                )
                if learner is not None and learner.learning:
                    yield self._frame(learner.progress(), int(next_status * 1e6))
                next_status += self.status_every_s
            if learner is not None and t_us >= learn_at:
                # the command arrives before the frame ending at t_us (as stream_messages sends it)
                learn_at = float("inf")
                assert self.learn_baseline is not None
                if learner.start(self.learn_baseline[1], self.learn_baseline[2]) == 0:
                    yield self._frame(learner.progress(), t_us)
            f = self.features[i]
            rms = float(f[self._idx["rms"]]) if self._idx["rms"] is not None else 0.0
            if self._levels is not None and not self._levels[i] > np.float32(self.trigger_rms_g):
                self.counters["skipped"] += 1
                continue
            self.counters["analysed"] += 1
            s = float(learner.score(f)) if learner is not None and learner.have else float(self.scores[i])
            event = alarm.step(s)
            ix = self._idx
            yield self._frame(
                vp.Score(
                    score=s,
                    threshold=rule.threshold,
                    alarm_state=alarm.state,
                    class_index=-1,
                    rms_g=rms,
                    peak_g=float(f[ix["peak"]]) if ix["peak"] is not None else 0.0,
                    velocity_rms_mm_s=float(f[ix["velocity_rms_mm_s"]])
                    if ix["velocity_rms_mm_s"] is not None
                    else 0.0,
                    frame_index=i,
                ),
                t_us,
            )
            if event:
                yield self._frame(
                    vp.Alarm(
                        event=event,
                        score=s,
                        threshold=rule.threshold,
                        clear_threshold=rule.clear_threshold,
                        k=rule.k,
                        n=rule.n,
                        frame_index=i,
                    ),
                    t_us,
                )
            analysed += 1
            if self.features_every and analysed % self.features_every == 0 and self._logmel:
                vals = tuple(float(v) for v in f[self._logmel][: vp.MAX_FEATURE_VALUES])
                yield self._frame(
                    vp.Features(kind=int(vp.FeatureKind.LOGMEL), frame_index=i, values=vals), t_us
                )
            if self.signal is not None and (event == vp.AlarmEvent.RAISE or t_us >= next_raw * 1e6):
                yield from self._raw_capture(i * p.hop_length + p.frame_length, t_us)
                while t_us >= next_raw * 1e6:
                    next_raw += self.raw_every_s
            if learner is not None and (learned := learner.step(f)) is not None:
                if learned == "done":  # the learned thresholds, the rule's k of n, the alarm from OK
                    from vibsentry.runtime.alarm import AlarmRule, AlarmState

                    thr, clear = float(learner.threshold), float(learner.clear_threshold)
                    st.rule = AlarmRule(thr, clear, rule.k, rule.n)
                    st.alarm = AlarmState(st.rule)
                yield self._frame(learner.progress(), t_us)
