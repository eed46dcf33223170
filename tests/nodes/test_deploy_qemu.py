"""``vibsentry deploy`` into the emulated firmware (issue H item 8 with the QEMU nodes of issue F): the STM32
image on QEMU ``netduinoplus2`` (and the RV32 image on ``virt``), its UART on a real pty read by the real
``vibsentry ingest``, keys from ``vibsentry keys new``, bundles signed by ``vibsentry sign``. While the replayer
keeps the node analysing frames (the trial needs them), one node is taken through:

1. v1 (counter 7) -> sent, verified, trial, confirmed: slot A, counter 7, the image's SHA-256 in MODEL_STATUS;
2. an older counter (5) -> MODEL_MANIFEST NACKed COUNTER, the node stays on v1;
3. a bundle signed with a key the node does not hold -> MODEL_MANIFEST NACKed SIGNATURE, one trained for other
   FeatureParams -> NACKed FEATURE_HASH, and a chunk with a flipped bit sent as a valid frame (straight to the
   node's UART) -> COMMIT NACKed HASH_MISMATCH; the node stays on v1;
4. v2 (counter 9) with the replayer paused (no healthy frame can confirm it) -> trial in slot B; three reboots
   without a confirmation (QEMU ``system_reset``; VS_MODEL_UPDATE_MAX_TRIAL_BOOTS) -> reverted to v1, slot A.

A second test kills the gateway (SIGKILL) in the middle of a transfer: v1 confirmed, a deploy of v2 stopped
after three acknowledged chunks with the fourth in flight (tests/support/stall_port.py holds the node's receive
line there, so the moment does not depend on speed), the gateway killed and restarted: the node goes on scoring
with v1 without a reboot, and a second deploy of v2 through the restarted gateway is confirmed.

The QEMU images keep the slots and store in RAM standing in for flash (firmware_core/port/baremetal/
vs_flash_ram.c): they survive a ``system_reset``, not a kill -9 of QEMU, so the revert is driven by reboots;
power cuts inside a transfer are covered on the host flash simulator (tests/firmware/test_model_update.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.nodes.test_deploy import _cli  # the CLI as its own process, without VIBSENTRY_* settings
from tests.support.ingest import score_keys, start_gateway, stop_gateway, wait_for
from tests.support.stall_port import StallPort
from tests.support.update_node import tiny_bundle
from vibsentry import protocol as vp

NODE = 7
TRIAL_FRAMES = 4
CHUNK = 400  # image bytes per MODEL_CHUNK in these deploys


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Key pairs 'plant' and 'other' (vibsentry keys new) and four signed bundles (vibsentry sign)."""
    root = tmp_path_factory.mktemp("deploy_qemu")
    for name in ("plant", "other"):
        proc = _cli("keys", "new", "--out", root / name)
        assert proc.returncode == 0, proc.stderr
    out = {"plant": root / "plant", "other": root / "other"}
    for name, tflite, key, counter in (
        ("v1", "v1.tflite", "plant", 7),
        ("old", "v2.tflite", "plant", 5),
        ("foreign", "v2.tflite", "other", 8),
        ("other_params", "v2.tflite", "plant", 8),
        ("flipped", "v2.tflite", "plant", 8),
        ("v2", "v2.tflite", "plant", 9),
    ):
        bundle = Path(tiny_bundle(root / name, tflite=tflite))
        if name == "other_params":  # trained for another hop length: another feature_hash than the node's
            from vibsentry.dsp.params import FeatureParams
            from vibsentry.runtime.bundle import MODEL_FILE, save_bundle

            meta = json.loads((bundle / "bundle.json").read_text())
            params = FeatureParams.from_dict({**meta["feature_params"], "hop_length": 512})
            meta = {k: v for k, v in meta.items() if k not in ("files", "bundle_sha256")}
            meta["feature_params"], meta["feature_hash"] = params.to_dict(), params.feature_hash
            model = (bundle / MODEL_FILE).read_bytes()
            bundle = Path(save_bundle(bundle, meta=meta, files={MODEL_FILE: model}, overwrite=True))
        proc = _cli("sign", bundle, "--key", root / key / "private.pem", "--counter", counter)
        assert proc.returncode == 0, proc.stderr
        out[name] = bundle
    return out


