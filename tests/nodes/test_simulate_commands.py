"""``vibsentry simulate`` answers host commands: the real simulate process behind a real pty, the real
``vibsentry ingest`` on it, commands sent the way the dashboard and ``vibsentry deploy`` send them (the gateway's
command socket, ``GatewayLink``), for both node engines (the C vs_node through ctypes, the Python reference).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.ingest import rows, simulated_node_and_gateway, wait_for
from tests.support.update_node import tiny_bundle
from vibsentry import protocol as vp

NODE = 5
CAPTURE_N = 1500  # samples asked for (3 RAW_CHUNKs of at most 500)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy anomaly bundle (threshold 50), with the C node library built for it ahead of the run."""
    from vibsentry.runtime.bundle import load_bundle

    b = Path(tiny_bundle(tmp_path_factory.mktemp("simcmd") / "bundle"))
    from vibsentry.nodes.cnode import build_node_library, c_node_available

    if c_node_available() is None:
        build_node_library(load_bundle(b))
    return b


def _one(db: Path, sql: str, *params: object) -> tuple:
    """The first row of ``sql`` (empty tuple while the store does not exist yet)."""
    r = rows(db, sql, params)
    return r[0] if r else ()


class Client:
    """The dashboard's side of the gateway command socket; keeps every frame the gateway forwards."""

    def __init__(self, sock: Path) -> None:
        from vibsentry.dashboard.gateway.deploy import GatewayLink, LinkLost

        self.frames: list[vp.Frame] = []
        self.seq = 0
        deadline = time.monotonic() + 30
        while True:
            try:
                self.link = GatewayLink(sock, [NODE])
                return
            except LinkLost:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def command(self, msg: vp.Message, timeout: float = 30.0) -> vp.Frame:
        """Send ``msg`` to the node and return its ACK or NACK (the gateway asks to retry until the node is
        heard on its port)."""
        from vibsentry.dashboard.gateway.deploy import LinkLost

        self.seq += 1
        frame = vp.encode(msg, node_id=NODE, seq=self.seq, timestamp_us=0)
        deadline = time.monotonic() + timeout
        self.link.send(frame)
        while time.monotonic() < deadline:
            try:
                got = self.link.recv(0.2)
            except LinkLost:  # "not heard yet": send again (same seq: a retry to the node)
                time.sleep(0.2)
                self.link.reconnect()
                self.link.send(frame)
                continue
            self.frames += got
            for f in got:
                if isinstance(f.message, vp.Ack | vp.Nack) and f.message.acked_seq == self.seq:
                    return f
        raise AssertionError(f"no ACK/NACK to {type(msg).__name__} within {timeout} s")

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.frames += self.link.recv(0.1)


@pytest.mark.parametrize("engine", ["python", "c"])
def test_commands_through_the_gateway_reach_a_simulated_node(
    engine: str, bundle: Path, tmp_path: Path
) -> None:
    from vibsentry.nodes.cnode import c_node_available
    from vibsentry.nodes.virtual import PY_RAW_LIMIT_S

    if engine == "c" and (reason := c_node_available()) is not None:
        pytest.skip(f"C node unavailable: {reason}")
    link, data = tmp_path / "node.pty", tmp_path / "gw"
    with simulated_node_and_gateway(
        link, data,
        ["--bundle", str(bundle), "--engine", engine, "--node-id", str(NODE), "--machine", "pump",
         "--duration", "40", "--speed", "2", "--features-every", "0", "--status-every", "2"],
        stderr=tmp_path / "simulate.err",
    ) as (sim, _):  # fmt: skip
        db = data / "vibsentry.sqlite"
        wait_for(lambda: _one(db, "SELECT count(*) FROM scores WHERE node = ?", NODE) > (0,), 60, "scores")
        client = Client(data / "gateway.sock")
        # garbage on the line first (written to the pty like the gateway's own writes): counted, never fatal
        fd = os.open(link, os.O_WRONLY | os.O_NOCTTY)
        os.write(fd, b"\x05garbage\x00\x00\x17\xff\xfe\x01\x02\x03\x00")
        os.close(fd)

        # REQUEST_RAW (the dashboard's "request raw capture"): ACK, then a stored capture of that length
        reply = client.command(vp.RequestRaw(4242, CAPTURE_N, int(vp.SampleFormat.INT16)))
        assert isinstance(reply.message, vp.Ack), reply
        q = "SELECT count(*), sum(length(data)) / 2, max(n_chunks) FROM raw_chunks WHERE node = ? AND capture_id = ?"
        wait_for(lambda: _one(db, q, NODE, 4242)[:1] == (3,), 30, "the requested capture stored")
        assert rows(db, q, (NODE, 4242))[0] == (3, CAPTURE_N, 3)
        # One second, more than the C node's 2,048-sample ring: it streams the rest as it records it
        reply = client.command(vp.RequestRaw(4244, 12000, int(vp.SampleFormat.INT16)))
        assert isinstance(reply.message, vp.Ack), reply
        wait_for(lambda: _one(db, q, NODE, 4244)[:1] == (24,), 30, "the 1 s capture stored")
        assert rows(db, q, (NODE, 4244))[0] == (24, 12000, 24)
        too_many = (
            int(PY_RAW_LIMIT_S * 12000) + 1 if engine == "python" else build_node_library_raw_max(bundle) + 1
        )
        reply = client.command(vp.RequestRaw(4243, too_many, int(vp.SampleFormat.INT16)))
        assert isinstance(reply.message, vp.Nack) and reply.message.reason == vp.NackReason.TOO_LARGE, reply

        # SET_THRESHOLD: ACK, and the SCOREs after it carry the new threshold (the bundle's is 50)
        assert rows(db, "SELECT DISTINCT threshold FROM scores WHERE node = ?", (NODE,)) == [(50.0,)]
        reply = client.command(vp.SetThreshold(123.5, 100.0, 2, 4))
        assert isinstance(reply.message, vp.Ack), reply
        later = "SELECT count(*) FROM scores WHERE node = ? AND threshold = 123.5"
        wait_for(lambda: _one(db, later, NODE) >= (3,), 30, "SCOREs with the new threshold")
        bad = client.command(vp.SetThreshold(1.0, 2.0, 2, 4))  # clear above threshold
        assert isinstance(bad.message, vp.Nack) and bad.message.reason == vp.NackReason.BAD_VALUE, bad

        # MODEL_BEGIN: the Python engine has no model slots (NACK UNSUPPORTED); the C node's library was built
        # without model updates here: UNSUPPORTED too. One answer either way.
        reply = client.command(vp.ModelBegin(1000, bytes(32), 200))
        assert isinstance(reply.message, vp.Nack) and reply.message.reason == vp.NackReason.UNSUPPORTED, reply

        client.drain(2.0)  # a second answer to any command would arrive by now
        answers = Counter(
            f.message.acked_seq for f in client.frames if isinstance(f.message, vp.Ack | vp.Nack)
        )
        assert answers == Counter({s: 1 for s in range(1, client.seq + 1)}), answers
        assert sim.wait(60) == 0
        err = (tmp_path / "simulate.err").read_text()
        assert "ignored" in err and " undecodable" in err, err
        n_bad = int(err.split("ignored ")[1].split(" undecodable")[0])
        assert n_bad >= 2, err  # two undecodable frames were written (the 0x00 run is not a frame)


