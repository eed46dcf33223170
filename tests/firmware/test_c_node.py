"""vs_node (the firmware's node core, C) through ctypes, stage by stage against the independent references.

The node runs its own trigger, framing, C features, INT8 model and alarm rule. Each stage is checked against
the reference that does not share its code: ``vibsentry.dsp`` for the features (the tolerances of
``tests/support/cfeatures.py``), TFLite's reference kernels (``Bundle.score_features``) for the score of the
node's own features (bit for bit), ``vibsentry.runtime.alarm`` for the alarm events, the Python model of
``vs_trigger`` (``tests/firmware/test_c_trigger.py``) for which frames are analysed, and ``vibsentry.protocol`` for every
byte it sends. The unit tests of ``firmware_core/tests/test_node.c`` run here too, under ASan/UBSan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.cbuild import run_c_test
from vibsentry import protocol as vp

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = ROOT / "sample_data/synthetic/m1_normal_a.wav"
FAULTY = ROOT / "sample_data/synthetic/m1_outer_race_sev100.wav"


def _need_c() -> None:
    from vibsentry.nodes.cnode import c_node_available

    reason = c_node_available()
    if reason is not None:
        pytest.skip(f"the C node cannot be built here: {reason}")


class Rule:
    def __init__(self, threshold: float, clear_threshold: float, k: int, n: int) -> None:
        self.threshold, self.clear_threshold, self.k, self.n = threshold, clear_threshold, k, n


NEVER = Rule(1e30, 1e29, 1, 1)


def _decode(data: bytes) -> list[vp.Frame]:
    from vibsentry.nodes.cnode import split_frames

    return [vp.decode_frame(f) for f in split_frames(data)]


def _drive(node: Any, signal: np.ndarray, frame_length: int, hop: int) -> tuple[list[vp.Frame], list[Any]]:
    """Push the signal hop by hop (the first block completes the first frame); returns every frame sent and,
    per analysed frame, the node's feature vector."""
    frames: list[vp.Frame] = []
    feats: list[Any] = []
    bounds = [frame_length, *range(frame_length + hop, signal.size + 1, hop)]
    start, analysed = 0, 0
    for end in bounds:
        t_us = round(end / 12000.0 * 1e6)
        frames += _decode(node.push(signal[start:end], t_us))
        start = end
        if node.counter("analysed") > analysed:
            analysed = node.counter("analysed")
            feats.append(node.last_features)
    return frames, feats


def test_c_unit_tests_under_sanitizers() -> None:
    assert "0 failures" in run_c_test("test_node").stdout
    assert "0 failures" in run_c_test("test_ring").stdout  # includes a two-thread producer/consumer run


def test_ring_two_threads_under_thread_sanitizer(tmp_path: Path) -> None:
    """The SPSC ring's hand-over (producer thread = ISR, consumer = main loop) has no data race as the C memory
    model defines one (acquire/release on the indices)."""
    import shutil
    import subprocess

    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("gcc not found")
    fw = ROOT / "firmware_core"
    exe = tmp_path / "test_ring_tsan"
    build = subprocess.run([cc, "-std=c99", "-O1", "-g", "-fsanitize=thread", f"-I{fw / 'include'}",
                            f"-I{fw / 'tests'}", str(fw / "tests" / "test_ring.c"), str(fw / "src" / "vs_ring.c"),
                            "-o", str(exe)], capture_output=True, text=True, check=False)  # fmt: skip
    if build.returncode != 0:
        pytest.skip(f"no ThreadSanitizer runtime here: {build.stderr.strip()[-300:]}")
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0 and "0 failures" in run.stdout, run.stdout + run.stderr[-3000:]
    assert "ThreadSanitizer" not in run.stderr, run.stderr[-3000:]


@pytest.fixture(scope="module")
def default_lib() -> Any:
    _need_c()
    from vibsentry.nodes.cnode import build_node_library

    return build_node_library(None)


