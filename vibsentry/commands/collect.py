"""``vibsentry collect``: the plant collector (MQTT shared subscription -> SQLite store or InfluxDB)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from vibsentry.errors import ConfigError, StoreError, UsageError

HELP = "subscribe to the gateways' MQTT messages and store them exactly once (SQLite or InfluxDB)"
DESCRIPTION = """\
Subscribe to vibsentry/v1/# on an MQTT broker (through the shared subscription $share/<group>/..., so
several collectors split the load), write every message to the store (an SQLite file or InfluxDB
1.x/2.x/3.x) and acknowledge it to the broker only after the store committed it. Messages a gateway sent
twice (after a crash or an outage) are stored once: the stores key rows by node and node time. The
collector keeps a persistent MQTT 5 session under its --client-id: while it is down the broker queues its
share of the messages. docs/mqtt.md describes topics, payloads and broker settings.

Examples:
  vibsentry collect --mqtt mqtt://broker:1883 --store sqlite:/var/lib/vibsentry/plant.sqlite
  VIBSENTRY_MQTT_USERNAME=collector VIBSENTRY_MQTT_PASSWORD_FILE=/run/secrets/mqtt \\
      vibsentry collect --mqtt mqtts://broker:8883 --mqtt-ca ca.pem --influx-url http://influx:8086
  vibsentry collect --status          # counters of the running collector (DATA_DIR/collect-status.json)

Configuration: --config FILE reads a [collect] table (keys: mqtt, mqtt_ca, store, influx_url, db, org,
group, client_id, batch_size, data_dir, verify_tls, ca_cert); VIBSENTRY_COLLECT_<KEY> variables override it,
options override both. Credentials only from the environment: VIBSENTRY_MQTT_USERNAME /
VIBSENTRY_MQTT_PASSWORD (or *_FILE, or --mqtt-password-file), VIBSENTRY_INFLUX_TOKEN or
VIBSENTRY_INFLUX_USERNAME / VIBSENTRY_INFLUX_PASSWORD; never logged.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    p.add_argument("--mqtt", default=None, metavar="URL", help="broker: mqtt[s]://HOST[:PORT]")
    p.add_argument("--mqtt-ca", default=None, metavar="FILE", help="CA bundle (PEM) for an mqtts:// broker")
    p.add_argument(
        "--mqtt-password-file", default=None, metavar="FILE", help="file holding the broker password"
    )
    p.add_argument("--store", default=None, help="sqlite:PATH (default sqlite:DATA_DIR/vibsentry.sqlite)")
    p.add_argument("--influx-url", default=None, help="write to InfluxDB at this URL instead")
    p.add_argument(
        "--db", "--bucket", dest="db", default=None, help="InfluxDB database (1.x) or bucket (2.x/3.x)"
    )
    p.add_argument("--org", default=None, help="InfluxDB 2.x organisation")
    p.add_argument("--influx-flavour", choices=("auto", "1", "2", "3"), default=None)
    p.add_argument("--no-verify-tls", action="store_true", help="do not verify the InfluxDB TLS certificate")
    p.add_argument("--ca-cert", default=None, help="CA bundle for a private InfluxDB certificate")
    p.add_argument("--group", default=None, help="shared-subscription group (default 'vibsentry')")
    p.add_argument(
        "--client-id", default=None, help="MQTT client id, stable across restarts (default: per host)"
    )
    p.add_argument(
        "--no-shared", action="store_true", help="plain subscription (brokers without $share support)"
    )
    p.add_argument(
        "--mqtt-protocol",
        choices=("5", "3.1.1"),
        default=None,
        help="MQTT version (default 5); 3.1.1 costs ~25%% less CPU per message but needs the broker's "
        "max_inflight_messages raised (docs/mqtt.md)",
    )
    p.add_argument("--batch-size", type=int, default=None, help="most messages per store write (5000)")
    p.add_argument("--data-dir", default=None, help="status file and default store (./.vibsentry/data)")
    p.add_argument("--config", default=None, help="TOML file with a [collect] table")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--status", action="store_true", help="print the running collector's counters and exit")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """Merge the TOML [collect] table, VIBSENTRY_COLLECT_* variables and options (highest wins)."""
    from vibsentry.config import load_section

    cli = {
        "mqtt": args.mqtt,
        "mqtt_ca": args.mqtt_ca,
        "mqtt_password_file": args.mqtt_password_file,
        "store": args.store,
        "influx_url": args.influx_url,
        "db": args.db,
        "org": args.org,
        "influx_flavour": args.influx_flavour,
        "verify_tls": False if args.no_verify_tls else None,
        "ca_cert": args.ca_cert,
        "group": args.group,
        "client_id": args.client_id,
        "shared": False if args.no_shared else None,
        "batch_size": args.batch_size,
        "data_dir": args.data_dir,
        "mqtt_protocol": args.mqtt_protocol,
    }
    s = load_section("collect", args.config, overrides=cli)
    s.setdefault("data_dir", str(Path(".vibsentry") / "data"))
    s.setdefault("db", "vibsentry")
    s.setdefault("org", "vibsentry")
    s.setdefault("verify_tls", True)
    s.setdefault("group", "vibsentry")
    s.setdefault("shared", True)
    s.setdefault("batch_size", 5000)
    s.setdefault("mqtt_protocol", "5")
    if str(s["mqtt_protocol"]) not in ("5", "3.1.1"):
        raise ConfigError(f"collect mqtt_protocol={s['mqtt_protocol']!r}: use 5 or 3.1.1")
    if isinstance(s["shared"], str):  # from VIBSENTRY_COLLECT_SHARED
        s["shared"] = s["shared"].strip().lower() not in ("0", "false", "no", "off")
    try:
        s["batch_size"] = int(s["batch_size"])
    except (TypeError, ValueError):
        raise ConfigError(f"collect batch_size={s['batch_size']!r}: not a number") from None
    if s["batch_size"] <= 0:
        raise ConfigError(f"collect batch_size={s['batch_size']!r}: must be positive")
    return s