def build_node_library_raw_max(bundle: Path) -> int:
    """VS_NODE_RAW_MAX_SAMPLES of the C node built for ``bundle`` (its REQUEST_RAW limit)."""
    from vibsentry.nodes.cnode import build_node_library
    from vibsentry.runtime.bundle import load_bundle

    return int(build_node_library(load_bundle(bundle)).raw_max)


def test_python_engine_follows_vs_node_rules_in_process() -> None:
    """Queued commands on a Python-engine node: retries answered again but carried out once, foreign ids
    ignored, SET_THRESHOLD keeps the alarm state, BASELINE_LEARN learns, REQUEST_RAW takes the heard samples."""
    from vibsentry.nodes.virtual import NodeSpec, VirtualNode

    node = VirtualNode(NodeSpec(NODE, "m"), duration_s=12.0, engine="python", features_every=0)

    def wire(msg: vp.Message, seq: int, node_id: int = NODE) -> bytes:
        return vp.encode(msg, node_id=node_id, seq=seq, timestamp_us=0)

    stream = node.messages()
    head = [vp.decode_frame(next(stream)[1][:-1]) for _ in range(50)]
    assert not any(isinstance(f.message, vp.Ack | vp.Nack) for f in head)
    for frame in (
        wire(vp.SetThreshold(9.0, 8.0, 1, 2), 1),
        wire(vp.SetThreshold(9.0, 8.0, 1, 2), 1),  # a retry
        wire(vp.SetThreshold(9.0, 8.0, 1, 2), 2, node_id=NODE + 1),  # not ours: no answer
        wire(vp.RequestRaw(7, 700, int(vp.SampleFormat.INT16)), 3),
        wire(vp.RequestRaw(8, 700, int(vp.SampleFormat.FLOAT32)), 4),
        wire(vp.BaselineLearn(int(vp.BaselineAction.START), 64, 0.0), 5),
        b"\x03\x01\x02\x00",  # undecodable: counted
        wire(vp.ModelCommit(bytes(32)), 6),
    ):
        node.deliver(frame)
    rest = [(t, vp.decode_frame(f[:-1])) for t, f in stream]
    replies = [(type(f.message).__name__, f.message.acked_seq, getattr(f.message, "reason", 0))
               for _, f in rest if isinstance(f.message, vp.Ack | vp.Nack)]  # fmt: skip
    assert replies == [("Ack", 1, 0), ("Ack", 1, 0), ("Ack", 3, 0), ("Nack", 4, vp.NackReason.UNSUPPORTED),
                       ("Ack", 5, 0), ("Nack", 6, vp.NackReason.UNSUPPORTED)]  # fmt: skip
    chunks = [f.message for _, f in rest if isinstance(f.message, vp.RawChunk)]
    assert [c.capture_id for c in chunks] == [7, 7] and sum(len(c.samples) for c in chunks) == 700
    scores = [f.message for _, f in rest if isinstance(f.message, vp.Score)]
    assert scores[0].threshold == 9.0
    progress = [f.message for _, f in rest if isinstance(f.message, vp.BaselineProgress)]
    assert progress[0].state == vp.BaselineState.LEARNING and progress[-1].state == vp.BaselineState.DONE
    learned = [s.threshold for s in scores if s.threshold != 9.0]
    assert learned and len(set(learned)) == 1  # the learned threshold replaced SET_THRESHOLD's
    status = [f.message for _, f in rest if isinstance(f.message, vp.Status)]
    assert status[-1].rx_frames == 6 and status[-1].rx_errors == 1  # the retry is a frame too
