"""``vibsentry ingest``: the serial gateway (decode -> journal -> SQLite store or InfluxDB)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from vibsentry.config import redact_url
from vibsentry.errors import ConfigError, StoreError, UsageError

HELP = "read nodes' serial frames, journal them, and store them in SQLite or InfluxDB exactly once"
DESCRIPTION = """\
Read wire-protocol frames (docs/protocol.md) from one or more serial ports, check each node's sequence
numbers, boots and feature_hash, append every decoded message to a local journal, and deliver it exactly
once to the store: the embedded SQLite file (default) or an InfluxDB 1.x/2.x/3.x server. A lost port is
reopened with exponential backoff; a store outage is ridden out by the journal; a restart replays what the
store has not acknowledged. Stop with Ctrl-C (or SIGTERM): it delivers what is journaled, then exits.

Examples:
  vibsentry ingest --port /dev/ttyUSB0 --baud 921600
  vibsentry ingest --port /tmp/node1 --port socket://10.0.0.5:7000 --bundle bundles/pump --machine 1=pump-A
  VIBSENTRY_INFLUX_TOKEN=... vibsentry ingest --port /dev/ttyACM0 --influx-url https://influx:8086 \\
      --bucket vibsentry --org plant
  vibsentry ingest --status            # counters of the running gateway (from DATA_DIR/ingest-status.json)
  vibsentry ingest --port /dev/ttyUSB0 --mqtt mqtts://broker:8883 --mqtt-ca ca.pem --site plant1 --gateway line3

Configuration: --config FILE reads an [ingest] table (keys: ports, baud, store, data_dir, journal_sync,
influx_url, db, org, bundle, feature_hash, flush_ms, batch_size, verify_tls, ca_cert, mqtt, mqtt_ca,
mqtt_password_file, site, gateway, mqtt_line_protocol, and a [ingest.machines]
table of node id -> machine name); VIBSENTRY_INGEST_<KEY> environment variables override it and command-line
options override both. InfluxDB credentials come only from the environment: VIBSENTRY_INFLUX_TOKEN (2.x/3.x),
or VIBSENTRY_INFLUX_USERNAME + VIBSENTRY_INFLUX_PASSWORD (1.x); each may instead be given as *_FILE naming a
file. They are never logged.

