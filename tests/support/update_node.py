"""A C node (ctypes vs_node) with model updates enabled over a host flash simulator, for tests of deploys.

Its flash survives reboots (:meth:`UpdateNode.boot` makes a new CNode on the same FlashSim, as a reset does).
It also implements the deployer's link protocol in process (send/recv/reconnect/close), and
:class:`PtyBridge` puts it behind a real pty for end-to-end tests through the gateway.
"""

from __future__ import annotations

import os
import select
import threading
from typing import Any

import numpy as np

from vibsentry import protocol as vp


class UpdateNode:
    """One node (id NODE, a trial of TRIAL frames) with its own simulated model flash."""

    NODE = 7
    TRIAL = 4

    def __init__(self, lib: Any, pub: bytes, *, status_period_ms: int = 0) -> None:
        """status_period_ms: STATUS, HELLO and MODEL_STATUS every that many ms of node time (0: none)."""
        from vibsentry.nodes.model_update import FlashSim

        self.lib, self.pub, self.status_period_ms = lib, pub, status_period_ms
        self.flash = FlashSim(lib)
        self.t_us = 0
        self.out: list[vp.Frame] = []
        self.boot()

    def boot(self, reset_reason: int = 1) -> list[vp.Frame]:
        from vibsentry.nodes.cnode import CNode
        from vibsentry.nodes.model_update import enable_model_update
        from vibsentry.runtime.alarm import AlarmRule

        self.node = CNode(
            self.lib, node_id=self.NODE, rule=AlarmRule(threshold=1e9, clear_threshold=1e8, k=1, n=1),
            reset_reason=reset_reason, status_period_ms=self.status_period_ms,
            hello_every_status=1, features_every=0,
        )  # fmt: skip
        enable_model_update(self.node, self.flash, [self.pub], trial_frames=self.TRIAL)
        self.dec = vp.Decoder()
        return self._frames(self.node.start(self.t_us))

    def _frames(self, data: bytes) -> list[vp.Frame]:
        fr = [f for f in self.dec.feed(data) if f.header.node_id == self.NODE]
        self.out += fr
        return fr

    # the Link protocol of the deployer, in process
    def send(self, frame: bytes) -> None:
        self.t_us += 1000
        self._pending = self._frames(self.node.rx(frame, self.t_us))

    def recv(self, timeout_s: float) -> list[vp.Frame]:
        out, self._pending = getattr(self, "_pending", []), []
        if not out:  # nothing to answer: the node analyses frames (the trial needs them)
            out = self.analyse(1)
        return out

    def reconnect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def analyse(self, frames: int) -> list[vp.Frame]:
        rng = np.random.default_rng(self.t_us)
        n = self.lib.hop_length * frames + (self.lib.frame_length if self.t_us < 10**5 else 0)
        self.t_us += 10**5
        return self._frames(self.node.push(0.01 * rng.standard_normal(n), self.t_us))

    def command(self, msg: vp.Message, seq: int) -> list[vp.Frame]:
        self.send(vp.encode(msg, node_id=self.NODE, seq=seq, timestamp_us=0))
        return self._pending

    def status(self) -> vp.ModelStatus:
        return [f.message for f in self.out if isinstance(f.message, vp.ModelStatus)][-1]


class PtyBridge(threading.Thread):
    """Run ``node`` behind ``link`` (tests.support.pty.PtyLink): bytes from the gateway go to the node, the
    node's output goes back, and one hop of low noise is pushed every ``hop_every_s`` so the node keeps
    analysing frames (the trial needs them) and the gateway keeps hearing it. ``chunks_acked`` counts the
    MODEL_CHUNK ACKs the node sent; when it reaches ``chunk_goal`` (> 0) ``chunk_event`` is set and the node
    stalls (a transfer stopped exactly there) until ``release`` is set."""

    def __init__(self, node: UpdateNode, link: Any, *, hop_every_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.node, self.link, self.hop_every_s = node, link, hop_every_s
        self.stop = threading.Event()
        self.chunks_acked = 0
        self.chunk_event = threading.Event()
        self.chunk_goal = 0
        self.release = threading.Event()  # once chunk_goal is reached the node stalls until this is set
        self.error: BaseException | None = None

    def _out(self, frames: list[vp.Frame], data: bytes) -> None:
        for f in frames:
            if isinstance(f.message, vp.Ack) and f.message.acked_type == vp.MsgType.MODEL_CHUNK:
                self.chunks_acked += 1
                if self.chunk_goal and self.chunks_acked == self.chunk_goal:
                    self.chunk_event.set()
                    self.link.write(data, timeout=60)
                    self.release.wait()
                    return
        if data:
            self.link.write(data, timeout=60)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                r, _, _ = select.select([self.link.master], [], [], self.hop_every_s)
                n = self.node
                before = len(n.out)
                if r:
                    data = os.read(self.link.master, 4096)
                    n.t_us += 1000
                    raw = n.node.rx(data, n.t_us)
                else:
                    rng = np.random.default_rng(n.t_us)
                    count = n.lib.hop_length + (n.lib.frame_length if n.t_us < 10**5 else 0)
                    n.t_us += 10**4
                    raw = n.node.push(0.01 * rng.standard_normal(count), n.t_us)
                n._frames(raw)
                self._out(n.out[before:], raw)
        except BaseException as exc:  # reported by the test
            self.error = exc


def tiny_bundle(out_dir: Any, *, tflite: str = "v1.tflite") -> Any:
    """A valid anomaly bundle around a committed int8 autoencoder (tests/vectors/model_update), default
    FeatureParams, zero mean / unit std normalisation: what ``vibsentry sign`` and ``deploy`` need, without
    training (seconds instead of a minute)."""
    from pathlib import Path

    from vibsentry.dsp.params import FeatureParams
    from vibsentry.runtime.bundle import FORMAT, FORMAT_VERSION, MODEL_FILE, SCORE_AUTOENCODER, save_bundle

    params = FeatureParams()
    model = (Path(__file__).resolve().parents[1] / "vectors" / "model_update" / tflite).read_bytes()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": "2026-12-06T00:00:00Z",
        "kind": "anomaly",
        "classes": [],
        "feature_params": params.to_dict(),
        "feature_hash": params.feature_hash,
        "normalisation": {
            "method": "zscore",
            "mean": [0.0] * params.n_features,
            "std": [1.0] * params.n_features,
        },
        "alarm": {"threshold": 50.0, "clear_threshold": 40.0, "k": 3, "n": 5},
        "score": {"definition": SCORE_AUTOENCODER},
    }
    return save_bundle(out_dir, meta=meta, files={MODEL_FILE: model})