def test_trigger_decisions_match_the_model(default_lib: Any) -> None:
    """With a level trigger, heartbeat and hold-off the analysed frames are those the vs_trigger rules pick when
    each hop is one block (vs_node.h)."""
    from tests.firmware.test_c_trigger import TriggerModel
    from vibsentry.dsp.io import read_recording
    from vibsentry.nodes.cnode import CNode

    lib = default_lib
    n_len, hop = lib.frame_length, lib.hop_length
    x = read_recording(FAULTY).data[:, 0].astype(np.float32)[: 40 * hop + n_len]
    levels = np.array([np.std(x[i : i + hop]) for i in range(0, x.size - hop, hop)])
    rms_thr = float(np.quantile(levels, 0.7))
    node = CNode(lib, node_id=1, rule=NEVER, trigger_rms_g=rms_thr, heartbeat_frames=6, holdoff_frames=1,
                 status_period_ms=0, features_every=0, use_model=False)  # fmt: skip
    node.start(0)
    frames, _ = _drive(node, x, n_len, hop)
    got = [f.message.frame_index for f in frames if isinstance(f.message, vp.Score)]
    model = TriggerModel(rms_thr, 0.0, heartbeat=6 * hop, holdoff=hop + 1, frame_length=n_len)
    want, idx = [], 0
    for end in [n_len, *range(n_len + hop, x.size + 1, hop)]:
        if model.push(x[end - (n_len if end == n_len else hop) : end]):
            want.append(idx)
        idx += 1
    assert 0 < len(got) < idx, "the thresholds must analyse some frames and skip others"
    assert got == want
    assert node.counter("frames") == idx
    assert node.counter("skipped") == idx - len(got)


def test_python_engine_triggers_like_the_c_node(default_lib: Any) -> None:
    """The Python node (``--engine python``) applies vs_trigger's level rule too: same analysed frames."""
    from vibsentry.nodes.cnode import CNode
    from vibsentry.nodes.virtual import NodeSpec, VirtualNode

    lib = default_lib
    vnode = VirtualNode(NodeSpec(1, "m", str(FAULTY)), duration_s=4.0, trigger_rms_g=0.0, raw_capture_s=0.1,
                        features_every=0, engine="python")  # fmt: skip
    assert vnode.signal is not None
    x = vnode.signal
    hop = lib.hop_length
    thr = float(np.quantile([np.std(x[i : i + hop]) for i in range(0, x.size - hop, hop)], 0.5))
    vnode = VirtualNode(NodeSpec(1, "m", str(FAULTY)), duration_s=4.0, trigger_rms_g=thr, raw_capture_s=0.1,
                        features_every=0, engine="python")  # fmt: skip
    py = [m.frame_index for _, f in vnode.messages() if isinstance(m := vp.decode_frame(f).message, vp.Score)]
    node = CNode(lib, node_id=1, rule=NEVER, trigger_rms_g=thr, heartbeat_frames=0, status_period_ms=0,
                 features_every=0, use_model=False)  # fmt: skip
    node.start(0)
    frames, _ = _drive(node, x, lib.frame_length, hop)
    c = [f.message.frame_index for f in frames if isinstance(f.message, vp.Score)]
    assert 0 < len(c) < node.counter("frames")
    assert py == c


def test_reboot_keeps_the_boot_record(default_lib: Any) -> None:
    """A CNode on the same host-fake bank is the same chip rebooted: boot counter and watchdog resets count
    on, the reset reason reaches HELLO and HEALTH, and the frame counter starts again at 0."""
    from vibsentry.nodes.cnode import RESET_WATCHDOG, CNode

    first = CNode(default_lib, node_id=2, rule=NEVER, status_period_ms=1000, boot_counter=7, use_model=False)
    hello = _decode(first.start(0))[0]
    assert isinstance(hello.message, vp.Hello) and hello.message.boot_counter == 7 and hello.header.seq == 0
    again = CNode(default_lib, node_id=2, rule=NEVER, status_period_ms=1000, bank=first.bank,
                  reset_reason=RESET_WATCHDOG, use_model=False)  # fmt: skip
    out = _decode(again.start(0)) + _decode(again.poll(1_000_000))
    msgs = [f.message for f in out]
    assert isinstance(msgs[0], vp.Hello) and out[0].header.seq == 0
    assert (msgs[0].boot_counter, msgs[0].reset_reason) == (8, RESET_WATCHDOG)
    health = [m for m in msgs if isinstance(m, vp.Health)]
    assert [type(m) for m in msgs[1:]] == [vp.Status, vp.Health]
    assert (health[0].boot_counter, health[0].watchdog_resets) == (8, 1)


