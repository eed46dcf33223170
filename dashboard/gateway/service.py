"""The ingest gateway: one reader thread per port, one delivery thread per store, the journal between.

Data path for every frame: port bytes -> :class:`vibsentry.protocol.Decoder` -> :class:`Tracker` (sequence,
boot epoch, feature_hash) -> :class:`Journal` append (durable) -> delivery thread -> ``Store.write`` ->
journal cursor advanced. Nothing reaches a store before it is in the journal, and the cursor moves only after
the store acknowledged, so a crash anywhere replays (idempotently) instead of losing.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vibsentry import protocol as vp
from vibsentry.dashboard.gateway.commands import SOCKET_NAME, CommandServer
from vibsentry.dashboard.gateway.journal import Journal, NodeState
from vibsentry.dashboard.gateway.tracker import Quarantined, Tracker
from vibsentry.dashboard.store.base import Store
from vibsentry.dashboard.store.records import Record
from vibsentry.errors import StoreError, StoreRejected, VibsentryError
from vibsentry.fileio import write_atomic

log = logging.getLogger("vibsentry.ingest")


class GatewayFailed(VibsentryError):
    """A gateway thread died of an unexpected error; the gateway stopped instead of running on deaf."""


def _quarantine_row(
    frame: vp.Frame, port: str | None, reason: str
) -> tuple[int, str | None, int, int, str, str]:
    h = frame.header
    doc = {
        "header": {
            "version": h.version,
            "msg_type": h.msg_type,
            "node_id": h.node_id,
            "seq": h.seq,
            "timestamp_us": h.timestamp_us,
        },
        "message": vp.message_to_dict(frame.message),
    }
    return (time.time_ns(), port, h.node_id, h.seq, reason, json.dumps(doc, default=repr))


@dataclass(frozen=True)
class GatewayConfig:
    """Settings of one gateway process.

    Parameters
    ----------
    ports : tuple of str
        Device paths (``/dev/ttyUSB0``, a pty symlink) or pyserial URLs (``socket://``, ``rfc2217://``,
        ``loop://``).
    baud : int
        Serial baud rate (ignored by ptys and sockets).
    data_dir : Path
        Where the journal and the status file live.
    journal_sync : str
        ``"FULL"`` or ``"NORMAL"`` (SQLite ``synchronous`` of the journal).
    expected_feature_hash : str or None
        The deployed bundle's feature_hash; nodes reporting another one are flagged ``hash_mismatch``.
    machines : mapping of int to str
        Machine names by node id.
    reconnect_min_s, reconnect_max_s : float
        Exponential backoff bounds, in seconds, for reopening a lost port.
    status_interval_s : float
        Period of the status file (``ingest-status.json``) rewrite, in seconds.
    """

    ports: tuple[str, ...]
    baud: int = 115200
    data_dir: Path = Path(".vibsentry") / "data"
    journal_sync: str = "FULL"
    expected_feature_hash: str | None = None
    machines: Mapping[int, str] = field(default_factory=dict)
    reconnect_min_s: float = 0.1
    reconnect_max_s: float = 5.0
    status_interval_s: float = 1.0

    @property
    def journal_path(self) -> Path:
        """The journal file (``data_dir/journal.sqlite``)."""
        return Path(self.data_dir) / "journal.sqlite"

    @property
    def status_path(self) -> Path:
        """The status file ``vibsentry ingest --status`` reads."""
        return Path(self.data_dir) / "ingest-status.json"


@dataclass(frozen=True)
class SinkConfig:
    """Delivery settings for one store: at most one write per ``flush_interval_s`` unless a full batch waits."""

    batch_size: int = 2000
    flush_interval_s: float = 0.05
    retry_min_s: float = 0.2
    retry_max_s: float = 10.0


def open_port(url: str, baud: int, timeout: float = 0.05) -> Any:
    """Open ``url`` (a device path or pyserial URL) with pyserial, raw 8N1, read timeout ``timeout`` s.

    pyserial flushes the input when it opens a port (serial devices, and ``socket://`` by reading and
    discarding whatever has arrived). Here that flush is skipped: bytes a node sent while the gateway was down
    or reconnecting are data, not noise, and the decoder resynchronises on anything partial.
    """
    import serial

    ser = serial.serial_for_url(url, baudrate=baud, timeout=timeout, do_not_open=True)
    names = [n for n in ("reset_input_buffer", "_reset_input_buffer") if hasattr(ser, n)]
    for name in names:
        setattr(ser, name, lambda: None)  # instance attributes shadow the methods during open()
    try:
        ser.open()
    finally:
        for name in names:
            delattr(ser, name)
    return ser


def backoff_delay(attempt: int, lo: float, hi: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [lo, min(hi, lo * 2**attempt)] seconds."""
    top = min(hi, lo * (2 ** min(attempt, 30)))
    return (rng or random).uniform(lo, top)


class _Sink:
    def __init__(self, name: str, store: Store, cfg: SinkConfig) -> None:
        self.name = name
        self.store = store
        self.cfg = cfg
        self.wake = threading.Event()
        self.delivered = 0
        self.failures = 0
        self.rejected = 0
        self.last_error: str | None = None
        self.thread: threading.Thread | None = None


class Gateway:
    """Decode, journal and deliver; see the module docstring.

    Parameters
    ----------
    config : GatewayConfig
        Ports and journal settings.
    stores : mapping of str to Store
        Destinations by sink name (the name keys the journal cursor: keep it stable across restarts).
    sink_config : SinkConfig or mapping of str to SinkConfig
        Delivery settings (one for all, or per sink name).
    """

    def __init__(
        self,
        config: GatewayConfig,
        stores: Mapping[str, Store],
        sink_config: SinkConfig | Mapping[str, SinkConfig] | None = None,
    ) -> None:
        self.config = config
        self.journal = Journal(config.journal_path, synchronous=config.journal_sync)
        self.tracker = Tracker(
            self.journal.node_states(),
            expected_feature_hash=config.expected_feature_hash,
            machines=config.machines,
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sinks: list[_Sink] = []
        for name, store in stores.items():
            sc = sink_config.get(name, SinkConfig()) if isinstance(sink_config, Mapping) else sink_config
            self._sinks.append(_Sink(name, store, sc or SinkConfig()))
        self.ports: dict[str, dict[str, Any]] = {}
        self.journal_error: str | None = None
        self.journaled = 0
        self.started_ns = time.time_ns()
        self._threads: list[threading.Thread] = []
        self._final_status: dict[str, Any] | None = None
        self._queue: queue.Queue[tuple[str, list[vp.Frame]]] = queue.Queue(maxsize=256)
        self._readers_done = threading.Event()
        self._journal_done = threading.Event()
        self._drain_deadline = float("inf")
        #: Set when a gateway thread died of an unexpected error; run_forever then stops and raises.
        self.fatal: str | None = None
        self.quarantined = 0
        #: Host -> node commands (docs/deploy.md): the port each node was last heard on, and the socket server.
        self._node_port: dict[int, str] = {}
        self.commands: CommandServer | None = None

    # -- ingest ----------------------------------------------------------------------------------------
    def _quarantine(self, rows: list[tuple[int, str | None, int, int, str, str]]) -> None:
        self.journal.quarantine(rows)
        with self._lock:
            self.quarantined += len(rows)
        for row in rows:
            log.warning("quarantined a frame from %s: %s", row[1], row[4])

    def _journal(self, records: list[Record], states: dict[int, NodeState]) -> None:
        try:
            self.journal.append(records, states)
        except StoreError:
            raise
        except (OverflowError, ValueError, TypeError) as exc:
            # One record the journal cannot hold must not poison the batch: find it, keep the rest.
            log.warning("journal refused a batch of %d (%s): appending one by one", len(records), exc)
            self._journal_one_by_one(records, states)
        with self._lock:
            self.journaled += len(records)
            if self.journal_error:
                log.info("journal writable again")
            self.journal_error = None
        for s in self._sinks:
            s.wake.set()

    def _read_port(self, url: str) -> None:
        info = self.ports[url]
        dec = vp.Decoder()
        info["decoder"] = dec
        attempt = 0
        while not self._stop.is_set():
            try:
                ser = open_port(url, self.config.baud)
            except Exception as exc:  # pyserial raises SerialException, ValueError or OSError
                info["state"] = "reconnecting"
                info["last_error"] = str(exc)
                delay = backoff_delay(attempt, self.config.reconnect_min_s, self.config.reconnect_max_s)
                if attempt == 0:
                    log.warning("port %s: cannot open (%s); retrying with backoff", url, exc)
                attempt += 1
                self._stop.wait(delay)
                continue
            if attempt:
                log.info("port %s: reconnected after %d attempt(s)", url, attempt)
            attempt = 0
            info["state"] = "open"
            info["opens"] += 1
            info["serial"] = ser
            dec.reset()
            try:
                while not self._stop.is_set():
                    n = ser.in_waiting
                    data = ser.read(n if n > 0 else 1)
                    if not data:
                        continue
                    if ser.in_waiting:
                        data += ser.read(ser.in_waiting)
                    frames = dec.feed(data)
                    for f in frames:
                        self._node_port[f.header.node_id] = url
                    if frames and self.commands is not None:
                        self.commands.forward(frames)
                    if frames:
                        # Bounded queue: while the journal refuses writes (full disk) this blocks, the port
                        # is no longer read, and its buffer and flow control hold the node back.
                        self._queue.put((url, frames))
            except Exception as exc:  # SerialException / OSError (EIO) when the device goes away
                if self._stop.is_set():
                    break
                info["state"] = "reconnecting"
                info["last_error"] = str(exc)
                info["losses"] += 1
                log.warning("port %s: lost (%s); reconnecting", url, exc)
            finally:
                info["serial"] = None
                try:
                    ser.close()
                except Exception:
                    pass
        info["state"] = "closed"

    def _write_journal(self) -> None:
        """Group commit: every frame decoded on any port since the last commit goes in one transaction."""
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._readers_done.is_set():
                    return
                continue
            items = [item]
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            bad: list[tuple[int, str | None, int, int, str, str]] = []
            with self._lock:
                records = []
                for url, frames in items:
                    for f in frames:
                        try:
                            r = self.tracker.process(f, url)
                        except Quarantined as exc:
                            bad.append(_quarantine_row(f, url, str(exc)))
                            continue
                        if r is not None:
                            records.append(r)
                states = self.tracker.take_dirty()
            while True:
                try:
                    if bad:
                        self._quarantine(bad)
                        bad = []
                    self._journal(records, states)
                    break
                except StoreError as exc:
                    self._note_journal_error(exc)
                    if self._readers_done.is_set() and self._drain_deadline < time.monotonic():
                        log.error(
                            "%d decoded messages could not be journaled at shutdown: %s", len(records), exc
                        )
                        return
                    time.sleep(1.0)

    def _journal_one_by_one(self, records: list[Record], states: dict[int, NodeState]) -> None:
        for r in records:
            try:
                self.journal.append([r])
            except StoreError:
                raise
            except (OverflowError, ValueError, TypeError) as exc:
                with self._lock:
                    cnt = self.tracker.nodes.get(r.node)
                    if cnt is not None:
                        cnt.quarantined += 1
                frame = json.dumps(
                    {
                        "kind": r.kind,
                        "node": r.node,
                        "ts_ns": str(r.ts_ns),
                        "seq": r.seq,
                        "fields": repr(r.fields),
                    }
                )
                self._quarantine([(time.time_ns(), r.port, r.node, r.seq, f"not journaled: {exc}", frame)])
        for n, st in states.items():
            try:
                self.journal.append([], {n: st})
            except (OverflowError, ValueError, TypeError) as exc:
                # Only the resume point of this node's boot is lost; its records are journaled above.
                log.error("node %d: boot state not journaled (%s): %s", n, exc, st)

    def _guarded(self, name: str, target: Callable[..., None], *args: Any) -> Callable[[], None]:
        """Run ``target`` as a thread body; an unexpected error stops the whole gateway loudly.

        A gateway whose journal or delivery thread died while the process stayed up would silently drop
        every later frame. Instead the error is logged with its traceback, recorded in the status file, and
        :meth:`run_forever` stops and raises, so the process exits non-zero and a supervisor restarts it
        (the journal makes the restart lossless).
        """

        def body() -> None:
            try:
                target(*args)
            except BaseException as exc:
                msg = f"gateway thread {name!r} died: {type(exc).__name__}: {exc}"
                log.critical("%s\n%s", msg, traceback.format_exc())
                with self._lock:
                    if self.fatal is None:
                        self.fatal = msg
                self._stop.set()

        return body

    def _note_journal_error(self, exc: StoreError) -> None:
        with self._lock:
            first = self.journal_error is None
            self.journal_error = str(exc)
        if first:
            log.error("%s; not reading further until the journal accepts it (nothing is dropped)", exc)

    # -- delivery --------------------------------------------------------------------------------------
    def _deliver(self, sink: _Sink) -> None:
        attempt = 0
        last_write = 0.0
        last_compact = time.monotonic()
        cfg = sink.cfg
        while True:
            # Stop only after the journal writer has finished, so its last batch is delivered too.
            stopping = self._journal_done.is_set()
            if not stopping:
                sink.wake.wait(cfg.flush_interval_s)
                sink.wake.clear()
                wait = cfg.flush_interval_s - (time.monotonic() - last_write)
                if wait > 0 and self.journal.backlog(sink.name) < cfg.batch_size:
                    self._stop.wait(wait)
            while True:
                batch = self.journal.pending(sink.name, limit=cfg.batch_size)
                if not batch:
                    break
                try:
                    try:
                        sink.store.write([r for _, r in batch])
                    except StoreRejected:
                        self._write_one_by_one(sink, batch)
                except StoreError as exc:
                    sink.failures += 1
                    if sink.last_error is None:
                        log.warning(
                            "store %s: %s; retrying with backoff (journal keeps the data)",
                            sink.store.description,
                            exc,
                        )
                    sink.last_error = str(exc)
                    if self._stop.is_set() and self._drain_deadline < time.monotonic():
                        return
                    delay = backoff_delay(attempt, cfg.retry_min_s, cfg.retry_max_s)
                    if self._stop.is_set():
                        time.sleep(min(delay, 0.5))
                    else:
                        self._stop.wait(delay)
                    attempt += 1
                    continue
                if sink.last_error is not None:
                    log.info("store %s: writes succeed again", sink.store.description)
                sink.last_error = None
                attempt = 0
                try:
                    self.journal.mark_delivered(sink.name, batch[-1][0])
                except StoreError as exc:
                    # The store has the batch but the journal's disk refused the cursor (disk full): nothing
                    # is lost, the batch is delivered again later and the store's keys make that idempotent.
                    sink.last_error = str(exc)
                    log.warning("%s; will deliver the batch again", exc)
                    if self._stop.is_set() and self._drain_deadline < time.monotonic():
                        return
                    if self._stop.is_set():
                        time.sleep(0.2)
                    else:
                        self._stop.wait(backoff_delay(attempt, cfg.retry_min_s, cfg.retry_max_s))
                    continue
                sink.delivered += len(batch)
                last_write = time.monotonic()
            if stopping:
                return
            if time.monotonic() - last_compact > 5.0:
                self.journal.compact(s.name for s in self._sinks)
                last_compact = time.monotonic()

    def _write_one_by_one(self, sink: _Sink, batch: list[tuple[int, Record]]) -> None:
        """Write a refused batch record by record; skip (log and count) the records refused on their own.

        Raises :class:`StoreError` for a transient failure, so the whole batch is retried later.
        """
        for jid, rec in batch:
            try:
                sink.store.write([rec])
            except StoreRejected as exc:
                sink.rejected += 1
                log.error(
                    "store %s refused journal record %d (%s node %d seq %d), skipped: %s",
                    sink.store.description,
                    jid,
                    rec.kind,
                    rec.node,
                    rec.seq,
                    exc,
                )

    # -- status ----------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot of every counter (what ``--status`` prints)."""
        if self._final_status is not None:
            return self._final_status
        with self._lock:
            nodes = {str(n): dict(vars(c)) for n, c in self.tracker.nodes.items()}
            journal_error = self.fatal or self.journal_error
            journaled = self.journaled
            quarantined = self.quarantined
        ports = {}
        for url, info in self.ports.items():
            dec = info.get("decoder")
            ports[url] = {
                "state": info["state"],
                "opens": info["opens"],
                "losses": info["losses"],
                "last_error": info["last_error"],
                "commands": info["commands"],
                "decoder": dict(dec.counters) if dec is not None else {},
            }
        return {
            "pid": os.getpid(),
            "updated_ns": time.time_ns(),
            "started_ns": self.started_ns,
            "journal": {
                "path": str(self.config.journal_path),
                "journaled": journaled,
                "quarantined": quarantined,
                "error": journal_error,
            },
            "fatal": self.fatal,
            "ports": ports,
            "nodes": nodes,
            "sinks": {
                s.name: {
                    "store": s.store.description,
                    "delivered": s.delivered,
                    "failures": s.failures,
                    "rejected": s.rejected,
                    "backlog": self.journal.backlog(s.name),
                    "last_error": s.last_error,
                }
                for s in self._sinks
            },
            "ignored_frames": self.tracker.ignored,
        }

    def write_status(self) -> None:
        """Write :meth:`status` to ``status_path`` atomically (temp file + rename)."""
        try:
            # Advisory and rewritten every second: no fsync.
            write_atomic(
                self.config.status_path, json.dumps(self.status(), indent=1, sort_keys=True), fsync=False
            )
        except OSError:
            pass  # a full disk must not stop ingest; the status file is advisory

    def _write_command(self, node: int, frame: bytes) -> str | None:
        """Write a host -> node frame to the port ``node`` was last heard on (the command socket's writer)."""
        url = self._node_port.get(node)
        if url is None:
            return f"node {node} has not been heard on any port of this gateway"
        info = self.ports[url]
        with info["write_lock"]:
            ser = info.get("serial")
            if ser is None:
                return f"port {url} of node {node} is not open ({info['state']})"
            try:
                ser.write(frame)
            except Exception as exc:  # SerialException / OSError: the reader notices and reconnects
                return f"port {url}: write failed ({exc})"
        info["commands"] += 1
        return None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start reader, journal, delivery, status and command-socket threads."""
        for url in self.config.ports:
            self.ports[url] = {"state": "opening", "opens": 0, "losses": 0, "last_error": None, "commands": 0,
                               "serial": None, "write_lock": threading.Lock()}  # fmt: skip
            t = threading.Thread(
                target=self._guarded(f"port:{url}", self._read_port, url), name=f"port:{url}", daemon=True
            )
            self._threads.append(t)
        try:
            Path(self.config.data_dir).mkdir(parents=True, exist_ok=True)
            self.commands = CommandServer(Path(self.config.data_dir) / SOCKET_NAME, self._write_command)
            self.commands.start()
        except OSError as exc:  # e.g. a socket path longer than AF_UNIX allows: ingest goes on without it
            log.warning("command socket not available (%s): vibsentry deploy cannot use this gateway", exc)
        for s in self._sinks:
            s.thread = threading.Thread(
                target=self._guarded(f"sink:{s.name}", self._deliver, s), name=f"sink:{s.name}", daemon=True
            )
        self._status_thread = threading.Thread(target=self._status_loop, name="status", daemon=True)
        self._writer = threading.Thread(
            target=self._guarded("journal", self._write_journal), name="journal", daemon=True
        )
        self._writer.start()
        for t in self._threads:
            t.start()
        for s in self._sinks:
            assert s.thread is not None
            s.thread.start()
        self._status_thread.start()

    def _status_loop(self) -> None:
        while not self._stop.wait(self.config.status_interval_s):
            self.write_status()

    def stop(self, *, drain_s: float = 5.0) -> None:
        """Stop reading, deliver what is journaled (for at most ``drain_s`` s), write the status, close."""
        self._drain_deadline = time.monotonic() + drain_s
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2.0)
        self._readers_done.set()
        self._writer.join(timeout=drain_s + 2.0)
        self._journal_done.set()
        for s in self._sinks:
            s.wake.set()
            if s.thread is not None:
                s.thread.join(timeout=drain_s + 1.0)
        if self.commands is not None:
            self.commands.close()
        self.write_status()
        self._final_status = self.status()
        for s in self._sinks:
            s.store.close()
        self.journal.close()

    def run_forever(self) -> None:
        """Start and block until :meth:`request_stop` (or a signal handler calling it), then stop."""
        self.start()
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            self.stop()
        if self.fatal is not None:
            raise GatewayFailed(f"{self.fatal}; stopped (restart to resume: the journal keeps every message)")

    def request_stop(self) -> None:
        """Ask :meth:`run_forever` to return (safe from a signal handler)."""
        self._stop.set()
