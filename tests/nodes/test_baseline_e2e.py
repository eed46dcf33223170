"""``vibsentry baseline`` end to end: the CLI talks to the real gateway (``vibsentry ingest``, its own process)
over its command socket, the gateway to the C node (ctypes vs_node) over a real pty. The node learns, the
gateway stores its BASELINE_PROGRESS, the learned baseline is reported again after a reboot, and after one byte
of the stored record is flipped the reboot reports it FAILED (ignored).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.ingest import rows, start_gateway, stop_gateway, wait_for
from tests.support.pty import PtyLink
from tests.support.update_node import PtyBridge
from vibsentry import protocol as vp

CLI = [sys.executable, "-m", "vibsentry"]
NODE = 7


class Rule:
    threshold, clear_threshold, k, n = 1e30, 1e29, 1, 1


class BridgeNode:
    """What PtyBridge drives (``node``, ``t_us``, ``lib``, ``out``, ``_frames``): a C node with no model whose
    persistent store (host fake bank) survives :meth:`reboot`."""

    def __init__(self, lib: Any) -> None:
        self.lib, self.t_us, self.out, self.bank = lib, 0, [], None
        self.reboot()

    def reboot(self) -> bytes:
        from vibsentry.nodes.cnode import CNode

        # STATUS (with HELLO) every 200 ms of node time: the gateway hears the node within a second of wall time
        self.node = CNode(self.lib, node_id=NODE, rule=Rule, status_period_ms=200, hello_every_status=1,
                          features_every=0, use_model=False, bank=self.bank)  # fmt: skip
        self.bank = self.node.bank
        self.dec = vp.Decoder()
        self.t_us += 10**6
        raw = self.node.start(self.t_us)
        self._frames(raw)
        return raw

    def _frames(self, data: bytes) -> list[vp.Frame]:
        fr = [f for f in self.dec.feed(data) if f.header.node_id == NODE]
        self.out += fr
        return fr


def _cli(*args: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBSENTRY_")}
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=180, env=env, check=False
    )


def _baseline_records(db: Path) -> list[dict[str, Any]]:
    return [json.loads(c) for (c,) in rows(db, "SELECT counters FROM status WHERE node = ? AND kind = 'baseline' "
                                              "ORDER BY ts_ns", (NODE,))]  # fmt: skip


def test_baseline_cli_through_the_gateway_with_reboot_and_damage(tmp_path: Path) -> None:
    from vibsentry.nodes.cnode import build_node_library, c_node_available

    if (reason := c_node_available()) is not None:
        pytest.skip(f"C node unavailable: {reason}")
    chip = BridgeNode(build_node_library(None))
    data = tmp_path / "gw"
    db = data / "vibsentry.sqlite"
    link = PtyLink(tmp_path / "node.pty")
    bridge = PtyBridge(chip, link)  # one hop of low noise every 50 ms: a frame analysed per hop
    gw = start_gateway([str(link.link)], data)
    try:
        bridge.start()
        status = data / "ingest-status.json"
        wait_for(
            lambda: status.exists() and json.loads(status.read_text())["nodes"], 60, "gateway hears node"
        )

        # refused before anything is sent / by the node: one line each, exit 1 (2 for usage)
        bad = _cli("baseline", "--node", NODE, "--frames", 10, "--via", data)
        assert bad.returncode == 2 and "--frames 10" in bad.stderr, bad
        ab = _cli("baseline", "--node", NODE, "--abort", "--via", data, "--quiet")
        assert ab.returncode == 1 and ab.stdout.strip() == f"node {NODE}: refused (BAD_STATE)", ab

        run = _cli("baseline", "--node", NODE, "--frames", 64, "--via", data, "--json")
        assert run.returncode == 0, run
        res = json.loads(run.stdout)
        assert res["result"] == "learned" and res["frames"] == 64, res
        done = [f.message for f in chip.out if isinstance(f.message, vp.BaselineProgress)][-1]
        assert (done.state, done.frames_done, f"{done.baseline_crc:08x}") == (2, 64, res["crc"])
        assert res["threshold"] == done.threshold
        wait_for(lambda: any(r["baseline_state"] == 2 for r in _baseline_records(db)), 60, "DONE stored")

        # a reset: the node reports the stored baseline at boot, the gateway stores it
        for crc_bad in (False, True):
            bridge.stop.set()
            bridge.join(10)
            if crc_bad:
                chip.node.corrupt_store(3 + 2, 9)  # one byte of the stored record's 3rd store record
            n_before, since = len(_baseline_records(db)), len(chip.out)
            link.write(chip.reboot(), timeout=30)
            bridge = PtyBridge(chip, link)
            bridge.start()
            wait_for(lambda n=n_before: len(_baseline_records(db)) > n, 60, "boot progress stored")
            rec = _baseline_records(db)[-1]
            if crc_bad:
                assert (rec["baseline_state"], rec["baseline_crc"]) == (4, 0), rec  # FAILED: ignored
            else:
                assert (rec["baseline_state"], rec["baseline_crc"]) == (2, done.baseline_crc), rec
                assert rec["baseline_threshold_micro"] == round(done.threshold * 1e6)
        # after the damaged record the node scores with its configured rule again
        wait_for(lambda: any(isinstance(f.message, vp.Score) for f in chip.out[since:]), 60, "a score")
        scores = [f.message for f in chip.out[since:] if isinstance(f.message, vp.Score)]
        assert all(s.threshold == float(np.float32(Rule.threshold)) for s in scores)
        assert bridge.error is None, bridge.error
    finally:
        bridge.stop.set()
        if gw.poll() is None:
            stop_gateway(gw)
        link.close()
