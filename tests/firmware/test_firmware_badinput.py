"""Bad input over the emulated UART of both firmware nodes (STM32 on netduinoplus2, RV32 on virt).

Random bytes, a truncated frame, an oversized frame, commands with out-of-range fields and a REPLAY_SAMPLES gap
are each dropped (decoder error, counted in STATUS rx_errors) or NACKed with the documented reason, and the node
keeps analysing the samples that follow.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from vibsentry import protocol as vp


def _qemu(target: str):
    from vibsentry.nodes import qemu

    t = qemu.TARGETS[target]
    reason = qemu.missing_tools(t)
    if reason:
        pytest.skip(reason)
    return qemu, t


@pytest.fixture(scope="module")
def bundle_dir() -> Path:
    from tests.support.dashboard import demo_bundle_dir

    return demo_bundle_dir()


def _answers(node, seq: int) -> list[vp.Message]:
    return [
        f.message
        for f in node.frames
        if isinstance(f.message, (vp.Ack, vp.Nack)) and f.message.acked_seq == seq
    ]


@pytest.mark.parametrize("target", ["stm32", "rv32"])
def test_bad_input_is_dropped_or_nacked_and_streaming_continues(
    target: str, bundle_dir: Path, tmp_path: Path
) -> None:
    qemu, t = _qemu(target)
    from vibsentry.runtime.bundle import load_bundle

    params = load_bundle(bundle_dir).params
    elf = qemu.provision(
        qemu.build_image(t, bundle=bundle_dir),
        tmp_path / "node.elf",
        qemu.NodeIdent(5, "bad-input", status_period_ms=100),
        target=t,
    )
    rng = np.random.default_rng(7)
    signal, _ = qemu.quantize_int16(rng.normal(0.0, 0.05, 3 * 1024).astype(np.float32))
    with qemu.QemuNode(elf, target=t, workdir=tmp_path / "q") as node:
        assert node.wait_for(lambda fr: len(fr) > 0, 30)
        rp = qemu.Replayer(
            node, signal, sample_rate=params.sample_rate, frame_length=params.frame_length,
            hop_length=params.hop_length,
        )  # fmt: skip
        rp.run(stop=3 * 1024)  # a clean start: blocks 0.. acknowledged, frames scored
        scored_before = sum(isinstance(f.message, vp.Score) for f in node.frames)
        assert scored_before >= 2

        def send_raw(msg_type: int, payload: bytes) -> int:
            seq = rp.seq
            rp.seq += 1
            node.write(vp.encode_raw(msg_type, payload, node_id=5, seq=seq, timestamp_us=1))
            return seq

        def nack_reason(seq: int) -> int:
            assert node.wait_for(lambda fr: bool(_answers(node, seq)), 20), f"no answer to seq {seq}"
            (ans,) = _answers(node, seq)
            assert isinstance(ans, vp.Nack), ans
            return int(ans.reason)

        # 1. Garbage: random bytes (zeros included, so they split into many rejected "frames").
        node.write(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes() + b"\x00")
        # 2. A truncated frame (a sender reset mid-frame) and 3. an oversized one (no delimiter for 1500 bytes).
        whole = vp.encode(vp.SetThreshold(1.0, 0.5, 3, 5), node_id=5, seq=999, timestamp_us=1)
        node.write(whole[: len(whole) // 2] + b"\x00")
        node.write(bytes(rng.integers(1, 256, 1500, dtype=np.uint8)) + b"\x00")
        # 4. Out-of-range command fields: k = 0, a NaN threshold, the wrong sample rate, a capture too large.
        set_thr = vp.MsgType.SET_THRESHOLD
        assert nack_reason(send_raw(set_thr, struct.pack("<ffBB", 1.0, 0.5, 0, 5))) == vp.NackReason.BAD_VALUE
        assert (
            nack_reason(send_raw(set_thr, struct.pack("<ffBB", math.nan, 0.5, 3, 5)))
            == vp.NackReason.BAD_VALUE
        )
        wrong_rate = struct.pack("<IfBfH", 0, 8000.0, 0, 2.0**-15, 2) + struct.pack("<2h", 1, -1)
        assert nack_reason(send_raw(vp.MsgType.REPLAY_SAMPLES, wrong_rate)) == vp.NackReason.BAD_VALUE
        too_big = struct.pack("<IIB", 1, 10_000_000, 0)
        assert nack_reason(send_raw(vp.MsgType.REQUEST_RAW, too_big)) == vp.NackReason.TOO_LARGE
        # 5. A REPLAY gap: the block after next.
        gap = rp.send_block(rp.stats.blocks + 7, signal[:500])
        assert nack_reason(gap) == vp.NackReason.OUT_OF_ORDER

        # The node kept going: fresh samples (block 0 restarts framing) are acknowledged and scored.
        rp2 = qemu.Replayer(
            node, signal, sample_rate=params.sample_rate, frame_length=params.frame_length,
            hop_length=params.hop_length,
        )  # fmt: skip
        rp2.seq = rp.seq
        st = rp2.run(start=0, stop=3 * 1024)
        assert st.nacks == [] and st.blocks > 0
        rp2.barrier()
        assert sum(isinstance(f.message, vp.Score) for f in node.frames) >= scored_before + 2

        # STATUS counts the rejected frames (garbage, truncated, oversized: at least three).
        def errors_reported(fr: list[vp.Frame]) -> bool:
            st = [f.message for f in fr if isinstance(f.message, vp.Status)]
            return bool(st) and st[-1].rx_errors >= 3

        assert node.wait_for(errors_reported, 20)
        assert node.proc is not None and node.proc.poll() is None  # still running
