"""MQTT fleet transport: broker settings, the topic and payload contract, and the gateway's publisher.

``docs/mqtt.md`` is the contract. A gateway (``vibsentry ingest --mqtt URL``) publishes every journaled
message with QoS 1 to ``vibsentry/v1/<site>/<gateway>/<node>/<kind>``; :class:`MqttPublisher` is a
:class:`~vibsentry.dashboard.store.base.Store`, so the gateway's delivery thread drives it like any store:
its journal cursor (sink ``mqtt``) advances only after the broker acknowledged (PUBACK) every message of the
batch. ``vibsentry collect`` (:mod:`vibsentry.dashboard.gateway.collect`) decodes the same payloads with
:func:`decode_message` and writes them to a store exactly once.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import ssl
import struct
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vibsentry.dashboard.store.base import Store
from vibsentry.dashboard.store.records import KINDS, Record
from vibsentry.errors import StoreError, StoreRejected, UsageError

log = logging.getLogger("vibsentry.mqtt")

#: Version of the payload format (``"v"`` in every JSON payload) and of the topic root.
PAYLOAD_VERSION = 1
#: Root of the JSON topics: ``vibsentry/v1/<site>/<gateway>/<node>/<kind>``.
TOPIC_ROOT = "vibsentry/v1"
#: Root of the optional InfluxDB line-protocol topics (Telegraf ``mqtt_consumer``, ``data_format="influx"``).
LP_TOPIC_ROOT = "vibsentry/lp/v1"
#: MQTT 5 session expiry asked for by gateways and collectors: a week of broker downtime or absence.
SESSION_EXPIRY_S = 7 * 24 * 3600
#: PUBACK reason code of an MQTT 5 broker that accepted a message nobody is subscribed to.
RC_NO_MATCHING_SUBSCRIBERS = 0x10


@dataclass(frozen=True)
class BrokerSettings:
    """Where and how to reach the broker.

    Parameters
    ----------
    host : str
        Broker host name or address.
    port : int
        TCP port (1883 for ``mqtt://``, 8883 for ``mqtts://`` unless the URL names one).
    tls : bool
        True for ``mqtts://``: TLS, server certificate verified against ``ca_file`` or the system CAs.
    ca_file : str or None
        PEM CA bundle for a private broker certificate.
    username, password : str or None
        Credentials (from the environment or a file only; never logged, never in :attr:`description`).
    keepalive_s : int
        MQTT keep-alive in seconds; a dead broker is noticed within about 1.5 times this.
    """

    host: str
    port: int
    tls: bool = False
    ca_file: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    keepalive_s: int = 15

    @property
    def description(self) -> str:
        """``mqtt[s]://host:port`` (no credentials)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(
    url: str,
    *,
    ca_file: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> BrokerSettings:
    """Parse ``mqtt://HOST[:PORT]`` or ``mqtts://HOST[:PORT]``; credentials in the URL are refused.

    Raises :class:`UsageError` quoting the URL when it is not one of those forms.
    """
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise UsageError(f"--mqtt {url!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    if u.username or u.password:
        raise UsageError(
            "--mqtt URL must not carry credentials: use VIBSENTRY_MQTT_USERNAME / VIBSENTRY_MQTT_PASSWORD "
            "or --mqtt-password-file"
        )
    if u.path not in ("", "/") or u.query:
        raise UsageError(f"--mqtt {url!r}: a broker URL has no path or query")
    try:
        port = u.port
    except ValueError:
        raise UsageError(f"--mqtt {url!r}: the port is not a number 1..65535") from None
    tls = u.scheme == "mqtts"
    if ca_file is not None and not tls:
        raise UsageError(f"--mqtt-ca {ca_file!r} needs an mqtts:// broker URL, not {url!r}")
    return BrokerSettings(
        host=u.hostname,
        port=port or (8883 if tls else 1883),
        tls=tls,
        ca_file=ca_file,
        username=username,
        password=password,
    )


def check_level(value: str, what: str) -> str:
    """Return ``value`` if it can be one MQTT topic level (non-empty, no ``/ + #``, no NUL, not ``$``-led)."""
    if (
        not value
        or any(c in value for c in "/+#\0")
        or value.startswith("$")
        or len(value.encode("utf-8")) > 128
    ):
        raise UsageError(
            f"{what} {value!r}: must be 1..128 bytes without '/', '+', '#', NUL or a leading '$'"
        )
    return value


_BUFFERED: Any = None


def _buffered_client_class() -> Any:
    """paho's ``Client`` with a read buffer (built once, on first use; paho is imported lazily).

    paho 2.x reads every packet with at least three ``recv`` calls (command byte, length bytes one at a time,
    body) and handles one packet per ``select`` round: about 5 system calls per received message, which is
    most of a collector's CPU at 10k+ msg/s. This subclass fills a 256 KiB buffer per ``recv`` and keeps
    handling packets while the buffer holds bytes. It overrides paho's private ``_sock_recv``,
    ``_sock_close`` and ``loop_read``; ``pyproject.toml`` pins paho-mqtt below 3 and the collector tests
    exercise it. Where those methods are missing, :func:`make_client` falls back to the plain client.
    """
    global _BUFFERED
    if _BUFFERED is not None:
        return _BUFFERED
    import paho.mqtt.client as mqtt

    if not all(hasattr(mqtt.Client, n) for n in ("_sock_recv", "_sock_close", "loop_read", "_packet_queue")):
        _BUFFERED = mqtt.Client
        return _BUFFERED

    class BufferedClient(mqtt.Client):  # type: ignore[misc]
        _rbuf: memoryview = memoryview(b"")
        _rsock: Any = None
        _draining = False

        def _sock_recv(self, bufsize: int) -> bytes:
            if self._rsock is not self._sock:  # a new connection: bytes of the old one are void
                self._rbuf, self._rsock = memoryview(b""), self._sock
            if not self._rbuf:
                if self._draining:
                    # paho keeps a partly read packet and resumes it on the next round, as for any
                    # non-blocking socket that has nothing more yet.
                    raise BlockingIOError
                data = super()._sock_recv(262144)
                if not data:
                    return data
                self._rbuf = memoryview(data)
            out = bytes(self._rbuf[:bufsize])
            self._rbuf = self._rbuf[bufsize:]
            return out

        def _sock_close(self) -> None:
            self._rbuf, self._rsock = memoryview(b""), None
            super()._sock_close()

        def loop_read(self, max_packets: int = 1) -> Any:
            # One socket read per round, then handle every packet already in the buffer. Reading the
            # socket again here would never return under a steady stream: the network thread would stop
            # writing PUBACKs and PINGREQs, and the broker would drop the connection (keep-alive).
            rc = super().loop_read(max_packets)
            self._draining = True
            try:
                while rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and self._rbuf and self._sock is not None:
                    rc = super().loop_read(max_packets)
            finally:
                self._draining = False
            return rc

        def ack_batch(self, mids: Sequence[int]) -> None:
            """PUBACK every QoS 1 message in ``mids``, in order, with one queued write (manual-ack mode).

            The packets are exactly what paho's ``ack(mid, 1)`` queues (``0x40 0x02 <mid>``: success, valid in
            MQTT 3.1.1 and 5), concatenated, so the network thread wakes and writes once per batch instead
            of once per message.
            """
            if mids:
                blob = b"".join(struct.pack("!BBH", 0x40, 2, m) for m in mids)
                self._packet_queue(0x40, blob, 0, 1)

    _BUFFERED = BufferedClient
    return _BUFFERED


def make_client(
    broker: BrokerSettings,
    *,
    client_id: str,
    manual_ack: bool = False,
    buffered: bool = False,
    protocol: str = "5",
) -> Any:
    """A paho-mqtt 2.x MQTT 5 client for ``broker`` (TLS and credentials applied, not yet connected).

    ``manual_ack`` turns off paho's automatic PUBACK: the caller acknowledges with ``client.ack(mid, 1)``.
    ``buffered`` reads the socket in large blocks (see :func:`_buffered_client_class`), for subscribers.
    ``protocol`` is ``"5"`` (session expiry and Receive Maximum in CONNECT) or ``"3.1.1"`` (persistent
    session through clean_session=False; cheaper per message in paho, but the broker's
    ``max_inflight_messages`` then bounds the unacknowledged window, see docs/mqtt.md).
    """
    import paho.mqtt.client as mqtt

    cls = _buffered_client_class() if buffered else mqtt.Client
    client = cls(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311,
        clean_session=None if protocol == "5" else False,
        manual_ack=manual_ack,
    )
    if broker.tls:
        ctx = ssl.create_default_context(cafile=broker.ca_file)
        client.tls_set_context(ctx)
    if broker.username is not None or broker.password is not None:
        client.username_pw_set(broker.username or "", broker.password)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    # paho's own outgoing window; the broker's Receive Maximum (MQTT 5) still caps it.
    client.max_inflight_messages_set(1000)
    return client


def connect_properties(*, receive_maximum: int | None = None) -> Any:
    """CONNECT properties: a persistent session (:data:`SESSION_EXPIRY_S`), optionally a Receive Maximum."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    if receive_maximum is not None:
        props.ReceiveMaximum = receive_maximum
    return props


# -- the payload contract ---------------------------------------------------------------------------------
def _to_json(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(v)).decode("ascii")}
    if isinstance(v, float) and not math.isfinite(v):
        return None  # JSON has no NaN/inf; the stores keep non-finite values as NULL anyway
    if isinstance(v, (list, tuple)):
        return [_to_json(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _to_json(x) for k, x in v.items()}
    return v


def _json_object(d: dict[str, Any]) -> Any:
    """``json.loads`` object hook: ``{"$b64": ...}`` back to bytes, lists (arrays) back to tuples.

    A hook (called from the C decoder once per object) instead of a recursive walk afterwards: this is per
    message on the collector's hot path.
    """
    if "$b64" in d and len(d) == 1:
        return base64.b64decode(d["$b64"], validate=True)
    for k, v in d.items():
        if type(v) is list:
            d[k] = tuple(v)
    return d


#: One decoder for every message: ``json.loads(..., object_hook=...)`` would build a new one per call.
_DECODER = json.JSONDecoder(object_hook=_json_object)


def message_key(site: str, gateway: str, r: Record) -> str:
    """The deterministic key of a message: the same journaled record always gets the same key.

    ``<site>/<gateway>/<node>/<kind>/<ts_ns>`` plus ``/<event>`` for alarms, ``/<feature kind>`` for features
    and ``/<capture>.<chunk>`` for raw chunks: the stores' primary keys, prefixed with the origin.
    """
    key = f"{site}/{gateway}/{r.node}/{r.kind}/{r.ts_ns}"
    f = r.fields
    if r.kind == "alarm":
        key += f"/{f.get('event')}"
    elif r.kind == "features":
        key += f"/{f.get('kind')}"
    elif r.kind == "raw":
        key += f"/{f.get('capture_id')}.{f.get('chunk_index')}"
    return key


def topic_for(site: str, gateway: str, r: Record, *, root: str = TOPIC_ROOT) -> str:
    """``<root>/<site>/<gateway>/<node>/<kind>``."""
    return f"{root}/{site}/{gateway}/{r.node}/{r.kind}"


def encode_message(site: str, gateway: str, r: Record) -> bytes:
    """The JSON payload of ``r`` (UTF-8, compact); see ``docs/mqtt.md``.

    ``ts_ns`` is a decimal string: nanosecond timestamps exceed 2**53 and would lose digits in JavaScript
    consumers (Node-RED) if sent as JSON numbers.
    """
    doc = {
        "v": PAYLOAD_VERSION,
        "key": message_key(site, gateway, r),
        "site": site,
        "gateway": gateway,
        "node": r.node,
        "kind": r.kind,
        "ts_ns": str(r.ts_ns),
        "seq": r.seq,
        "machine": r.machine,
        "port": r.port,
        "fields": _to_json(dict(r.fields)),
    }
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("utf-8")


def decode_message(topic: str, payload: bytes) -> Record:
    """Parse a payload made by :func:`encode_message` into a :class:`Record` with ``site``/``gateway`` set.

    Raises :class:`StoreRejected` naming the topic and what is wrong (bad JSON, unknown version or kind,
    missing field, topic and payload naming different origins).
    """
    try:
        d = _DECODER.decode(payload.decode("utf-8"))
        if not isinstance(d, dict):
            raise ValueError("payload is not a JSON object")
        if d.get("v") != PAYLOAD_VERSION:
            raise ValueError(f"payload version {d.get('v')!r} is not {PAYLOAD_VERSION}")
        kind = d["kind"]
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        node = d["node"]
        if not isinstance(node, int) or isinstance(node, bool) or not 0 <= node <= 0xFFFF:
            raise ValueError(f"node {node!r} is not a node id")
        site, gateway = str(d["site"]), str(d["gateway"])
        expect = f"{TOPIC_ROOT}/{site}/{gateway}/{node}/{kind}"
        if topic != expect:
            raise ValueError(f"payload belongs on {expect!r}")
        fields = d["fields"]
        if not isinstance(fields, dict):
            raise ValueError("fields is not an object")
        return Record(
            kind=kind,
            node=node,
            ts_ns=int(d["ts_ns"]),
            seq=int(d["seq"]),
            fields=fields,
            machine=d.get("machine"),
            port=d.get("port"),
            site=site,
            gateway=gateway,
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise StoreRejected(f"MQTT message on {topic!r}: {exc}") from None


def encode_line_protocol(site: str, gateway: str, r: Record) -> bytes:
    """InfluxDB line protocol for ``r`` with ``site`` and ``gateway`` tags (``docs/storage.md`` design)."""
    from dataclasses import replace

    from vibsentry.dashboard.store.influx import line_protocol

    return "\n".join(line_protocol([replace(r, site=site, gateway=gateway)])).encode("utf-8")


# -- the gateway side -------------------------------------------------------------------------------------
class MqttPublisher(Store):
    """Publish records to the broker with QoS 1; ``write`` returns only when every PUBACK arrived.

    Parameters
    ----------
    broker : BrokerSettings
        Broker address, TLS and credentials.
    site, gateway : str
        This gateway's place in the topic tree (one topic level each).
    line_protocol : bool
        Also publish each record as InfluxDB line protocol on ``vibsentry/lp/v1/...`` (for Telegraf).
    ack_timeout_s : float
        How long ``write`` waits for the PUBACKs of one batch before it reports a failure (the gateway then
        retries the batch from its journal; the broker may see some messages twice, which is harmless).

    Notes
    -----
    The client id is ``vibsentry-gw-<site>-<gateway>`` with a persistent MQTT 5 session, so a restarted
    gateway resumes the same session. paho runs the network loop in its own thread and reconnects with
    backoff (1 to 5 s); while disconnected ``write`` raises :class:`StoreError` at once and the journal holds
    the data.
    """

    def __init__(
        self,
        broker: BrokerSettings,
        *,
        site: str,
        gateway: str,
        line_protocol: bool = False,
        ack_timeout_s: float = 10.0,
    ) -> None:
        self.broker = broker
        self.site = check_level(site, "--site")
        self.gateway = check_level(gateway, "--gateway")
        self.line_protocol = line_protocol
        self.ack_timeout_s = ack_timeout_s
        self.description = f"{broker.description} as {self.site}/{self.gateway}"
        self.client_id = f"vibsentry-gw-{self.site}-{self.gateway}"
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._refused: dict[int, int] = {}  # mid -> PUBACK reason code >= 0x80
        self._unheard: set[int] = set()  # mids the broker accepted with "no matching subscribers"
        self.no_subscribers = 0
        self.last_connect_error: str | None = None
        self._closing = False
        self._client = make_client(broker, client_id=self.client_id)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        try:
            self._client.connect_async(
                broker.host,
                broker.port,
                keepalive=broker.keepalive_s,
                clean_start=False,
                properties=connect_properties(),
            )
        except (OSError, ValueError) as exc:
            raise StoreError(f"{broker.description}: cannot start the MQTT client: {exc}") from None
        self._client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            # Wrong credentials or client id refused: say so once per distinct reason, keep retrying.
            why = f"{self.broker.description} refused the connection: {rc}"
            if why != self.last_connect_error:
                log.error("%s", why)
            self.last_connect_error = why
            return
        if self.last_connect_error is not None or not self._connected.is_set():
            log.info("connected to %s (session present: %s)", self.broker.description, flags.session_present)
        self.last_connect_error = None
        self._connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if self._connected.is_set() and not self._closing:
            log.warning("disconnected from %s (%s); reconnecting", self.broker.description, rc)
        self._connected.clear()

    def _on_publish(self, client: Any, userdata: Any, mid: int, rc: Any, props: Any = None) -> None:
        code = int(getattr(rc, "value", rc) or 0)
        if code == RC_NO_MATCHING_SUBSCRIBERS:
            with self._lock:
                self._unheard.add(mid)
        elif code >= 0x80:
            with self._lock:
                self._refused[mid] = code

    def write(self, records: Sequence[Record]) -> None:
        """Publish ``records`` (QoS 1) and wait for every PUBACK; :class:`StoreError` when one is missing."""
        if not records:
            return
        if not self._connected.wait(1.0):
            raise StoreError(
                f"{self.broker.description}: not connected"
                + (f" ({self.last_connect_error})" if self.last_connect_error else "")
            )
        pending = []
        per_record = []  # the publishes of each record (JSON, and line protocol when enabled)
        try:
            for r in records:
                infos = [
                    self._client.publish(
                        topic_for(self.site, self.gateway, r),
                        encode_message(self.site, self.gateway, r),
                        qos=1,
                    )
                ]
                if self.line_protocol:
                    infos.append(
                        self._client.publish(
                            topic_for(self.site, self.gateway, r, root=LP_TOPIC_ROOT),
                            encode_line_protocol(self.site, self.gateway, r),
                            qos=1,
                        )
                    )
                pending.extend(infos)
                per_record.append(infos)
        except (TypeError, ValueError) as exc:  # a record the payload cannot express (allow_nan, bad types)
            raise StoreRejected(f"{self.broker.description}: cannot encode a record: {exc}") from None
        deadline = time.monotonic() + self.ack_timeout_s
        for info in pending:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (ValueError, RuntimeError) as exc:
                raise StoreError(f"{self.broker.description}: publish failed: {exc}") from None
            if not info.is_published():
                missing = sum(not i.is_published() for i in pending)
                raise StoreError(
                    f"{self.broker.description}: no PUBACK for {missing} of {len(pending)} messages "
                    f"within {self.ack_timeout_s:g} s"
                )
        with self._lock:
            refused = [self._refused.pop(i.mid) for i in pending if i.mid in self._refused]
            unheard = sum(all(i.mid in self._unheard for i in infos) for infos in per_record)
            self._unheard.difference_update(i.mid for i in pending)
        if unheard:
            # The broker took the message but nobody subscribes to it, so it dropped it. That is not a
            # delivery: before the first collector subscribed, and after a mosquitto restart until the
            # collectors resubscribe (mosquitto 2.0 does not keep shared subscriptions over a restart).
            # Keep it in the journal and retry.
            with self._lock:
                self.no_subscribers += unheard
            raise StoreError(
                f"{self.broker.description}: nobody subscribes to {TOPIC_ROOT}/{self.site}/{self.gateway}/... "
                f"({unheard} of {len(records)} messages unheard); kept in the journal until a collector "
                "subscribes"
            )
        if refused:
            raise StoreError(
                f"{self.broker.description}: the broker refused {len(refused)} messages "
                f"(PUBACK reason 0x{refused[0]:02x}); not authorised to publish under {TOPIC_ROOT}?"
            )

    def close(self) -> None:
        """Disconnect cleanly and stop the network thread (safe to call twice)."""
        self._closing = True
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()
