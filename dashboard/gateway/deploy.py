"""Send a signed model image to nodes: MODEL_BEGIN, MODEL_MANIFEST, MODEL_CHUNK..., MODEL_COMMIT, then watch the
trial (docs/deploy.md, docs/protocol.md section 5).

Flow control is stop-and-wait: every command waits for its ACK or NACK (matched by node, type and sequence
number) before the next one is sent; a command without an answer within ``timeout_s`` is sent again with the
same sequence number, which the node answers again without executing it twice. When the link itself breaks (a
gateway restarted, a port lost), :class:`Link.reconnect` is tried until ``reconnect_s`` runs out and the
pending command is resent. If a chunk comes back NACK OUT_OF_ORDER, the MODEL_STATUS that follows it says how
many bytes the node holds and the transfer resumes there.

A link is anything with ``send(frame)``, ``recv(timeout_s) -> list[Frame]`` (frames from nodes),
``reconnect()`` and ``close()``: :class:`GatewayLink` talks to a running gateway's command socket
(``dashboard/gateway/commands.py``), :class:`SerialLink` opens a port directly when no gateway runs.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vibsentry import protocol as vp
from vibsentry.errors import DeployError

#: Data bytes per MODEL_CHUNK (the protocol's maximum).
CHUNK_BYTES = 1000
STATE_NAMES = {int(s): s.name.lower() for s in vp.ModelState}


class LinkLost(Exception):
    """The link broke (the caller reconnects)."""


class Link(Protocol):
    def send(self, frame: bytes) -> None: ...
    def recv(self, timeout_s: float) -> list[vp.Frame]: ...
    def reconnect(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class NodeReport:
    """What happened on one node.

    Attributes
    ----------
    node : int
    stage : str
        The last stage reached: ``refused`` (a NACK), ``sent`` (every chunk acknowledged), ``verified``
        (COMMIT acknowledged: signature, hash, counter, feature_hash and image checked on the node), ``trial``,
        ``confirmed`` or ``reverted``; ``unreachable`` when the node never answered.
    reason : str or None
        The NACK reason (``SIGNATURE``, ``COUNTER``...) or what went wrong.
    step : str or None
        The command that was refused.
    counter : int
    model_hash : str
        Hex SHA-256 of the model the node runs at the end.
    bytes_sent, resends, resumes : int
    """

    node: int
    stage: str = "unreachable"
    reason: str | None = None
    step: str | None = None
    counter: int = 0
    model_hash: str = ""
    bytes_sent: int = 0
    resends: int = 0
    resumes: int = 0

    @property
    def ok(self) -> bool:
        return self.stage in ("confirmed", "trial")

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"ok": self.ok}


@dataclass(frozen=True)
class Update:
    """A signed model: the image, the manifest's exact bytes and its 64-byte signature."""

    image: bytes
    manifest: bytes
    signature: bytes
    counter: int = 0

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.image).digest()

    @classmethod
    def from_bundle(cls, bundle: str | Path) -> Update:
        """Read ``model.vsm``, ``signed_manifest.json`` and ``.sig`` (check with verify_bundle first)."""
        from vibsentry.signing import MANIFEST_FILE, SIGNATURE_FILE

        b = Path(bundle)
        raw = (b / MANIFEST_FILE).read_bytes()
        doc = json.loads(raw)
        return cls(
            image=(b / str(doc["image"]["file"])).read_bytes(),
            manifest=raw,
            signature=(b / SIGNATURE_FILE).read_bytes(),
            counter=int(doc["counter"]),
        )