class Replay(threading.Thread):
    """Low-noise samples into the node, one second of signal per Replayer run, while not paused."""

    def __init__(self, node, sample_rate: float) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        from vibsentry.nodes.qemu import quantize_int16

        rng = np.random.default_rng(7)
        self.x, _ = quantize_int16(0.01 * rng.standard_normal(int(sample_rate)).astype(np.float32))
        self.node, self.sample_rate = node, sample_rate
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.idle = threading.Event()  # set while paused and no block is in flight
        self.error: BaseException | None = None

    def run(self) -> None:
        from vibsentry.nodes.qemu import Replayer

        try:
            while not self.stop.is_set():
                if self.paused.is_set():
                    self.idle.set()
                    self.stop.wait(0.05)
                    continue
                self.idle.clear()
                # 0.3 x real time: the emulated USART takes ~25-35 KB/s, the deploy's chunks share it
                Replayer(
                    self.node, self.x, sample_rate=self.sample_rate, frame_length=1024, hop_length=1024,
                    speed=0.3, ack_timeout=60,
                ).run()  # fmt: skip
        except BaseException as exc:  # reported by the test unless the node was stopped on purpose
            if not self.stop.is_set():
                self.error = exc


def _statuses(node) -> list[vp.ModelStatus]:  # type: ignore[no-untyped-def]
    return [f.message for f in node.frames if isinstance(f.message, vp.ModelStatus)]


def _command(node, msg: vp.Message, seq: int) -> vp.Message:  # type: ignore[no-untyped-def]
    """Send one command straight to the node's UART (not through the gateway) and return its ACK or NACK."""
    mark = len(node.frames)

    def answered(fr: list[vp.Frame]) -> bool:
        return any(
            isinstance(f.message, (vp.Ack, vp.Nack))
            and f.message.acked_seq == seq
            and f.message.acked_type == msg.TYPE
            for f in fr[mark:]
        )

    node.write(vp.encode(msg, node_id=NODE, seq=seq, timestamp_us=0))
    assert node.wait_for(answered, 30), f"no answer to {type(msg).__name__}"
    return next(
        f.message
        for f in node.frames[mark:]
        if isinstance(f.message, (vp.Ack, vp.Nack))
        and f.message.acked_seq == seq
        and f.message.acked_type == msg.TYPE
    )


def _deploy(bundle: Path, pub: Path, data: Path, *extra: object) -> dict:  # type: ignore[type-arg]
    proc = _cli(
        "deploy", bundle, "--node", NODE, "--pub", pub, "--via", data, "--chunk", CHUNK, "--timeout-s", 5,
        "--retries", 5, "--json", *extra, timeout=80,
    )  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert lines, (proc.returncode, proc.stderr)
    return dict(json.loads(lines[-1]))


@dataclass
class _Rig:
    """One emulated node on a pty read by a running gateway, samples replayed into it."""

    node: Any  # vibsentry.nodes.qemu.QemuNode
    port: Any  # vibsentry.nodes.ports.PtyPort (or tests.support.stall_port.StallPort)
    data: Path  # the gateway's data directory
    replay: Replay
    gw: subprocess.Popen[bytes]  # replace it when the test restarts the gateway: the rig stops this one