def test_commands_from_the_python_codec(default_lib: Any) -> None:
    """Host commands encoded by vibsentry.protocol: exactly one ACK/NACK each (with the command's type and seq);
    junk on the line is counted and the node keeps streaming."""
    from vibsentry.nodes.cnode import CNode

    lib = default_lib
    node = CNode(lib, node_id=9, rule=NEVER, status_period_ms=0, features_every=0, use_model=False)
    node.start(0)
    rate = lib.sample_rate
    x = (0.3 * np.sin(np.arange(6 * lib.frame_length) * 0.05)).astype(np.float32)
    cmds = [
        (vp.SetThreshold(2.0, 1.0, 2, 3), vp.Ack),
        (vp.SetThreshold(1.0, 2.0, 2, 3), vp.Nack),
        (vp.RequestRaw(3, 10**6, int(vp.SampleFormat.INT16)), vp.Nack),
        (vp.ReplaySamples(0, rate, int(vp.SampleFormat.INT16), 1e-3, tuple(range(500))), vp.Ack),
        (vp.ReplaySamples(1, rate, int(vp.SampleFormat.FLOAT32), 1.0, tuple(x[:250].tolist())), vp.Ack),
        (vp.ReplaySamples(7, rate, int(vp.SampleFormat.FLOAT32), 1.0, tuple(x[:250].tolist())), vp.Nack),
        (vp.ReplaySamples(8, rate / 2, int(vp.SampleFormat.FLOAT32), 1.0, (0.0,)), vp.Nack),
        (vp.ModelBegin(100, bytes(32), 10), vp.Nack),
        (vp.RequestRaw(4, 200, int(vp.SampleFormat.INT16)), vp.Ack),
    ]
    sent: list[vp.Frame] = []
    for seq, (cmd, want) in enumerate(cmds, start=100):
        out = _decode(node.rx(vp.encode(cmd, node_id=9, seq=seq, timestamp_us=0), 1000))
        sent += out
        replies = [f.message for f in out if isinstance(f.message, vp.Ack | vp.Nack)]
        assert len(replies) == 1, (cmd, replies)
        assert isinstance(replies[0], want), (cmd, replies[0])
        assert (replies[0].acked_type, replies[0].acked_seq) == (int(cmd.TYPE), seq)
    raw = [f.message for f in sent + _decode(node.poll(2000)) if isinstance(f.message, vp.RawChunk)]
    seqs = [f.header.seq for f in sent]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the node's frame counter has no gaps"
    assert [(r.capture_id, r.chunk_index, len(r.samples)) for r in raw] == [(4, 0, 200)]
    assert node.counter("nacks.4") == 1  # OUT_OF_ORDER
    assert node.counter("replay_gaps") == 1
    rng = np.random.default_rng(5)
    junk = rng.integers(0, 256, 20000, dtype=np.uint8).tobytes()
    good = vp.encode(vp.SetThreshold(3.0, 1.0, 1, 1), node_id=9, seq=500, timestamp_us=0)
    out = _decode(node.rx(junk + b"\0" + good[: len(good) // 2] + b"\0" + good, 3000))
    assert [type(f.message) for f in out] == [vp.Ack]
    assert node.counter("rx_errors") >= 2
    block = vp.ReplaySamples(9, rate, int(vp.SampleFormat.FLOAT32), 1.0, tuple(x[:250].tolist()))
    scores = 0
    for k in range(4 * lib.frame_length // 250):
        b = vp.ReplaySamples(9 + k, block.sample_rate_hz, block.sample_format, 1.0,
                             tuple(x[k * 250 : (k + 1) * 250].tolist()))  # fmt: skip
        out = _decode(node.rx(vp.encode(b, node_id=9, seq=600 + k, timestamp_us=0), 4000 + k))
        scores += sum(isinstance(f.message, vp.Score) for f in out)
    assert scores >= 2


@pytest.fixture(scope="module")
def bundle() -> Any:
    pytest.importorskip("tensorflow", reason="training the demo bundle needs the train extra")
    _need_c()
    from tests.support.dashboard import demo_bundle_dir
    from vibsentry.runtime.bundle import load_bundle

    return load_bundle(demo_bundle_dir())


@pytest.mark.slow
@pytest.mark.needs_tf
def test_stage_by_stage_against_the_references(bundle: Any) -> None:
    from tests.support.cfeatures import assert_parity
    from vibsentry.dsp import extract_features
    from vibsentry.dsp.features import frame_signal
    from vibsentry.nodes.cnode import CNode, build_node_library
    from vibsentry.nodes.virtual import load_signal
    from vibsentry.runtime.alarm import AlarmState

    lib = build_node_library(bundle)
    p = bundle.params
    fs = int(p.sample_rate)
    healthy = load_signal(str(HEALTHY), sample_rate=fs, duration_s=8.0)[: 8 * fs]
    faulty = load_signal(str(FAULTY), sample_rate=fs, duration_s=8.0)[: 8 * fs]
    sig = np.concatenate([healthy, faulty]).astype(np.float32)
    node = CNode(lib, node_id=3, rule=bundle.alarm, machine="pump-3", status_period_ms=0, features_every=0,
                 raw_capture_samples=1000)  # fmt: skip
    hello = _decode(node.start(0))[0].message
    assert isinstance(hello, vp.Hello)
    assert hello.feature_hash.hex() == bundle.feature_hash
    assert hello.model_hash.hex() == bundle.meta["files"]["model.tflite"]
    frames, feats = _drive(node, sig, p.frame_length, p.hop_length)
    for _ in range(4):  # the rest of a raw capture
        frames += _decode(node.poll(10**9))
    msgs = [f.message for f in frames]
    scores = [m for m in msgs if isinstance(m, vp.Score)]
    n_frames = (sig.size - p.frame_length) // p.hop_length + 1
    assert [s.frame_index for s in scores] == list(range(n_frames))
    c_feats = np.asarray(feats, dtype=np.float32)

    # 1. features: the C features against vibsentry.dsp within the stated tolerances
    ref_feats = extract_features(sig, params=p)
    assert_parity(c_feats, ref_feats, np.asarray(frame_signal(sig, params=p)), p)

    # 2. model: the node's score of its own features is what TFLite's reference kernels give, bit for bit
    got = np.asarray([s.score for s in scores], dtype=np.float32)
    want = bundle.score_features(c_feats)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    names = list(p.feature_names)
    assert [s.rms_g for s in scores] == c_feats[:, names.index("rms")].tolist()
    assert [s.velocity_rms_mm_s for s in scores] == c_feats[:, names.index("velocity_rms_mm_s")].tolist()
    # ...and agrees with the all-Python pipeline (reference features) on nearly every frame
    py_scores = bundle.score_features(ref_feats)
    assert np.mean(py_scores == got) > 0.9
    np.testing.assert_allclose(got, py_scores, rtol=0.05, atol=1e-3)

    # 3. alarm rule: the Python rule stepped over the node's scores gives the node's ALARM events
    state = AlarmState(bundle.alarm)
    want_events = [(i, e) for i, s in enumerate(got) if (e := state.step(float(s)))]
    alarms = [m for m in msgs if isinstance(m, vp.Alarm)]
    assert [(a.frame_index, a.event) for a in alarms] == want_events
    assert alarms and alarms[0].event == vp.AlarmEvent.RAISE
    assert alarms[0].frame_index >= 8 * fs // p.hop_length - 1, "the healthy recording must not raise"
    for a in alarms:
        assert (a.threshold, a.clear_threshold, a.k, a.n) == (
            np.float32(bundle.alarm.threshold),
            np.float32(bundle.alarm.clear_threshold),
            bundle.alarm.k,
            bundle.alarm.n,
        )

    # 4. raw capture at the raise: the last 1000 samples of the raising frame, int16 at 16 g full scale
    chunks = [m for m in msgs if isinstance(m, vp.RawChunk) and m.capture_id == 1]
    assert [c.chunk_index for c in chunks] == [0, 1] and chunks[0].chunk_count == 2
    end = alarms[0].frame_index * p.hop_length + p.frame_length
    q = np.asarray(chunks[0].samples + chunks[1].samples, dtype=np.float64) * chunks[0].scale_g_per_lsb
    np.testing.assert_allclose(q, sig[end - 1000 : end], atol=chunks[0].scale_g_per_lsb)


@pytest.mark.slow
@pytest.mark.needs_tf
def test_simulate_runs_the_c_node(bundle: Any) -> None:
    """``vibsentry simulate``'s VirtualNode with a bundle sends, byte for byte, the SCORE and ALARM payloads of the
    C node driven directly with the same samples (it is the same code: vs_node through ctypes)."""
    from vibsentry.nodes.cnode import CNode, build_node_library
    from vibsentry.nodes.virtual import NodeSpec, VirtualNode

    spec = NodeSpec(4, "fan-4", str(HEALTHY), fault_recording=str(FAULTY), fault_at_s=6.0, seed=3)
    vnode = VirtualNode(spec, duration_s=12.0, bundle=bundle, features_every=5, raw_capture_s=0.1)
    assert vnode.engine == "c" and vnode.signal is not None
    frames = [vp.decode_frame(f) for _, f in vnode.messages()]
    hello = frames[0].message
    assert isinstance(hello, vp.Hello) and hello.fw_version == "vs_node-sim"

    lib = build_node_library(bundle)
    node = CNode(lib, node_id=4, rule=bundle.alarm, status_period_ms=0, features_every=0)
    node.start(0)
    direct, _ = _drive(node, vnode.signal, bundle.params.frame_length, bundle.params.hop_length)

    def payloads(fr: list[vp.Frame]) -> list[vp.Message]:
        return [f.message for f in fr if isinstance(f.message, vp.Score | vp.Alarm)]

    sim = payloads(frames)
    assert any(isinstance(m, vp.Alarm) for m in sim)
    assert sim == payloads(direct)[: len(sim)] and len(sim) >= len(payloads(direct)) - 2
    # simulate's routine bookkeeping frames come from the node too
    kinds = {type(f.message) for f in frames}
    assert {vp.Status, vp.Health, vp.Features, vp.RawChunk} <= kinds
