"""``vibsentry simulate``: virtual nodes speak the protocol, mirror the reference pipeline, and fault on cue."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.support.ingest import rows, start_gateway, stop_gateway, wait_for
from vibsentry import protocol as vp
from vibsentry.dsp import FeatureParams, extract_features
from vibsentry.errors import UsageError
from vibsentry.nodes.simulator import Simulator
from vibsentry.nodes.virtual import NodeSpec, VirtualNode, load_signal

HEALTHY = "sample_data/synthetic/m1_normal_a.wav"
FAULTY = "sample_data/synthetic/m1_outer_race_sev100.wav"


@pytest.fixture(scope="module")
def faulty_node(repo_root):
    spec = NodeSpec(
        node_id=9,
        machine="pump-9",
        recording=str(repo_root / HEALTHY),
        fault_recording=str(repo_root / FAULTY),
        fault_at_s=12.0,
    )
    node = VirtualNode(spec, duration_s=24.0, status_every_s=5.0, features_every=10)
    frames = [vp.decode_frame(f) for _, f in node.messages()]
    return node, frames


def test_stream_starts_with_hello_and_numbers_every_frame(faulty_node):
    _, frames = faulty_node
    first = frames[0]
    assert isinstance(first.message, vp.Hello)
    assert first.message.feature_hash.hex() == FeatureParams().feature_hash
    assert first.message.machine == "pump-9"
    assert [f.header.seq for f in frames] == list(range(len(frames)))
    times = [f.header.timestamp_us for f in frames]
    assert times == sorted(times)
    assert {f.header.node_id for f in frames} == {9}
    statuses = [f for f in frames if isinstance(f.message, vp.Status)]
    assert [s.message.uptime_s for s in statuses] == [5, 10, 15, 20]


def test_scores_features_and_alarm_follow_the_reference_pipeline(faulty_node, repo_root):
    node, frames = faulty_node
    p = FeatureParams()
    scores = [f for f in frames if isinstance(f.message, vp.Score)]
    n_frames = (int(24.0 * p.sample_rate) + p.frame_length - p.frame_length) // p.hop_length + 1
    assert len(scores) == n_frames
    # FEATURES carry the log-mel values of the reference pipeline for that very frame.
    sig = load_signal(str(repo_root / HEALTHY), sample_rate=p.sample_rate, duration_s=24.0)
    ref = extract_features(np.tile(sig, 3)[: 12 * 12000], params=p)
    feats = [f.message for f in frames if isinstance(f.message, vp.Features)]
    early = [m for m in feats if m.frame_index < ref.shape[0] - 1]
    assert early and all(m.kind == vp.FeatureKind.LOGMEL and len(m.values) == 32 for m in feats)
    for m in early:
        np.testing.assert_allclose(m.values, ref[m.frame_index, :32], rtol=1e-6, atol=1e-6)
    # Healthy first half: no alarm; the injected outer-race fault raises one within a second.
    alarms = [f.message for f in frames if isinstance(f.message, vp.Alarm)]
    raises = [a for a in alarms if a.event == vp.AlarmEvent.RAISE]
    assert raises, "the injected fault must raise an alarm"
    fault_frame = int(12.0 * p.sample_rate) // p.hop_length
    assert all(a.frame_index >= fault_frame - 1 for a in alarms)
    assert raises[0].frame_index <= fault_frame + int(p.frame_rate)
    ok_scores = [s.message.score for s in scores if s.message.frame_index < fault_frame - 1]
    assert max(ok_scores) <= node.rule.threshold * 1.5
    assert all(s.message.alarm_state == 1 for s in scores if s.message.frame_index > raises[0].frame_index)


def test_alarm_raise_sends_a_raw_capture_of_the_signal_that_raised_it(faulty_node):
    node, frames = faulty_node
    p = FeatureParams()
    raise_at = next(i for i, f in enumerate(frames) if isinstance(f.message, vp.Alarm))
    chunks = [f for f in frames[raise_at:] if isinstance(f.message, vp.RawChunk)]
    assert len(chunks) == 24 and [c.message.chunk_index for c in chunks] == list(range(24))
    assert {c.message.capture_id for c in chunks} == {1} and {c.message.chunk_count for c in chunks} == {24}
    times = [c.header.timestamp_us for c in chunks]
    assert len(set(times)) == 24 and times == sorted(times)
    got = np.concatenate(
        [np.asarray(c.message.samples, np.float32) * c.message.scale_g_per_lsb for c in chunks]
    )
    frame = frames[raise_at].message.frame_index
    end = frame * p.hop_length + p.frame_length
    assert node.signal is not None and end > int(12.0 * p.sample_rate)  # the capture ends inside the fault
    np.testing.assert_allclose(got, node.signal[end - 12000 : end], atol=0.5 * 16.0 / 32767)


def test_several_nodes_interleave_in_node_time_and_round_robin_over_ports(repo_root):
    class Port:
        def __init__(self) -> None:
            self.frames: list[vp.Frame] = []

        def write(self, data: bytes) -> None:
            self.frames += vp.Decoder().feed(data)

    nodes = [
        VirtualNode(NodeSpec(i, f"m{i}", str(repo_root / HEALTHY), seed=i), duration_s=3.0) for i in (1, 2, 3)
    ]
    ports = [Port(), Port()]
    sent = Simulator(nodes, ports, speed=float("inf")).run()
    assert sent == sum(len(p.frames) for p in ports)
    assert {f.header.node_id for f in ports[0].frames} == {1, 3}
    assert {f.header.node_id for f in ports[1].frames} == {2}
    # Different seeds start at different places in the shared recording.
    s1 = [
        f.message.score for f in ports[0].frames if f.header.node_id == 1 and isinstance(f.message, vp.Score)
    ]
    s3 = [
        f.message.score for f in ports[0].frames if f.header.node_id == 3 and isinstance(f.message, vp.Score)
    ]
    assert s1 != s3


def test_bad_sources_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="'synth:rust'"):
        load_signal("synth:rust", sample_rate=12000.0, duration_s=1.0)
    import soundfile as sf

    sf.write(tmp_path / "8k.wav", np.zeros(8000, dtype=np.float32), 8000, subtype="FLOAT")
    with pytest.raises(UsageError, match="8000 Hz"):
        load_signal(str(tmp_path / "8k.wav"), sample_rate=12000.0, duration_s=1.0)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vibsentry", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_argument_errors_exit_2_with_one_line():
    r = _cli("simulate", "--duration", "5")
    assert r.returncode == 2 and "--port" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _cli("simulate", "--port", "loop://", "--inject-fault-at", "3", "--fault-nodes", "7")
    assert r.returncode == 2 and "'7'" in r.stderr
    r = _cli("ingest")
    assert r.returncode == 2 and "--port" in r.stderr
    r = _cli("ingest", "--port", "loop://", "--machine", "pump")
    assert r.returncode == 2 and "'pump'" in r.stderr
    r = _cli("ingest", "--port", "loop://", "--store", "postgres://x")
    assert r.returncode == 2 and "'postgres://x'" in r.stderr


def test_simulate_over_a_pty_into_ingest_end_to_end(tmp_path, repo_root):
    link = tmp_path / "pty"
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vibsentry",
            "simulate",
            "--create-pty",
            str(link),
            "--nodes",
            "2",
            "--recording",
            str(repo_root / HEALTHY),
            "--fault-recording",
            str(repo_root / FAULTY),
            "--inject-fault-at",
            "8",
            "--fault-nodes",
            "2",
            "--duration",
            "16",
            "--speed",
            "8",
            "--status-every",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    gw = None
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        assert line.startswith("pty /dev/pts/") and str(link) in line
        gw = start_gateway([str(link)], data, "--machine", "1=feed-pump")
        assert sim.wait(60) == 0, sim.stderr.read() if sim.stderr else ""
        n_scores = 2 * ((16 * 12000) // 1024 + 1)
        wait_for(lambda: rows(db, "SELECT count(*) FROM scores") == [(n_scores,)], what=f"{n_scores} scores")
        assert rows(db, "SELECT node, machine FROM nodes ORDER BY node") == [
            (1, "feed-pump"),
            (2, "machine-2"),
        ]
        assert rows(db, "SELECT DISTINCT node FROM alarms") == [(2,)]
        assert rows(db, "SELECT count(*) FROM status WHERE kind = 'status'") == [(8,)]
        assert rows(db, "SELECT DISTINCT n FROM features") == [(32,)]
        assert rows(db, "SELECT node, count(*), sum(length(data)) FROM raw_chunks GROUP BY node") == [
            (2, 24, 24000)
        ]
        assert stop_gateway(gw) == 0
        r = _cli("ingest", "--status", "--data-dir", str(data))
        assert r.returncode == 0 and "node 2 (machine-2)" in r.stdout and "gaps 0" in r.stdout
    finally:
        sim.kill()
        if gw is not None:
            stop_gateway(gw)