MQTT (docs/mqtt.md): --mqtt publishes every journaled message with QoS 1 to
vibsentry/v1/<site>/<gateway>/<node>/<kind> (then no local store unless --store/--influx-url is given too);
the broker's journal cursor advances only on PUBACK. Broker credentials: VIBSENTRY_MQTT_USERNAME and
VIBSENTRY_MQTT_PASSWORD (or *_FILE, or --mqtt-password-file); never logged.
"""

DEFAULT_DATA_DIR = Path(".vibsentry") / "data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    p.add_argument(
        "--port",
        action="append",
        default=None,
        metavar="PORT",
        help="serial device, pty path or pyserial URL (socket://, rfc2217://, loop://); repeatable",
    )
    p.add_argument("--baud", type=int, default=None, help="baud rate (default 115200)")
    p.add_argument("--store", default=None, help="sqlite:PATH (default sqlite:DATA_DIR/vibsentry.sqlite)")
    p.add_argument(
        "--data-dir", default=None, help="journal, status file and default store (./.vibsentry/data)"
    )
    p.add_argument("--config", default=None, help="TOML file with an [ingest] table")
    p.add_argument("--influx-url", default=None, help="also/instead deliver to InfluxDB at this URL")
    p.add_argument(
        "--db", "--bucket", dest="db", default=None, help="InfluxDB database (1.x) or bucket (2.x/3.x)"
    )
    p.add_argument("--org", default=None, help="InfluxDB 2.x organisation")
    p.add_argument(
        "--influx-flavour",
        choices=("auto", "1", "2", "3"),
        default=None,
        help="skip /ping detection (auto by default)",
    )
    p.add_argument("--no-verify-tls", action="store_true", help="do not verify the InfluxDB TLS certificate")
    p.add_argument("--ca-cert", default=None, help="CA bundle for a private InfluxDB certificate")
    p.add_argument("--flush-ms", type=float, default=None, help="InfluxDB flush interval in ms (default 250)")
    p.add_argument("--batch-size", type=int, default=None, help="records per store write (default 2000)")
    p.add_argument("--bundle", default=None, help="deployed model bundle: its feature_hash is checked")
    p.add_argument("--feature-hash", default=None, help="expected feature_hash (hex) when no bundle is given")
    p.add_argument(
        "--machine",
        action="append",
        default=None,
        metavar="NODE=NAME",
        help="machine name of a node id; repeatable",
    )
    p.add_argument(
        "--journal-sync",
        choices=("FULL", "NORMAL"),
        default=None,
        help="journal durability: FULL fsyncs every batch (default), NORMAL survives crashes only",
    )
    p.add_argument(
        "--mqtt", default=None, metavar="URL", help="publish to this broker: mqtt[s]://HOST[:PORT]"
    )
    p.add_argument("--mqtt-ca", default=None, metavar="FILE", help="CA bundle (PEM) for an mqtts:// broker")
    p.add_argument(
        "--mqtt-password-file", default=None, metavar="FILE", help="file holding the broker password"
    )
    p.add_argument("--site", default=None, help="site name in the MQTT topics (default 'site')")
    p.add_argument("--gateway", default=None, help="gateway name in the MQTT topics (default: host name)")
    p.add_argument(
        "--mqtt-line-protocol",
        action="store_true",
        default=None,
        help="also publish InfluxDB line protocol on vibsentry/lp/v1/... (Telegraf mqtt_consumer)",
    )
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--status", action="store_true", help="print the running gateway's counters and exit")
    p.add_argument("--json", action="store_true", help="with --status: print JSON")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def _secret(name: str) -> str | None:
    from vibsentry.config import read_secret

    return read_secret(name, file_var=f"{name}_FILE")


def bundle_feature_hash(path: str) -> str:
    """The ``feature_hash`` of the bundle directory ``path`` (verified by ``load_bundle``)."""
    from vibsentry.runtime.bundle import load_bundle

    return load_bundle(path).feature_hash


def _machines(items: Any) -> dict[int, str]:
    out: dict[int, str] = {}
    if isinstance(items, dict):
        items = [f"{k}={v}" for k, v in items.items()]
    for item in items or []:
        node, sep, name = str(item).partition("=")
        try:
            n = int(node)
        except ValueError:
            n = -1
        if not sep or not name or not 0 <= n < 0xFFFF:
            raise UsageError(f"--machine {item!r}: expected NODE=NAME with NODE a node id 0..65534")
        out[n] = name
    return out


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """Merge the TOML [ingest] table, VIBSENTRY_INGEST_* variables and options (highest wins)."""
    from vibsentry.config import load_section

    cli = {
        "ports": args.port,
        "baud": args.baud,
        "store": args.store,
        "data_dir": args.data_dir,
        "influx_url": args.influx_url,
        "db": args.db,
        "org": args.org,
        "influx_flavour": args.influx_flavour,
        "verify_tls": False if args.no_verify_tls else None,
        "ca_cert": args.ca_cert,
        "flush_ms": args.flush_ms,
        "batch_size": args.batch_size,
        "bundle": args.bundle,
        "feature_hash": args.feature_hash,
        "journal_sync": args.journal_sync,
        "mqtt": args.mqtt,
        "mqtt_ca": args.mqtt_ca,
        "mqtt_password_file": args.mqtt_password_file,
        "site": args.site,
        "gateway": args.gateway,
        "mqtt_line_protocol": args.mqtt_line_protocol,
    }
    s = load_section("ingest", args.config, overrides=cli)
    s.setdefault("baud", 115200)
    s.setdefault("data_dir", str(DEFAULT_DATA_DIR))
    s.setdefault("db", "vibsentry")
    s.setdefault("org", "vibsentry")
    s.setdefault("journal_sync", "FULL")
    s.setdefault("verify_tls", True)
    s.setdefault("flush_ms", 250.0)
    s.setdefault("batch_size", 2000)
    ports = s.get("ports")
    if isinstance(ports, str):
        ports = [p for p in ports.split(",") if p]
    s["ports"] = list(ports or [])
    machines = _machines(s.get("machines"))
    machines.update(_machines(args.machine))
    s["machines"] = machines
    for key, kind in (("baud", int), ("batch_size", int), ("flush_ms", float)):
        try:
            s[key] = kind(s[key])
        except (TypeError, ValueError):
            raise ConfigError(f"ingest {key}={s[key]!r}: not a number") from None
        if s[key] <= 0:
            raise ConfigError(f"ingest {key}={s[key]!r}: must be positive")
    return s


def print_status(data_dir: Path, as_json: bool) -> int:
    """Print the status file the running gateway rewrites every second."""
    path = data_dir / "ingest-status.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: no gateway status here ({exc}); is 'vibsentry ingest' running?") from None
    if as_json:
        print(json.dumps(doc, indent=1, sort_keys=True))
        return 0
    age = (time.time_ns() - int(doc.get("updated_ns", 0))) / 1e9
    print(f"gateway pid {doc.get('pid')}, status updated {age:.1f} s ago")
    j = doc.get("journal", {})
    print(
        f"journal {j.get('path')}: {j.get('journaled')} journaled"
        + (f", ERROR {j['error']}" if j.get("error") else "")
    )
    for url, p in doc.get("ports", {}).items():
        d = p.get("decoder", {})
        errs = ", ".join(f"{k} {v}" for k, v in d.items() if k not in ("frames", "bytes") and v)
        print(
            f"port {url}: {p['state']}, {d.get('frames', 0)} frames, {d.get('bytes', 0)} bytes, "
            f"errors: {errs or 'none'}, reconnects {p.get('losses', 0)}"
        )
    for node, n in sorted(doc.get("nodes", {}).items(), key=lambda kv: int(kv[0])):
        flag = "  FEATURE_HASH MISMATCH" if n.get("hash_mismatch") else ""
        print(
            f"node {node} ({n.get('machine') or '?'}) on {n.get('port')}: {n['frames']} frames, gaps {n['gaps']}, "
            f"duplicates {n['duplicates']}, reboots {n['reboots']}, last seq {n['last_seq']}{flag}"
        )
    for name, s in doc.get("sinks", {}).items():
        err = f", last error: {s['last_error']}" if s.get("last_error") else ""
        rej = f", {s['rejected']} refused by the store and skipped" if s.get("rejected") else ""
        print(f"store {name} ({s['store']}): {s['delivered']} delivered, backlog {s['backlog']}{rej}{err}")
    return 0


def influx_store(s: dict[str, Any]) -> Any:
    """The InfluxDB store for ``s["influx_url"]`` (db, org, flavour, TLS from ``s``; credentials from the
    environment). A server that does not answer yet gives a store that connects on its first write."""
    url = str(s["influx_url"])
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--influx-url {redact_url(url)!r}: must start with http:// or https://")
    from vibsentry.dashboard.store.influx import DeferredInflux, open_influx

    flavour = s.get("influx_flavour")
    options: dict[str, Any] = {
        "db": str(s["db"]),
        "org": str(s["org"]),
        "token": _secret("VIBSENTRY_INFLUX_TOKEN"),
        "username": _secret("VIBSENTRY_INFLUX_USERNAME"),
        "password": _secret("VIBSENTRY_INFLUX_PASSWORD"),
        "verify_tls": bool(s["verify_tls"]),
        "ca_cert": s.get("ca_cert"),
        "flavour": None if flavour in (None, "auto") else str(flavour),
    }
    try:
        return open_influx(url, **options)
    except StoreError as exc:
        # A server that is down at start-up is an outage like any other: journal, retry, deliver later.
        logging.getLogger("vibsentry.ingest").warning("%s; journaling until it answers", exc)
        return DeferredInflux(url, **options)


def mqtt_broker(s: dict[str, Any]) -> Any:
    """Broker settings from ``s["mqtt"]``/``mqtt_ca``/``mqtt_password_file`` and VIBSENTRY_MQTT_* secrets."""
    from vibsentry.dashboard.gateway.mqtt import parse_broker_url

    password = _secret("VIBSENTRY_MQTT_PASSWORD")
    pw_file = s.get("mqtt_password_file")
    if pw_file:
        try:
            password = Path(str(pw_file)).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"--mqtt-password-file {pw_file}: cannot read ({exc.strerror or exc})"
            ) from None
    ca = s.get("mqtt_ca")
    if ca and not Path(str(ca)).is_file():
        raise UsageError(f"--mqtt-ca {ca!r}: no such file")
    return parse_broker_url(
        str(s["mqtt"]),
        ca_file=str(ca) if ca else None,
        username=_secret("VIBSENTRY_MQTT_USERNAME"),
        password=password,
    )


def mqtt_publisher(s: dict[str, Any]) -> Any:
    """The :class:`MqttPublisher` sink for ``--mqtt`` (site defaults to ``site``, gateway to the host name)."""
    import socket

    from vibsentry.dashboard.gateway.mqtt import MqttPublisher

    gateway = s.get("gateway") or socket.gethostname().split(".")[0] or "gateway"
    return MqttPublisher(
        mqtt_broker(s),
        site=str(s.get("site") or "site"),
        gateway=str(gateway),
        line_protocol=str(s.get("mqtt_line_protocol") or "").strip().lower()
        not in ("", "0", "false", "no", "off"),
    )


def run(args: argparse.Namespace) -> int:
    """Run the gateway until interrupted (or for ``--duration`` seconds)."""
    s = settings(args)
    data_dir = Path(s["data_dir"])
    if args.status:
        return print_status(data_dir, args.json)
    if not s["ports"]:
        raise UsageError("no --port given (nor 'ports' in the [ingest] config table)")
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    from vibsentry.dashboard.gateway.service import Gateway, GatewayConfig, SinkConfig
    from vibsentry.dashboard.store.sqlite import SQLiteStore

    expected = s.get("feature_hash")
    if expected is not None and not (
        isinstance(expected, str)
        and len(expected) == 64
        and all(c in "0123456789abcdefABCDEF" for c in expected)
    ):
        raise UsageError(f"--feature-hash {expected!r}: must be 64 hex digits (the SHA-256 a node reports)")
    if s.get("bundle"):
        expected = bundle_feature_hash(str(s["bundle"]))
    stores: dict[str, Any] = {}
    sink_cfg: dict[str, SinkConfig] = {}
    store_spec = s.get("store")
    if s.get("mqtt"):
        stores["mqtt"] = mqtt_publisher(s)
        # A write while disconnected fails at once, so retrying often is cheap and shortens the catch-up.
        sink_cfg["mqtt"] = SinkConfig(batch_size=int(s["batch_size"]), flush_interval_s=0.02, retry_max_s=2.0)
    if store_spec or not (s.get("influx_url") or s.get("mqtt")):
        spec = str(store_spec or f"sqlite:{data_dir / 'vibsentry.sqlite'}")
        if not spec.startswith("sqlite:") or len(spec) == len("sqlite:"):
            raise UsageError(f"--store {spec!r}: expected sqlite:PATH (use --influx-url for InfluxDB)")
        stores["sqlite"] = SQLiteStore(spec[len("sqlite:") :])
        sink_cfg["sqlite"] = SinkConfig(batch_size=int(s["batch_size"]), flush_interval_s=0.02)
    if s.get("influx_url"):
        stores["influx"] = influx_store(s)
        sink_cfg["influx"] = SinkConfig(
            batch_size=int(s["batch_size"]), flush_interval_s=float(s["flush_ms"]) / 1000
        )
    if s.get("diagnose", True) and ("sqlite" in stores or "influx" in stores):
        # Diagnose every complete raw capture in the background into the same stores (docs/diagnostics.md);
        # [ingest] diagnose = false turns it off.
        from vibsentry.config import load_section
        from vibsentry.dashboard.diagnosis import machine_setups
        from vibsentry.dashboard.gateway.diagnoser import DiagnosisSink

        setups = machine_setups(load_section("dashboard", args.config, environ={}))
        sqlite_path = stores["sqlite"].path if "sqlite" in stores else None
        influx = influx_store(s) if "influx" in stores else None
        stores["diagnosis"] = DiagnosisSink(sqlite_path, setups, influx=influx)
        sink_cfg["diagnosis"] = SinkConfig(batch_size=int(s["batch_size"]), flush_interval_s=0.2)
    cfg = GatewayConfig(
        ports=tuple(str(p) for p in s["ports"]),
        baud=int(s["baud"]),
        data_dir=data_dir,
        journal_sync=str(s["journal_sync"]).upper(),
        expected_feature_hash=expected,
        machines=s["machines"],
    )
    gw = Gateway(cfg, stores, sink_cfg)
    log = logging.getLogger("vibsentry.ingest")
    log.info(
        "ingesting %s -> %s (journal %s)",
        ", ".join(cfg.ports),
        ", ".join(st.description for st in stores.values()),
        cfg.journal_path,
    )
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: gw.request_stop())
    if args.duration is not None:
        timer = threading.Timer(args.duration, gw.request_stop)
        timer.daemon = True
        timer.start()
    gw.run_forever()
    st = gw.status()
    delivered = ", ".join(f"{k} {v['delivered']}" for k, v in st["sinks"].items())
    log.info("stopped: %d journaled, delivered: %s", st["journal"]["journaled"], delivered)
    return 0 if all(v["backlog"] == 0 for v in st["sinks"].values()) else 1
