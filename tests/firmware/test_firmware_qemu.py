"""The node firmware end to end, emulated: firmware_stm32 on QEMU netduinoplus2 and firmware_rv32 on QEMU virt,
fed recorded samples (REPLAY_SAMPLES) by the replayer, their UART output carried over real ptys into the real
``vibsentry ingest`` and its SQLite store.

One fleet run (module fixture, four QEMU processes in parallel) backs the end-to-end assertions:

* node 11 (STM32) healthy recording, reset with ``system_reset`` mid-stream; node 12 (STM32) outer-race fault;
* node 21 (RV32) healthy; node 22 (RV32) outer-race fault.

Expected values come from ``vibsentry simulate``'s node (``VirtualNode`` with the same bundle, which runs the
firmware's vs_node on this machine) on the very same samples: the recordings are first rounded to an int16 grid
(what an accelerometer delivers), so the replayer sends int16 counts whose ``count * scale`` is exact.
"""

from __future__ import annotations

import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.support.ingest import rows, start_gateway, stop_gateway, wait_for
from vibsentry import protocol as vp

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = ROOT / "sample_data" / "synthetic" / "m1_normal_c.wav"
FAULTY = ROOT / "sample_data" / "synthetic" / "m1_outer_race_sev050.wav"
N_SAMPLES = 24 * 1024  # 24 frames of the default FeatureParams (2.05 s at 12 kHz)


def _qemu():
    from vibsentry.nodes import qemu

    for t in (qemu.STM32, qemu.RV32):
        reason = qemu.missing_tools(t)
        if reason:
            pytest.skip(reason)
    return qemu


@pytest.fixture(scope="module")
def bundle_dir() -> Path:
    from tests.support.dashboard import demo_bundle_dir

    return demo_bundle_dir()


@pytest.fixture(scope="module")
def images(bundle_dir: Path) -> dict[str, Path]:
    """Both firmware images built with the bundle's model (make; cached between runs by make itself)."""
    qemu = _qemu()
    return {t.name: qemu.build_image(t, bundle=bundle_dir) for t in (qemu.STM32, qemu.RV32)}


def _grid_recording(src: Path, dest: Path) -> Path:
    """``src``'s first N_SAMPLES rounded to an int16 power-of-two grid, written as a float32 WAV."""
    from scipy.io import wavfile

    from vibsentry.dsp.io import read_recording
    from vibsentry.nodes.qemu import quantize_int16

    x, _scale = quantize_int16(read_recording(src).data[:N_SAMPLES, 0])
    wavfile.write(dest, 12000, x)
    return dest


def _simulated(recording: Path, bundle_dir: Path, node_id: int) -> tuple[np.ndarray, list[vp.Message], list]:
    """(signal, SCOREs, ALARMs) of ``vibsentry simulate``'s node for ``recording`` with the bundle."""
    from vibsentry.nodes.virtual import NodeSpec, VirtualNode
    from vibsentry.runtime.bundle import load_bundle

    bundle = load_bundle(bundle_dir)
    fs, frame = float(bundle.params.sample_rate), bundle.params.frame_length
    node = VirtualNode(
        NodeSpec(node_id=node_id, machine="pump", recording=str(recording)),
        duration_s=(N_SAMPLES - frame + 0.5) / fs,
        bundle=bundle,
        engine="c",
    )
    msgs = [vp.decode_frame(f).message for _t, f in node.messages()]
    assert node.signal is not None and node.signal.size == N_SAMPLES
    return (
        node.signal,
        [m for m in msgs if isinstance(m, vp.Score)],
        [m for m in msgs if isinstance(m, vp.Alarm)],
    )


NODES = {  # node id: (target, recording, reset mid-stream)
    11: ("stm32", "healthy", True),
    12: ("stm32", "faulty", False),
    21: ("rv32", "healthy", False),
    22: ("rv32", "faulty", False),
}