@contextmanager
def _rig(
    target_name: str,
    signed: dict[str, Path],
    tmp_path: Path,
    port: Any = None,
    *,
    status_period_ms: int = 1000,
) -> Iterator[_Rig]:
    """Boot ``target_name``'s image (built-in scorer, the 'plant' key, TRIAL_FRAMES, a STATUS every
    ``status_period_ms`` and a HELLO + MODEL_STATUS every 10th) on QEMU with its UART on ``port`` (a new PtyPort
    by default), forward the gateway's commands to it, start ``vibsentry ingest`` on the port and the replayer;
    everything is stopped on exit. Skips when the target's tools are missing."""
    from vibsentry.nodes import qemu
    from vibsentry.nodes.ports import PtyPort

    target = qemu.TARGETS[target_name]
    if (reason := qemu.missing_tools(target)) is not None:
        pytest.skip(reason)
    elf = qemu.provision(
        qemu.build_image(target),  # no bundle: the built-in scorer; the models arrive by deploy
        tmp_path / "node.elf",
        qemu.NodeIdent(NODE, "pump", status_period_ms=status_period_ms),
        target=target,
        update_keys=[(signed["plant"] / "public.key").read_bytes()],
        trial_frames=TRIAL_FRAMES,
    )
    data = tmp_path / "gw"
    port = port if port is not None else PtyPort(tmp_path / "node.pty")
    node = qemu.QemuNode(elf, target=target, workdir=tmp_path / "q", on_bytes=port.write)
    stop = threading.Event()
    replay = Replay(node, 12000.0)
    rig = None
    try:
        node.start()
        assert node.wait_for(lambda fr: any(isinstance(f.message, vp.ModelStatus) for f in fr), 30), (
            "no MODEL_STATUS"
        )
        first = _statuses(node)[0]
        assert (first.model_slot, first.counter) == (vp.ModelSlot.BUILTIN, 0), first
        qemu.forward_commands(port, node, stop)
        rig = _Rig(node, port, data, replay, start_gateway([port.name], data))
        wait_for(lambda: (data / "gateway.sock").exists(), 60, "gateway command socket")
        replay.start()
        yield rig
    finally:
        stop.set()
        replay.stop.set()
        if rig is not None:
            stop_gateway(rig.gw)
        node.stop()
        port.close()
        shutil.rmtree(tmp_path / "q", ignore_errors=True)