@dataclass
class _Session:
    link: Link
    node: int
    timeout_s: float
    retries: int
    reconnect_s: float
    report: NodeReport
    seq: int = field(default_factory=lambda: random.getrandbits(31))
    status: vp.ModelStatus | None = None

    def _absorb(self, frames: list[vp.Frame]) -> list[vp.Frame]:
        out = []
        for f in frames:
            if f.header.node_id != self.node:
                continue
            if isinstance(f.message, vp.ModelStatus):
                self.status = f.message
            out.append(f)
        return out

    def _recv(self, timeout_s: float) -> list[vp.Frame]:
        try:
            return self._absorb(self.link.recv(timeout_s))
        except LinkLost:
            self._reconnect()
            return []

    def _reconnect(self) -> None:
        deadline = time.monotonic() + self.reconnect_s
        delay = 0.1
        while True:
            try:
                self.link.reconnect()
                return
            except LinkLost as exc:
                if time.monotonic() >= deadline:
                    raise DeployError(
                        f"node {self.node}: link lost and not back within {self.reconnect_s:g} s ({exc})"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def command(self, msg: vp.Message) -> int:
        """Send ``msg`` until it is answered; 0 for ACK, else the NACK reason."""
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        frame = vp.encode(msg, node_id=self.node, seq=self.seq, timestamp_us=0)
        for attempt in range(self.retries + 1):
            if attempt:
                self.report.resends += 1
            try:
                self.link.send(frame)
            except LinkLost:
                self._reconnect()
                continue
            deadline = time.monotonic() + self.timeout_s
            while (left := deadline - time.monotonic()) > 0:
                for f in self._recv(left):
                    m = f.message
                    if (
                        isinstance(m, vp.Ack | vp.Nack)
                        and m.acked_seq == self.seq
                        and m.acked_type == msg.TYPE
                    ):
                        return 0 if isinstance(m, vp.Ack) else int(m.reason)
        raise DeployError(
            f"node {self.node}: no answer to {msg.TYPE.name} after {self.retries + 1} tries of {self.timeout_s:g} s"
        )

    def wait_status(self, pred: Callable[[vp.ModelStatus], bool], timeout_s: float) -> vp.ModelStatus | None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.status is not None and pred(self.status):
                return self.status
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._recv(min(left, 0.5))


def _reason_name(code: int) -> str:
    try:
        return vp.NackReason(code).name
    except ValueError:
        return f"reason {code}"


def deploy_node(
    link: Link,
    node: int,
    update: Update,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    timeout_s: float = 2.0,
    retries: int = 5,
    reconnect_s: float = 30.0,
    confirm_s: float = 60.0,
    progress: Callable[[int, int, int], None] | None = None,
) -> NodeReport:
    """Send ``update`` to ``node`` over ``link`` and follow it to confirmed or reverted.

    Parameters
    ----------
    link : Link
    node : int
        Node id (u16).
    update : Update
    chunk_bytes : int
        1..1000 data bytes per MODEL_CHUNK.
    timeout_s : float
        Seconds to wait for each ACK/NACK before resending.
    retries : int
        Resends per command before giving up (DeployError).
    reconnect_s : float
        How long a broken link may stay down.
    confirm_s : float
        How long to watch the trial for CONFIRMED or REVERTED after COMMIT (0: do not wait; stage ``trial``).
    progress : callable (node, bytes_done, bytes_total), optional

    Returns
    -------
    NodeReport
    """
    if not 1 <= chunk_bytes <= CHUNK_BYTES:
        raise DeployError(f"chunk size {chunk_bytes}: must be 1..{CHUNK_BYTES}")
    rep = NodeReport(node)
    s = _Session(link, node, timeout_s, retries, reconnect_s, rep)
    total = len(update.image)
    sha = update.sha256

    def refused(step: str, code: int) -> NodeReport:
        rep.stage, rep.step, rep.reason = "refused", step, _reason_name(code)
        return rep

    if code := s.command(vp.ModelBegin(total_size=total, sha256=sha, chunk_size=chunk_bytes)):
        return refused("MODEL_BEGIN", code)
    if code := s.command(vp.ModelManifest(signature=update.signature, manifest=update.manifest)):
        return refused("MODEL_MANIFEST", code)
    off = 0
    while off < total:
        data = update.image[off : off + chunk_bytes]
        s.status = None  # an OUT_OF_ORDER answer is followed by a fresh MODEL_STATUS: wait for that one
        code = s.command(vp.ModelChunk(offset=off, data=data))
        if code == vp.NackReason.OUT_OF_ORDER:
            # the node holds another amount (a resent chunk after a lost ACK, a restarted link): continue there
            st = s.wait_status(lambda m: m.staged_total == total, timeout_s)
            if st is None or (st.staged_bytes % chunk_bytes and st.staged_bytes != total):
                return refused("MODEL_CHUNK", code)
            off = st.staged_bytes
            rep.resumes += 1
            continue
        if code:
            return refused("MODEL_CHUNK", code)
        off += len(data)
        rep.bytes_sent += len(data)
        if progress is not None:
            progress(node, off, total)
    rep.stage = "sent"
    s.status = None
    if code := s.command(vp.ModelCommit(sha256=sha)):
        return refused("MODEL_COMMIT", code)
    rep.stage = "verified"
    st = s.wait_status(lambda m: m.model_state in (vp.ModelState.TRIAL, vp.ModelState.REVERTED), timeout_s)
    if st is not None:
        rep.stage = STATE_NAMES[st.model_state]
        if confirm_s > 0 and st.model_state == vp.ModelState.TRIAL:
            done = s.wait_status(lambda m: m.model_state != vp.ModelState.TRIAL, confirm_s)
            st = done or st
            rep.stage = STATE_NAMES[st.model_state]
        if st.model_state == vp.ModelState.REVERTED and st.last_error:
            rep.reason = f"self-test failed ({_reason_name(st.last_error)})"
        rep.counter, rep.model_hash = st.counter, st.model_hash.hex()
    return rep


# --- links ----------------------------------------------------------------------------------------------------


class GatewayLink:
    """The command socket of a running gateway (``DATA_DIR/gateway.sock``; see dashboard/gateway/commands.py).

    Parameters
    ----------
    socket_path : path-like
    nodes : sequence of int
        Node ids whose ACK/NACK/MODEL_STATUS/HELLO frames the gateway forwards to this client.
    """

    def __init__(self, socket_path: str | Path, nodes: list[int]) -> None:
        self.path = str(socket_path)
        self.nodes = list(nodes)
        self.sock: socket.socket | None = None
        self._buf = b""
        self.reconnect()

    def reconnect(self) -> None:
        self.close()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.path)
            s.sendall(json.dumps({"subscribe": self.nodes}).encode() + b"\n")
        except OSError as exc:
            s.close()
            raise LinkLost(f"gateway command socket {self.path}: {exc.strerror or exc}") from None
        self.sock, self._buf = s, b""

    def send(self, frame: bytes) -> None:
        if self.sock is None:
            raise LinkLost("not connected")
        f = vp.decode_frame(frame[:-1])
        try:
            self.sock.sendall(json.dumps({"node": f.header.node_id, "send": frame.hex()}).encode() + b"\n")
        except OSError as exc:
            raise LinkLost(str(exc)) from None

    def recv(self, timeout_s: float) -> list[vp.Frame]:
        if self.sock is None:
            raise LinkLost("not connected")
        self.sock.settimeout(max(timeout_s, 0.001))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return []
        except OSError as exc:
            raise LinkLost(str(exc)) from None
        if not data:
            raise LinkLost("gateway closed the command socket")
        self._buf += data
        out = []
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            msg = json.loads(line)
            if "error" in msg:
                if msg.get("retry"):
                    raise LinkLost(f"gateway: {msg['error']}")
                raise DeployError(f"gateway: {msg['error']}")
            if "frame" in msg:
                out.append(vp.decode_frame(bytes.fromhex(msg["frame"])[:-1]))
        return out

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class SerialLink:
    """A node's port opened directly (no gateway running on it)."""

    def __init__(self, url: str, baud: int = 115200) -> None:
        self.url, self.baud = url, baud
        self.ser: Any = None
        self.dec = vp.Decoder()
        self.reconnect()

    def reconnect(self) -> None:
        from vibsentry.dashboard.gateway.service import open_port

        self.close()
        try:
            self.ser = open_port(self.url, self.baud)
        except Exception as exc:  # pyserial: SerialException / OSError / ValueError
            raise LinkLost(f"{self.url}: {exc}") from None

    def send(self, frame: bytes) -> None:
        try:
            self.ser.write(frame)
        except Exception as exc:
            raise LinkLost(f"{self.url}: {exc}") from None

    def recv(self, timeout_s: float) -> list[vp.Frame]:
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                n = self.ser.in_waiting
                data = self.ser.read(n if n > 0 else 1)
                frames = self.dec.feed(data) if data else []
                if frames or time.monotonic() >= deadline:
                    return frames
        except Exception as exc:
            raise LinkLost(f"{self.url}: {exc}") from None

    def close(self) -> None:
        if self.ser is not None:
            try:
                self.ser.close()
            finally:
                self.ser = None