def run(args: argparse.Namespace) -> int:
    """Run the collector until interrupted (or for ``--duration`` seconds)."""
    s = settings(args)
    data_dir = Path(s["data_dir"])
    status_path = data_dir / "collect-status.json"
    if args.status:
        try:
            print(json.dumps(json.loads(status_path.read_text(encoding="utf-8")), indent=1, sort_keys=True))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{status_path}: no collector status here ({exc})") from None
        return 0
    if not s.get("mqtt"):
        raise UsageError("no --mqtt broker URL given (nor 'mqtt' in the [collect] config table)")
    if s.get("store") and s.get("influx_url"):
        raise UsageError("give either --store sqlite:PATH or --influx-url, not both")
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    from vibsentry.commands.ingest import influx_store, mqtt_broker
    from vibsentry.dashboard.gateway.collect import Collector, CollectorConfig
    from vibsentry.dashboard.gateway.mqtt import check_level

    broker = mqtt_broker(s)
    group = check_level(str(s["group"]), "--group")
    client_id = str(s.get("client_id") or f"vibsentry-collect-{group}-{socket.gethostname().split('.')[0]}")
    store: Any
    if s.get("influx_url"):
        store = influx_store(s)
    else:
        from vibsentry.dashboard.store.sqlite import SQLiteStore

        spec = str(s.get("store") or f"sqlite:{data_dir / 'vibsentry.sqlite'}")
        if not spec.startswith("sqlite:") or len(spec) == len("sqlite:"):
            raise UsageError(f"--store {spec!r}: expected sqlite:PATH (use --influx-url for InfluxDB)")
        store = SQLiteStore(spec[len("sqlite:") :])
    cfg = CollectorConfig(
        group=group,
        client_id=client_id,
        shared=bool(s["shared"]),
        batch_size=int(s["batch_size"]),
        status_path=status_path,
        protocol=str(s["mqtt_protocol"]),
    )
    col = Collector(broker, store, cfg)
    log = logging.getLogger("vibsentry.collect")
    log.info("collecting %s %s -> %s", broker.description, cfg.topic, store.description)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: col.request_stop())
    col.run_forever(duration_s=args.duration)
    st = col.status()
    log.info(
        "stopped: %d received, %d written, %d acknowledged, %d rejected",
        st["received"],
        st["written"],
        st["acked"],
        st["rejected"],
    )
    if col.fatal:
        raise StoreError(col.fatal)
    return 0
