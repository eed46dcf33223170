"""The plant collector: MQTT (shared subscription) -> store, exactly once, PUBACK only after the commit.

Data path: broker -> paho network thread (``on_message``, manual acknowledgement) -> queue -> writer thread:
decode a batch (:func:`~vibsentry.dashboard.gateway.mqtt.decode_message`) -> ``Store.write`` (one
transaction; the stores' keys make a redelivered message a no-op) -> PUBACK every message of the batch in
the order received. A collector killed between the commit and the PUBACKs gets those messages again from
its persistent session and stores nothing twice; one killed before the commit gets them again and stores
them then. Several collectors in the same shared-subscription group split the stream between them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibsentry.dashboard.gateway.mqtt import (
    TOPIC_ROOT,
    BrokerSettings,
    check_level,
    connect_properties,
    decode_message,
    make_client,
)
from vibsentry.dashboard.gateway.service import backoff_delay
from vibsentry.dashboard.store.base import Store
from vibsentry.dashboard.store.records import Record
from vibsentry.errors import StoreError, StoreRejected
from vibsentry.fileio import write_atomic

log = logging.getLogger("vibsentry.collect")

#: Receive Maximum the collector announces (MQTT 5): how many unacknowledged QoS 1 messages the broker may
#: have in flight to it. A batch commit acknowledges up to this many at once.
RECEIVE_MAXIMUM = 65535


@dataclass(frozen=True)
class CollectorConfig:
    """Settings of one collector process.

    Parameters
    ----------
    group : str
        Shared-subscription group: collectors with the same group split the messages (``$share/<group>/...``).
    client_id : str
        MQTT client id; keep it stable across restarts, it names the persistent session that holds the
        messages while this collector is down.
    shared : bool
        Subscribe through ``$share/<group>/`` (MQTT 5 brokers, mosquitto >= 2); False for a plain
        subscription (then every collector gets every message).
    batch_size : int
        Most messages per store transaction.
    flush_interval_s : float
        How long the writer gathers messages for one transaction after the first arrived, in seconds.
    status_path : Path or None
        JSON status file rewritten every second (``vibsentry collect --status``).
    protocol : {"5", "3.1.1"}
        MQTT version. 5 asks the broker for a 65535-message window itself (Receive Maximum); 3.1.1 costs
        less CPU per message in paho but needs ``max_inflight_messages 0`` (or large) in the broker config,
        else mosquitto keeps 20 messages in flight and every commit holds at most 20.
    """

    group: str = "vibsentry"
    client_id: str = "vibsentry-collector"
    shared: bool = True
    batch_size: int = 5000
    flush_interval_s: float = 0.05
    retry_min_s: float = 0.2
    retry_max_s: float = 10.0
    status_path: Path | None = None
    protocol: str = "5"

    @property
    def topic(self) -> str:
        """The subscription filter."""
        base = f"{TOPIC_ROOT}/#"
        return f"$share/{self.group}/{base}" if self.shared else base


@dataclass
class _Msg:
    gen: int
    mid: int
    topic: str
    payload: bytes


class Collector:
    """Subscribe, write the store, acknowledge; see the module docstring.

    Parameters
    ----------
    broker : BrokerSettings
        Broker address, TLS and credentials.
    store : Store
        Destination (SQLite or InfluxDB); its ``write`` must be idempotent and durable on return.
    config : CollectorConfig
        Group, client id, batching.
    """

    def __init__(self, broker: BrokerSettings, store: Store, config: CollectorConfig | None = None) -> None:
        self.broker = broker
        self.store = store
        self.config = config or CollectorConfig()
        check_level(self.config.group, "--group")
        self._queue: queue.SimpleQueue[_Msg] = queue.SimpleQueue()  # C queue: cheaper per message
        self._stop = threading.Event()
        self._connected = threading.Event()
        self.subscribed = threading.Event()
        self._gen = 0  # connection generation: a PUBACK is only valid on the connection that got the message
        self._lock = threading.Lock()
        self.received = 0
        self.written = 0
        self.acked = 0
        self.rejected = 0
        self.failures = 0
        self.origin_conflicts = 0
        self.last_error: str | None = None
        self.fatal: str | None = None
        self._origin: dict[int, tuple[str | None, str | None]] = {}
        self.started_ns = time.time_ns()
        self._client = make_client(
            broker,
            client_id=self.config.client_id,
            manual_ack=True,
            buffered=True,
            protocol=self.config.protocol,
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._writer: threading.Thread | None = None

    # -- paho callbacks (network thread) --------------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            why = f"{self.broker.description} refused the connection: {rc}"
            if why != self.last_error:
                log.error("%s", why)
            self.last_error = why
            return
        with self._lock:
            self._gen += 1
        log.info(
            "connected to %s as %s (session present: %s); subscribing %s",
            self.broker.description,
            self.config.client_id,
            flags.session_present,
            self.config.topic,
        )
        self.last_error = None
        client.subscribe(self.config.topic, qos=1)
        self._connected.set()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, rcs: Any, props: Any = None) -> None:
        bad = [rc for rc in rcs if rc.is_failure]
        if bad:
            self.last_error = (
                f"{self.broker.description} refused the subscription {self.config.topic}: {bad[0]}"
            )
            log.error("%s", self.last_error)
            return
        self.subscribed.set()
        self.write_status()  # tests and supervisors wait for "subscribed" before starting gateways

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if self._connected.is_set() and not self._stop.is_set():
            log.warning("disconnected from %s (%s); reconnecting", self.broker.description, rc)
        self._connected.clear()
        self.subscribed.clear()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        self.received += 1  # only this (network) thread writes it
        self._queue.put(_Msg(self._gen, msg.mid, msg.topic, msg.payload))

    # -- the writer thread ----------------------------------------------------------------------------
    def _take_batch(self) -> list[_Msg]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.config.flush_interval_s
        while len(batch) < self.config.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
        return batch

    def _decode(self, batch: list[_Msg]) -> list[Record]:
        records = []
        for m in batch:
            try:
                r = decode_message(m.topic, m.payload)
            except StoreRejected as exc:
                # Acknowledged and dropped: a broker would otherwise redeliver it forever.
                self.rejected += 1
                log.error("%s; dropped", exc)
                continue
            origin = (r.site, r.gateway)
            seen = self._origin.setdefault(r.node, origin)
            if seen != origin:
                self.origin_conflicts += 1
                if self.origin_conflicts == 1 or self.origin_conflicts % 1000 == 0:
                    log.error(
                        "node id %d arrives from %s/%s and from %s/%s: node ids must be unique in a plant "
                        "(the store keys rows by node id); %d such messages so far",
                        r.node,
                        *seen,
                        *origin,
                        self.origin_conflicts,
                    )
                self._origin[r.node] = origin
            records.append(r)
        return records

    def _write(self, records: list[Record]) -> bool:
        """Write with retries until it succeeds (True) or the collector stops (False)."""
        attempt = 0
        while True:
            try:
                try:
                    self.store.write(records)
                except StoreRejected:
                    self._write_one_by_one(records)
            except StoreError as exc:
                self.failures += 1
                if self.last_error is None:
                    log.warning(
                        "store %s: %s; retrying (the broker keeps the messages)", self.store.description, exc
                    )
                self.last_error = str(exc)
                if self._stop.wait(backoff_delay(attempt, self.config.retry_min_s, self.config.retry_max_s)):
                    return False
                attempt += 1
                continue
            if self.last_error is not None and attempt:
                log.info("store %s: writes succeed again", self.store.description)
                self.last_error = None
            return True

    def _write_one_by_one(self, records: list[Record]) -> None:
        for r in records:
            try:
                self.store.write([r])
            except StoreRejected as exc:
                self.rejected += 1
                log.error(
                    "store %s refused %s node %d seq %d, dropped: %s",
                    self.store.description,
                    r.kind,
                    r.node,
                    r.seq,
                    exc,
                )

    def _run_writer(self) -> None:
        try:
            while not self._stop.is_set():
                batch = self._take_batch()
                if not batch:
                    continue
                records = self._decode(batch)
                if records and not self._write(records):
                    return  # stopping before the commit: nothing acknowledged, the broker redelivers
                self.written += len(records)
                with self._lock:
                    gen = self._gen
                # PUBACK in the order received, and only on the connection that delivered the message: after
                # a reconnect the broker resends the unacknowledged ones itself (and their packet ids may be
                # reused), so a late PUBACK on the new connection could acknowledge a different message.
                mids = [m.mid for m in batch if m.gen == gen]
                if hasattr(self._client, "ack_batch"):
                    self._client.ack_batch(mids)
                else:  # paho without the private hooks the buffered client needs
                    for mid in mids:
                        self._client.ack(mid, 1)
                self.acked += len(mids)
        except BaseException as exc:
            self.fatal = f"collector writer died: {type(exc).__name__}: {exc}"
            log.critical("%s", self.fatal, exc_info=True)
            self._stop.set()

    # -- status and lifecycle -------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot of the counters."""
        return {
            "updated_ns": time.time_ns(),
            "started_ns": self.started_ns,
            "broker": self.broker.description,
            "client_id": self.config.client_id,
            "subscription": self.config.topic,
            "connected": self._connected.is_set(),
            "subscribed": self.subscribed.is_set(),
            "store": self.store.description,
            "received": self.received,
            "written": self.written,
            "acked": self.acked,
            "rejected": self.rejected,
            "failures": self.failures,
            "queued": self._queue.qsize(),
            "origin_conflicts": self.origin_conflicts,
            "nodes": len(self._origin),
            "last_error": self.last_error,
            "fatal": self.fatal,
        }

    def write_status(self) -> None:
        """Rewrite the status file (no fsync: advisory, rewritten every second)."""
        import json

        if self.config.status_path is None:
            return
        try:
            write_atomic(
                self.config.status_path, json.dumps(self.status(), indent=1, sort_keys=True), fsync=False
            )
        except OSError:
            pass

    def start(self) -> None:
        """Connect (retrying in the background until the broker answers) and start the writer."""
        v5: dict[str, Any] = {}
        if self.config.protocol == "5":  # 3.1.1: the session is persistent through clean_session=False
            v5 = {"clean_start": False, "properties": connect_properties(receive_maximum=RECEIVE_MAXIMUM)}
        self._client.connect_async(
            self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s, **v5
        )
        self._writer = threading.Thread(target=self._run_writer, name="collect-writer", daemon=True)
        self._writer.start()
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect first (so nothing more arrives), finish the batch in hand, close the store."""
        self._stop.set()
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()
        if self._writer is not None:
            self._writer.join(timeout=30.0)
        self.write_status()
        self.store.close()

    def run_forever(self, *, duration_s: float | None = None) -> None:
        """Start, rewrite the status every second, stop on :meth:`request_stop` or after ``duration_s``."""
        self.start()
        end = time.monotonic() + duration_s if duration_s is not None else float("inf")
        try:
            while not self._stop.wait(min(1.0, max(0.0, end - time.monotonic()))):
                self.write_status()
                if time.monotonic() >= end:
                    break
        finally:
            self.stop()

    def request_stop(self) -> None:
        """Ask :meth:`run_forever` to return (safe from a signal handler)."""
        self._stop.set()