@pytest.mark.parametrize("target_name", ["stm32", "rv32"])
def test_deploy_confirm_refuse_and_revert_on_emulated_node(target_name: str, signed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from vibsentry.nodes import qemu

    with _rig(target_name, signed, tmp_path) as rig:
        node, data, replay = rig.node, rig.data, rig.replay
        plant = signed["plant"] / "public.key"

        # 1. v1: sent -> verified -> trial -> confirmed after TRIAL_FRAMES healthy frames
        rep = _deploy(signed["v1"], plant, data, "--confirm-s", 60)
        v1_hash = hashlib.sha256((signed["v1"] / "model.vsm").read_bytes()).hexdigest()
        assert (rep["stage"], rep["counter"], rep["model_hash"]) == ("confirmed", 7, v1_hash), rep
        st = _statuses(node)[-1]
        assert (st.model_slot, st.model_state, st.counter) == (vp.ModelSlot.A, vp.ModelState.CONFIRMED, 7)
        assert any(isinstance(f.message, vp.Score) for f in node.frames[-50:]), (
            "the node stopped scoring during the update"
        )

        # 2. an older counter, 3. a key the node does not hold: refused, v1 stays
        rep = _deploy(signed["old"], plant, data, "--confirm-s", 0)
        assert (rep["stage"], rep["step"], rep["reason"]) == ("refused", "MODEL_MANIFEST", "COUNTER"), rep
        rep = _deploy(signed["foreign"], signed["other"] / "public.key", data, "--confirm-s", 0)
        assert (rep["stage"], rep["step"], rep["reason"]) == ("refused", "MODEL_MANIFEST", "SIGNATURE"), rep
        rep = _deploy(signed["other_params"], plant, data, "--confirm-s", 0)
        assert (rep["stage"], rep["step"], rep["reason"]) == ("refused", "MODEL_MANIFEST", "FEATURE_HASH"), (
            rep
        )

        # a bit flipped in a chunk that still arrives as a valid frame (CRC computed over the flipped data, as
        # flash or a buggy sender would do it): COMMIT hashes what the slot holds and refuses it
        b = signed["flipped"]
        image = (b / "model.vsm").read_bytes()
        sha = hashlib.sha256(image).digest()
        seq = 0x40000000
        answers = [_command(node, vp.ModelBegin(total_size=len(image), sha256=sha, chunk_size=400), seq)]
        sig, manifest = (b / "signed_manifest.sig").read_bytes(), (b / "signed_manifest.json").read_bytes()
        answers.append(_command(node, vp.ModelManifest(signature=sig, manifest=manifest), seq + 1))
        for i, off in enumerate(range(0, len(image), 400)):
            chunk = bytearray(image[off : off + 400])
            if i == 3:
                chunk[17] ^= 0x10
            answers.append(_command(node, vp.ModelChunk(offset=off, data=bytes(chunk)), seq + 2 + i))
        assert all(isinstance(a, vp.Ack) for a in answers), answers
        commit = _command(node, vp.ModelCommit(sha256=sha), seq + 100)
        assert isinstance(commit, vp.Nack) and commit.reason == vp.NackReason.HASH_MISMATCH, commit
        st = _statuses(node)[-1]
        assert (st.model_slot, st.model_state, st.counter) == (vp.ModelSlot.A, vp.ModelState.CONFIRMED, 7)

        # 4. v2 on trial with no healthy frame to confirm it, then three reboots: reverted to v1
        replay.paused.set()
        assert replay.idle.wait(60), "replayer did not pause"
        rep = _deploy(signed["v2"], plant, data, "--confirm-s", 0)
        assert (rep["stage"], rep["counter"]) == ("trial", 9), rep
        for _ in range(3):
            boots = len(qemu.boot_segments(node.frames))
            node.reset()
            assert node.wait_for(lambda fr, b=boots: len(qemu.boot_segments(fr)) > b, 30), "no reboot"
        assert node.wait_for(
            lambda fr: bool(_statuses(node)) and _statuses(node)[-1].model_state == vp.ModelState.REVERTED, 30
        ), _statuses(node)[-3:]
        st = _statuses(node)[-1]
        assert (st.model_slot, st.counter, st.model_hash.hex()) == (vp.ModelSlot.A, 7, v1_hash), st
        assert qemu.hellos(node.frames)[-1].model_hash.hex() == v1_hash  # HELLO names the model that runs
        assert replay.error is None, replay.error
        # the Ed25519 verification at each COMMIT and boot ran within the painted stack (HEALTH every STATUS)
        health = [f.message for f in node.frames if isinstance(f.message, vp.Health)]
        assert health, "no HEALTH frame"
        worst = max(h.stack_high_water for h in health)
        stack = health[-1].stack_size  # the port's linker stack (tests/firmware/test_firmware_stack.py)
        assert stack == {"stm32": 4096, "rv32": 8192}[target_name], stack
        print(f"[{target_name}] stack high-water over the run: {worst} of {stack} bytes")
        assert 0 < worst < stack


def _acks(frames: list[vp.Frame], msg_type: vp.MsgType) -> list[vp.Ack]:
    return [f.message for f in frames if isinstance(f.message, vp.Ack) and f.message.acked_type == msg_type]


STALL_CHUNKS = 3  # MODEL_CHUNKs the node gets before the gateway is killed


@pytest.mark.parametrize("target_name", ["stm32", "rv32"])
def test_gateway_sigkill_mid_transfer_keeps_the_node_on_its_model(target_name: str, signed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """v1 confirmed; a deploy of v2 is stopped after STALL_CHUNKS acknowledged chunks with the next one in
    flight (tests.support.stall_port) and the gateway is SIGKILLed there, before MODEL_COMMIT. The node goes on
    scoring with v1 (no reboot, HELLO and MODEL_STATUS name v1), the restarted gateway stores its scores, and a
    second deploy of v2 through it is confirmed."""
    from vibsentry.nodes import qemu

    # HELLO + MODEL_STATUS every 2.5 s: the checks below wait for the next one twice
    with _rig(target_name, signed, tmp_path, StallPort(tmp_path / "node.pty"), status_period_ms=250) as rig:
        node, port, data = rig.node, rig.port, rig.data
        plant = signed["plant"] / "public.key"
        v1_hash = hashlib.sha256((signed["v1"] / "model.vsm").read_bytes()).hexdigest()
        v2_image = (signed["v2"] / "model.vsm").read_bytes()
        v2_hash = hashlib.sha256(v2_image).hexdigest()
        rep = _deploy(signed["v1"], plant, data, "--confirm-s", 60)
        assert (rep["stage"], rep["model_hash"]) == ("confirmed", v1_hash), rep
        boots = len(qemu.boot_segments(node.frames))
        assert STALL_CHUNKS + 1 < -(-len(v2_image) // CHUNK)  # the kill falls inside the transfer

        # v2, held after STALL_CHUNKS chunks; --reconnect-s 0: the deploy gives up when its gateway dies, and
        # --retries keeps it from giving up any earlier (the stall would otherwise exhaust the resends)
        mark = len(node.frames)
        port.stall_after_chunks(STALL_CHUNKS)
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(
                _deploy, signed["v2"], plant, data, "--confirm-s", 60, "--reconnect-s", 0, "--retries", 10**4
            )
            try:
                wait_for(
                    lambda: (
                        len({a.acked_seq for a in _acks(node.frames[mark:], vp.MsgType.MODEL_CHUNK)})
                        == STALL_CHUNKS
                        and any(isinstance(f.message, vp.ModelChunk) for f in port.held)
                    ),
                    120,
                    f"{STALL_CHUNKS} chunks acknowledged and the next one in flight",
                )
            finally:  # (also ends the deploy when the wait failed)
                rig.gw.send_signal(signal.SIGKILL)
                rig.gw.wait(30)
            rep = first.result(timeout=120)
        assert rep["stage"] == "unreachable" and "link lost" in rep["reason"], rep
        assert not _acks(node.frames[mark:], vp.MsgType.MODEL_COMMIT), "COMMIT reached the node"
        held = [f.message.offset for f in port.held if isinstance(f.message, vp.ModelChunk)]
        assert set(held) == {STALL_CHUNKS * CHUNK}, held

        # what the dead gateway had written reaches the node while the gateway restarts: it stages that chunk
        # too and nothing more; the restarted gateway hears the node scoring on v1 and stores what it sends
        port.release()
        restart = len(node.frames)
        rig.gw = start_gateway([port.name], data)
        staged = (STALL_CHUNKS + 1) * CHUNK
        assert node.wait_for(
            lambda fr: (
                any(isinstance(f.message, vp.Score) for f in fr[restart:])
                and any(isinstance(f.message, vp.Hello) for f in fr[restart:])
                and any(
                    isinstance(f.message, vp.ModelStatus) and f.message.staged_bytes == staged
                    for f in fr[restart:]
                )
            ),
            60,
        ), ("no SCORE, HELLO or MODEL_STATUS with the held chunk staged", _statuses(node)[-3:])
        seq = next(f.header.seq for f in node.frames[restart:] if isinstance(f.message, vp.Score))
        db = data / "vibsentry.sqlite"
        wait_for(lambda: (NODE, seq) in score_keys(db), 120, f"the restarted gateway storing SCORE seq {seq}")
        keys = score_keys(db)
        assert len(keys) == len(set(keys)), "a SCORE stored twice across the kill"
        assert len(qemu.boot_segments(node.frames)) == boots, "the node rebooted"
        assert {h.model_hash.hex() for h in qemu.hellos(node.frames[mark:])} == {v1_hash}
        st = _statuses(node)[-1]
        assert (st.model_slot, st.model_state, st.counter, st.model_hash.hex()) == (
            vp.ModelSlot.A, vp.ModelState.CONFIRMED, 7, v1_hash,
        ), st  # fmt: skip
        assert (st.staged_bytes, st.staged_total) == (staged, len(v2_image)), st  # half a v2, not running

        # a second deploy of the same bundle, through the restarted gateway, is confirmed
        rep = _deploy(signed["v2"], plant, data, "--confirm-s", 60)
        assert (rep["stage"], rep["counter"], rep["model_hash"]) == ("confirmed", 9, v2_hash), rep
        st = _statuses(node)[-1]
        assert (st.model_slot, st.model_state, st.counter) == (vp.ModelSlot.B, vp.ModelState.CONFIRMED, 9), st
        last = len(node.frames)
        assert node.wait_for(lambda fr: bool(qemu.hellos(fr[last:])), 30), "no HELLO after the update"
        assert qemu.hellos(node.frames[last:])[0].model_hash.hex() == v2_hash
        assert len(qemu.boot_segments(node.frames)) == boots, "the node rebooted"
        assert rig.replay.error is None, rig.replay.error
