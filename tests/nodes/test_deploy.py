"""``vibsentry deploy`` end to end: a signed bundle goes through the real gateway (``vibsentry ingest``,
its own process) over a real pty to the C node (ctypes vs_node with model updates on the host flash simulator),
including a SIGKILL of the gateway in the middle of the transfer; and refusals before anything is sent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ingest import start_gateway, stop_gateway, wait_for
from tests.support.pty import PtyLink
from tests.support.update_node import PtyBridge, UpdateNode, tiny_bundle
from vibsentry import protocol as vp

CLI = [sys.executable, "-m", "vibsentry"]


def _cli(*args: object, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBSENTRY_")}
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small bundle (no training: tests.support.update_node.tiny_bundle), two key pairs from
    ``vibsentry keys new``, the bundle signed with 'plant' by ``vibsentry sign``."""
    import shutil

    root = tmp_path_factory.mktemp("deploy")
    bundle = tiny_bundle(root / "pump7")
    unsigned = Path(shutil.copytree(bundle, root / "unsigned"))
    for name in ("plant", "other"):
        assert _cli("keys", "new", "--out", root / name).returncode == 0
    proc = _cli("sign", bundle, "--key", root / "plant" / "private.pem", "--counter", "7")
    assert proc.returncode == 0, proc.stderr
    return {"bundle": Path(bundle), "unsigned": unsigned, "plant": root / "plant", "other": root / "other"}


def test_unsigned_or_wrongly_signed_bundle_is_refused_before_sending(signed, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from vibsentry.cli import main

    # --via points at no gateway at all: a refusal naming the signature proves nothing was attempted first
    nowhere = tmp_path / "no-gateway"
    for bundle, pub, needle in (
        (signed["unsigned"], signed["plant"], "not signed"),
        (signed["bundle"], signed["other"], "does not verify"),
        (signed["bundle"], signed["plant"], "vibsentry ingest"),  # good bundle, no gateway: one clear line
    ):
        rc = main(
            ["deploy", str(bundle), "--node", "7", "--pub", str(pub / "public.key"), "--via", str(nowhere)]
        )
        err = capsys.readouterr().err
        assert rc == 1, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], err
    assert not nowhere.exists()


def test_deploy_through_gateway_survives_a_gateway_sigkill(signed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from vibsentry.nodes.cnode import build_node_library, c_node_available
    from vibsentry.runtime.bundle import load_bundle

    if (reason := c_node_available()) is not None:
        pytest.skip(f"C node unavailable: {reason}")
    b = load_bundle(signed["bundle"])
    lib = build_node_library(None)
    # HELLO + MODEL_STATUS every 200 ms of node time (1 s of wall time here): a deploy that lost a state
    # change while the gateway was down learns it from the next one
    node = UpdateNode(lib, (signed["plant"] / "public.key").read_bytes(), status_period_ms=200)
    hello = next(f.message for f in node.out if isinstance(f.message, vp.Hello))
    if hello.feature_hash.hex() != b.feature_hash:  # the toy bundle uses the default FeatureParams
        pytest.fail("toy bundle's feature_hash differs from the default node library's")

    data = tmp_path / "gw"
    link = PtyLink(tmp_path / "node.pty")
    bridge = PtyBridge(node, link)
    bridge.chunk_goal = 3
    gw = start_gateway([str(link.link)], data)
    deploy = None
    try:
        bridge.start()
        sock = data / "gateway.sock"
        wait_for(
            lambda: sock.exists() and json.loads((data / "ingest-status.json").read_text())["nodes"],
            60,
            "gateway up",
        )
        deploy = subprocess.Popen(
            [*CLI, *map(str, ["deploy", signed["bundle"], "--node", 7, "--pub", signed["plant"] / "public.key", "--via", data,
             "--chunk", 200, "--timeout-s", 1, "--retries", 20, "--reconnect-s", 60, "--confirm-s", 60, "--json"])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert bridge.chunk_event.wait(60), "no chunk acknowledged"
        gw.send_signal(signal.SIGKILL)  # mid-transfer: the node stalls after 3 of 28 chunks until released
        gw.wait(10)
        killed_at = bridge.chunks_acked
        gw = start_gateway([str(link.link)], data)
        bridge.release.set()
        out, err = deploy.communicate(timeout=180)
        assert deploy.returncode == 0, (out, err)
        rep = json.loads(out.strip().splitlines()[-1])
        image = (signed["bundle"] / "model.vsm").read_bytes()
        import hashlib

        assert rep["stage"] == "confirmed" and rep["counter"] == 7, rep
        assert rep["model_hash"] == hashlib.sha256(image).hexdigest()
        assert killed_at < len(image) // 200  # the kill really was mid-transfer
        assert rep["resends"] >= 1, rep  # the command in flight at the kill was sent again
        st = node.status()
        assert (st.model_slot, st.model_state, st.counter) == (vp.ModelSlot.A, vp.ModelState.CONFIRMED, 7)
        assert bridge.error is None, bridge.error
        # the restarted gateway stored the node's MODEL_STATUS like any status record
        wait_for(lambda: json.loads((data / "ingest-status.json").read_text())["ports"], 30, "status")
    finally:
        if deploy is not None and deploy.poll() is None:
            deploy.kill()
        bridge.stop.set()
        if gw.poll() is None:
            stop_gateway(gw)
        link.close()


def test_deploy_over_a_port_reports_each_node(signed, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """--port (no gateway): node 7 answers and confirms; node 9 does not exist on that port: unreachable, exit 1."""
    from vibsentry.cli import main
    from vibsentry.nodes.cnode import build_node_library, c_node_available

    if (reason := c_node_available()) is not None:
        pytest.skip(f"C node unavailable: {reason}")
    node = UpdateNode(build_node_library(None), (signed["plant"] / "public.key").read_bytes())
    link = PtyLink(tmp_path / "node.pty")
    bridge = PtyBridge(node, link)
    bridge.start()
    try:
        rc = main(
            ["deploy", str(signed["bundle"]), "--node", "7", "--node", "9", "--pub", str(signed["plant"] / "public.key"),
             "--port", str(link.link), "--timeout-s", "0.5", "--retries", "1", "--confirm-s", "30"]
        )  # fmt: skip
    finally:
        bridge.stop.set()
        bridge.join(5)
        link.close()
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert rc == 1, (out, err)
    assert lines[0].startswith("node 7: confirmed;") and "counter 7" in lines[0], out
    assert lines[1].startswith("node 9: unreachable") and "no answer to MODEL_BEGIN" in lines[1], out
    assert err.strip() == "vibsentry deploy: not confirmed on node(s) 9"
    assert bridge.error is None, bridge.error
