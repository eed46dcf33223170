"""Signed model updates on the C node (vs_node + vs_model_update over the host flash simulator) through ctypes.

Keys come from ``vibsentry keys new``; the images and manifests are those of tests/vectors/model_update (two
int8 autoencoders of the default FeatureParams), signed here with the new key. The node is driven with real
protocol frames: by the deployer of ``vibsentry deploy`` (vibsentry.dashboard.gateway.deploy) for the happy
path, and frame by frame for each refusal (wrong key, bit flip in a chunk, older counter, feature_hash), each
of which must come back as the right NACK with the running model unchanged. Then TRIAL outcomes: confirmed
after N analysed frames, reverted by a watchdog reset, and a power cut in the middle of a transfer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.update_node import UpdateNode
from tests.support.update_node import UpdateNode as Chip
from vibsentry import protocol as vp

ROOT = Path(__file__).resolve().parents[2]
VEC = ROOT / "tests" / "vectors" / "model_update"
NODE, TRIAL = UpdateNode.NODE, UpdateNode.TRIAL


@pytest.fixture(scope="module")
def lib():  # type: ignore[no-untyped-def]
    from vibsentry.nodes.cnode import build_node_library, c_node_available

    reason = c_node_available()
    if reason is not None:
        pytest.skip(f"C node unavailable: {reason}")
    return build_node_library(None)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from vibsentry.cli import main

    d = tmp_path_factory.mktemp("keys")
    for name in ("plant", "other"):
        assert main(["keys", "new", "--out", str(d / name)]) == 0
    return {"plant": d / "plant", "other": d / "other"}


def _pub(keydir: Path) -> bytes:
    return (keydir / "public.key").read_bytes()


def _update(image: str, counter: int, keydir: Path, **kw: object):  # type: ignore[no-untyped-def]
    from scripts.gen_model_update_vectors import manifest
    from vibsentry.dashboard.gateway.deploy import Update
    from vibsentry.signing import load_private_key

    img = (VEC / image).read_bytes()
    raw = manifest(img, counter=counter, **kw)  # type: ignore[arg-type]
    sig = load_private_key(keydir / "private.pem").sign(raw)
    return Update(image=img, manifest=raw, signature=sig, counter=counter)


def _answer(frames: list[vp.Frame], seq: int) -> int:
    """0 for the ACK of ``seq``, else its NACK reason (exactly one answer)."""
    ans = [
        f.message for f in frames if isinstance(f.message, vp.Ack | vp.Nack) and f.message.acked_seq == seq
    ]
    assert len(ans) == 1, frames
    return 0 if isinstance(ans[0], vp.Ack) else int(ans[0].reason)


def _push(chip: Chip, upd, *, flip: int | None = None, seq0: int = 100) -> int:  # type: ignore[no-untyped-def]
    """Frame by frame; the first NACK reason, or 0."""
    sha = hashlib.sha256(upd.image).digest()
    steps: list[vp.Message] = [
        vp.ModelBegin(total_size=len(upd.image), sha256=sha, chunk_size=1000),
        vp.ModelManifest(signature=upd.signature, manifest=upd.manifest),
    ]
    img = bytearray(upd.image)
    if flip is not None:
        img[flip] ^= 0x04
    steps += [vp.ModelChunk(offset=o, data=bytes(img[o : o + 1000])) for o in range(0, len(img), 1000)]
    steps.append(vp.ModelCommit(sha256=sha))
    for i, m in enumerate(steps):
        if code := _answer(chip.command(m, seq0 + i), seq0 + i):
            return code
    return 0


def test_deploy_confirm_then_refusals_and_revert(lib, keys) -> None:  # type: ignore[no-untyped-def]
    from vibsentry.dashboard.gateway.deploy import deploy_node

    chip = Chip(lib, _pub(keys["plant"]))
    hello = [f.message for f in chip.out if isinstance(f.message, vp.Hello)][-1]
    assert (hello.model_slot, hello.model_state) == (vp.ModelSlot.BUILTIN, vp.ModelState.NONE)
    assert chip.status().counter == 0

    v1 = _update("v1.vsm", 5, keys["plant"])
    seen: list[int] = []
    rep = deploy_node(chip, NODE, v1, timeout_s=1.0, confirm_s=5.0, progress=lambda n, d, t: seen.append(d))
    assert rep.stage == "confirmed", rep
    assert (
        seen[-1] == len(v1.image)
        and rep.counter == 5
        and rep.model_hash == hashlib.sha256(v1.image).hexdigest()
    )
    st = chip.status()
    assert (st.model_slot, st.model_state, st.trial_frames, st.trial_target) == (1, 3, TRIAL, TRIAL)
    # the node now scores with the image: a finite score, not the built-in z-score
    chip.analyse(2)
    assert np.isfinite(chip.node.last_score)

    # a reboot: HELLO and MODEL_STATUS carry slot A, CONFIRMED and the image's hash
    fr = chip.boot()
    hello = next(f.message for f in fr if isinstance(f.message, vp.Hello))
    assert (hello.model_slot, hello.model_state) == (vp.ModelSlot.A, vp.ModelState.CONFIRMED)
    assert hello.model_hash == hashlib.sha256(v1.image).digest()

    v2 = _update("v2.vsm", 6, keys["plant"])
    refusals = {
        "wrong key": (_update("v2.vsm", 6, keys["other"]), None, vp.NackReason.SIGNATURE),
        "bit flip": (v2, 1234, vp.NackReason.HASH_MISMATCH),
        "older counter": (_update("v2.vsm", 5, keys["plant"]), None, vp.NackReason.COUNTER),
        "feature_hash": (_update("v2.vsm", 6, keys["plant"], feature_hash="ab" * 32), None, vp.NackReason.FEATURE_HASH),
    }  # fmt: skip
    for seq0, (what, (upd, flip, want)) in enumerate(refusals.items()):
        assert _push(chip, upd, flip=flip, seq0=1000 * (seq0 + 1)) == want, what
        st = chip.status()
        assert (st.model_slot, st.model_state, st.counter, st.last_error) == (1, 3, 5, want), what
    # the deployer reports a refusal with its step and reason
    rep = deploy_node(chip, NODE, refusals["wrong key"][0], timeout_s=1.0)
    assert (rep.stage, rep.step, rep.reason) == ("refused", "MODEL_MANIFEST", "SIGNATURE")

    # v2 on trial, then a watchdog reset: back to v1 in slot A
    rep = deploy_node(chip, NODE, v2, timeout_s=1.0, confirm_s=0)
    assert rep.stage == "trial" and chip.status().model_slot == 2
    fr = chip.boot(reset_reason=4)
    st = next(f.message for f in fr if isinstance(f.message, vp.ModelStatus))
    assert (st.model_slot, st.model_state, st.counter) == (1, vp.ModelState.REVERTED, 5)
    assert st.model_hash == hashlib.sha256(v1.image).digest()


def test_failed_self_test_reverts(lib, keys) -> None:  # type: ignore[no-untyped-def]
    from vibsentry.dashboard.gateway.deploy import deploy_node

    chip = Chip(lib, _pub(keys["plant"]))
    rep = deploy_node(chip, NODE, _update("v1.vsm", 3, keys["plant"], selftest="00" * 32), timeout_s=1.0)
    assert rep.stage == "reverted" and "self-test" in (rep.reason or ""), rep
    st = chip.status()
    assert (st.model_slot, st.model_state) == (vp.ModelSlot.BUILTIN, vp.ModelState.REVERTED)
    good = json.loads((VEC / "v1.json").read_bytes())["selftest_sha256"]
    rep = deploy_node(chip, NODE, _update("v1.vsm", 4, keys["plant"], selftest=good), timeout_s=1.0)
    assert rep.stage == "confirmed", rep


def test_power_cut_mid_transfer_then_resume(lib, keys) -> None:  # type: ignore[no-untyped-def]
    from vibsentry.dashboard.gateway.deploy import deploy_node

    chip = Chip(lib, _pub(keys["plant"]))
    v1, v2 = _update("v1.vsm", 1, keys["plant"]), _update("v2.vsm", 2, keys["plant"])
    assert deploy_node(chip, NODE, v1, timeout_s=1.0).stage == "confirmed"
    chip.flash.cut_after(3000)  # inside the chunks of v2 (the erase costs 128 units, the manifest ~520)
    assert _push(chip, v2, seq0=500) == vp.NackReason.STORAGE
    chip.flash.power_on()
    fr = chip.boot()
    st = next(f.message for f in fr if isinstance(f.message, vp.ModelStatus))
    assert (st.model_slot, st.model_state, st.counter) == (1, vp.ModelState.CONFIRMED, 1)
    rep = deploy_node(chip, NODE, v2, timeout_s=1.0)
    assert (rep.stage, rep.counter) == ("confirmed", 2), rep


def test_fifty_power_cuts_through_the_node_always_boot_a_verified_model(lib, keys) -> None:  # type: ignore[no-untyped-def]
    """The whole node (vs_node + vs_model_update + flash simulator): v1 confirmed, then a deploy of v2 whose power
    is cut at 50 seeded random points of the flash work it costs (erase, manifest, chunks, commit and confirm
    records), plus 8 inside the two record writes. After each cut the node reboots running v1 or v2, verified (hash in MODEL_STATUS = the image's),
    and a new deploy then ends with v2 confirmed."""
    import random

    from vibsentry.dashboard.gateway.deploy import deploy_node

    v1, v2 = _update("v1.vsm", 1, keys["plant"]), _update("v2.vsm", 2, keys["plant"])
    hashes = {hashlib.sha256(v1.image).digest(): 1, hashlib.sha256(v2.image).digest(): 2}
    probe = Chip(lib, _pub(keys["plant"]))
    assert deploy_node(probe, NODE, v1, timeout_s=1.0).stage == "confirmed"
    start = probe.flash.units
    assert deploy_node(probe, NODE, v2, timeout_s=1.0).stage == "confirmed"
    cost = probe.flash.units - start
    rng = random.Random(50)
    outcomes: dict[int, int] = {1: 0, 2: 0}
    # 50 random cuts rarely hit the two 32-byte records at the very end: add 8 cuts inside them
    cuts = sorted(rng.randrange(cost) for _ in range(50)) + list(range(cost - 64, cost, 8))
    for cut in cuts:
        chip = Chip(lib, _pub(keys["plant"]))
        assert deploy_node(chip, NODE, v1, timeout_s=1.0).stage == "confirmed"
        chip.flash.cut_after(cut)
        try:
            deploy_node(chip, NODE, v2, timeout_s=0.2, retries=0, confirm_s=1.0)
        except Exception:  # the node stops answering sensibly once its flash is dead: that is the point
            pass
        chip.flash.power_on()
        st = next(f.message for f in chip.boot() if isinstance(f.message, vp.ModelStatus))
        assert st.model_hash in hashes and st.counter == hashes[st.model_hash], (cut, st)
        assert st.model_state in (vp.ModelState.CONFIRMED, vp.ModelState.TRIAL), (cut, st)
        outcomes[st.counter] += 1
        if st.counter == 1:
            assert deploy_node(chip, NODE, v2, timeout_s=1.0).stage == "confirmed", cut
        else:
            chip.analyse(TRIAL + 1)
        assert (chip.status().counter, chip.status().model_state) == (2, vp.ModelState.CONFIRMED), cut
    assert outcomes[1] and outcomes[2], outcomes  # cuts landed both before and after the commit record