@pytest.fixture(scope="module")
def fleet(images: dict[str, Path], bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the four emulated nodes into one gateway; returns what the tests check."""
    qemu = _qemu()
    from vibsentry.nodes.ports import PtyPort
    from vibsentry.runtime.bundle import load_bundle

    tmp = tmp_path_factory.mktemp("fleet")
    rec = {
        "healthy": _grid_recording(HEALTHY, tmp / "healthy.wav"),
        "faulty": _grid_recording(FAULTY, tmp / "faulty.wav"),
    }
    params = load_bundle(bundle_dir).params
    expected = {nid: _simulated(rec[kind], bundle_dir, nid) for nid, (_t, kind, _r) in NODES.items()}
    ports = {nid: PtyPort(tmp / f"pty-{nid}") for nid in NODES}
    nodes = {}
    data = tmp / "gateway"
    data.mkdir()
    gw = start_gateway([p.name for p in ports.values()], data, "--bundle", str(bundle_dir))
    errors: list[BaseException] = []
    stats = {}

    def run(nid: int) -> None:
        target, _kind, reset = NODES[nid]
        t = qemu.TARGETS[target]
        try:
            elf = qemu.provision(
                images[target], tmp / f"node{nid}.elf", qemu.NodeIdent(nid, "pump"), target=t
            )
            node = nodes[nid] = qemu.QemuNode(
                elf, target=t, workdir=tmp / f"q{nid}", on_bytes=ports[nid].write
            )
            node.start()
            assert node.wait_for(lambda fr: len(fr) > 0, 30), "no HELLO"
            signal = expected[nid][0]
            rp = qemu.Replayer(
                node, signal, sample_rate=params.sample_rate, frame_length=params.frame_length,
                hop_length=params.hop_length,
            )  # fmt: skip
            done = {"reset": not reset}

            def maybe_reset(pos: int) -> None:
                if not done["reset"] and pos >= N_SAMPLES // 2:
                    done["reset"] = True
                    node.reset()

            stats[nid] = rp.run(on_block=maybe_reset)
            rp.barrier()
        except BaseException as exc:  # reported by the test, not swallowed by the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(nid,)) for nid in NODES]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join(240)
        if errors:
            raise errors[0]
        db = data / "vibsentry.sqlite"
        want = sum(len(expected[n][1]) for n in NODES)
        for p in ports.values():
            p.drain(30)
        wait_for(lambda: rows(db, "SELECT count(*) FROM scores") == [(want,)], 60, f"{want} scores")
        assert stop_gateway(gw) == 0
        return {
            "db": db,
            "expected": expected,
            "frames": {nid: list(n.frames) for nid, n in nodes.items()},
            "stats": stats,
            "data": data,
        }
    finally:
        stop_gateway(gw)
        for n in nodes.values():
            n.stop()
        for p in ports.values():
            p.close()


def _bits(values) -> list[int]:
    return [struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in values]


def test_every_stored_score_equals_simulate_bit_for_bit(fleet: dict) -> None:
    for nid in NODES:
        stored = [
            r[0] for r in rows(fleet["db"], "SELECT score FROM scores WHERE node = ? ORDER BY ts_ns", (nid,))
        ]
        want = [m.score for m in fleet["expected"][nid][1]]
        assert len(stored) == len(want) > 20, nid
        assert _bits(stored) == _bits(want), f"node {nid}: stored SCOREs differ from vibsentry simulate"


def test_only_the_faulty_recording_raises_an_alarm(fleet: dict) -> None:
    raised = rows(fleet["db"], "SELECT DISTINCT node FROM alarms WHERE event = 1 ORDER BY node")
    assert raised == [(12,), (22,)]
    for nid in (12, 22):
        sim = [(a.event, a.frame_index) for a in fleet["expected"][nid][2]]
        got = [
            (f.message.event, f.message.frame_index)
            for f in fleet["frames"][nid]
            if isinstance(f.message, vp.Alarm)
        ]
        assert got == sim and sim, nid


def test_reset_node_is_a_reboot_with_nothing_lost_or_duplicated(fleet: dict) -> None:
    from vibsentry.nodes.qemu import boot_segments

    frames = fleet["frames"][11]
    boots = boot_segments(frames)
    assert [b for _i, b in boots] == [1, 2]  # boot counter kept across the reset (reset-surviving RAM)
    assert fleet["stats"][11].reboots == 1
    # Per boot, frame indices run 0, 1, 2, ... without a gap; together they are simulate's frames, once each.
    per_boot = [
        [f.message.frame_index for f in frames[a:b] if isinstance(f.message, vp.Score)]
        for (a, _), (b, _) in zip(boots, [*boots[1:], (len(frames), 0)], strict=True)
    ]
    assert all(idx == list(range(len(idx))) for idx in per_boot) and all(per_boot)
    assert sum(len(i) for i in per_boot) == len(fleet["expected"][11][1])
    keys = rows(fleet["db"], "SELECT count(*), count(DISTINCT ts_ns) FROM scores WHERE node = 11")
    assert keys[0][0] == keys[0][1] == len(fleet["expected"][11][1])


def test_dashboard_tiles_get_the_firmware_version(fleet: dict) -> None:
    versions = dict(rows(fleet["db"], "SELECT node, fw_version FROM nodes"))
    assert versions[11].startswith("stm32f405-") and versions[12].startswith("stm32f405-")
    assert versions[21].startswith("rv32imc-") and versions[22].startswith("rv32imc-")
    assert not any(v == "sim-1.0" for v in versions.values())


def test_alarm_capture_streams_past_the_raw_ring(fleet: dict, bundle_dir: Path) -> None:
    """The firmware's alarm capture is 1 s (RAW_CAPTURE = 12,000 samples), six times its 2,048-sample raw ring:
    the ring's samples, then the ones replayed after the raise, streamed - all of them, in order, stored whole
    by the gateway (what diagnosis needs: 0.17 s cannot resolve the defect lines at 1797 rpm)."""
    from vibsentry.nodes.cnode import build_node_library
    from vibsentry.runtime.bundle import load_bundle

    bundle = load_bundle(bundle_dir)
    p, ring = bundle.params, build_node_library(bundle).raw_capacity  # the firmware's VS_NODE_RAW_CAPACITY
    for nid in (12, 22):
        frames = fleet["frames"][nid]
        raise_frame = next(
            f.message.frame_index
            for f in frames
            if isinstance(f.message, vp.Alarm) and f.message.event == vp.AlarmEvent.RAISE
        )
        chunks = [
            f.message for f in frames if isinstance(f.message, vp.RawChunk) and f.message.capture_id == 1
        ]
        assert [c.chunk_index for c in chunks] == list(range(24)) and {c.chunk_count for c in chunks} == {
            24
        }, nid
        got = (
            np.concatenate([np.asarray(c.samples, dtype=np.float64) for c in chunks])
            * chunks[0].scale_g_per_lsb
        )
        end = raise_frame * p.hop_length + p.frame_length  # samples the node had when it raised
        start = end - min(end, ring)
        signal = fleet["expected"][nid][0]
        assert got.size == 12000 and start + 12000 <= signal.size, (nid, got.size, start)
        np.testing.assert_allclose(got, signal[start : start + 12000], atol=chunks[0].scale_g_per_lsb * 0.51)
        stored = rows(
            fleet["db"],
            "SELECT count(*), sum(length(data)) / 2 FROM raw_chunks WHERE node = ? AND capture_id = 1",
            (nid,),
        )
        assert stored == [(24, 12000)], (nid, stored)
