"""``vibsentry deploy``: send a signed model bundle to nodes over the serial link (docs/deploy.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HELP = "send a signed model to nodes through the running gateway (or a port)"
DESCRIPTION = """\
Verify BUNDLE's signature with the public key first (an unsigned or wrongly signed bundle is refused before
anything is sent), then send its model image to each node: MODEL_BEGIN, the signed manifest, the image in
chunks (each acknowledged; resent on silence; resumed after a lost link), MODEL_COMMIT, and watch the trial.
One line per node: refused (with the NACK reason), sent, verified, trial, confirmed or reverted.
Exit 0 when every node confirmed the model (or is on trial with --confirm-s 0), 1 otherwise.

By default the command goes through the gateway (`vibsentry ingest`) whose data directory is --via (its
command socket DATA_DIR/gateway.sock); --port opens a node's port directly when no gateway runs on it.

examples:
  vibsentry deploy bundles/pump7 --node 3 --node 4 --pub /etc/vibsentry/signing/public.key
  vibsentry deploy bundles/pump7 --node 3 --pub public.key --port /dev/ttyUSB0
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry deploy``."""
    p.add_argument("bundle", metavar="BUNDLE", help="signed bundle directory (vibsentry sign)")
    p.add_argument("--node", type=int, action="append", required=True, help="node id (repeat for several)")
    p.add_argument("--pub", required=True, metavar="public.key", help="raw 32-byte Ed25519 public key")
    add_link_arguments(p)
    p.add_argument(
        "--chunk", type=int, default=1000, help="image bytes per MODEL_CHUNK, 1..1000 (default 1000)"
    )
    p.add_argument(
        "--reconnect-s",
        type=float,
        default=30.0,
        help="how long a lost gateway/port may stay away (default 30)",
    )
    p.add_argument(
        "--confirm-s",
        type=float,
        default=120.0,
        help="watch the trial this long for confirmed/reverted (default 120)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per node")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_link_arguments(p: argparse.ArgumentParser) -> None:
    """The route to the nodes (--via gateway / --port) and the command retries, shared by deploy and baseline."""
    route = p.add_mutually_exclusive_group()
    route.add_argument(
        "--via",
        default=None,
        metavar="DATA_DIR",
        help="data directory of the running gateway (./.vibsentry/data)",
    )
    route.add_argument("--port", default=None, help="open this serial port directly (no gateway on it)")
    p.add_argument("--baud", type=int, default=115200, help="with --port: baud rate (default 115200)")
    p.add_argument(
        "--timeout-s", type=float, default=2.0, help="wait for each ACK before resending (default 2)"
    )
    p.add_argument("--retries", type=int, default=5, help="resends per command (default 5)")


def open_link(args: argparse.Namespace, nodes: list[int]) -> Any:
    """The Link (vibsentry.dashboard.gateway.deploy) that --port or --via asks for; DeployError (one line)
    when the gateway's command socket or the port cannot be opened."""
    from vibsentry.dashboard.gateway.commands import SOCKET_NAME
    from vibsentry.dashboard.gateway.deploy import GatewayLink, LinkLost, SerialLink
    from vibsentry.errors import DeployError

    try:
        if args.port is not None:
            return SerialLink(args.port, args.baud)
        return GatewayLink(Path(args.via or Path(".vibsentry") / "data") / SOCKET_NAME, nodes)
    except LinkLost as exc:
        raise DeployError(
            f"{exc}; is `vibsentry ingest` running with this data directory? (or use --port)"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Verify, then deploy node by node."""
    from vibsentry import progress
    from vibsentry.dashboard.gateway.deploy import Link, Update, deploy_node
    from vibsentry.errors import DeployError, UsageError
    from vibsentry.signing import verify_bundle

    if not 1 <= args.chunk <= 1000:
        raise UsageError(f"--chunk {args.chunk}: must be 1..1000")
    if any(not 0 <= n <= 0xFFFE for n in args.node):
        raise UsageError(f"--node: ids are 0..65534 (got {args.node})")
    manifest = verify_bundle(args.bundle, args.pub)  # SignatureError (exit 1) before anything is sent
    update = Update.from_bundle(args.bundle)
    link: Link = open_link(args, list(args.node))
    reports = []
    try:
        for node in args.node:
            bar = progress.bar(total=len(update.image), desc=f"node {node}", unit="B", quiet=args.quiet)

            def step(_node: int, done: int, _total: int, bar=bar) -> None:  # type: ignore[no-untyped-def]
                bar.update(done - bar.n)

            try:
                rep = deploy_node(
                    link, node, update, chunk_bytes=args.chunk, timeout_s=args.timeout_s, retries=args.retries,
                    reconnect_s=args.reconnect_s, confirm_s=args.confirm_s, progress=step,
                )  # fmt: skip
            except DeployError as exc:
                from vibsentry.dashboard.gateway.deploy import NodeReport

                rep = NodeReport(node, stage="unreachable", reason=str(exc))
            finally:
                bar.close()
            reports.append(rep)
            if args.json:
                print(
                    json.dumps(rep.to_dict() | {"bundle_counter": manifest.counter}, sort_keys=True),
                    flush=True,
                )
            else:
                detail = f" ({rep.step}: {rep.reason})" if rep.stage == "refused" else ""
                detail = detail or (f" ({rep.reason})" if rep.reason else "")
                model = f", model {rep.model_hash[:16]}… counter {rep.counter}" if rep.model_hash else ""
                print(
                    f"node {node}: {rep.stage}{detail}; {rep.bytes_sent} bytes sent, {rep.resends} resends, "
                    f"{rep.resumes} resumes{model}",
                    flush=True,
                )
    finally:
        link.close()
    bad = [
        r.node
        for r in reports
        if not (r.stage == "confirmed" or (r.stage == "trial" and args.confirm_s == 0))
    ]
    if bad:
        print(f"vibsentry deploy: not confirmed on node(s) {', '.join(map(str, bad))}", file=sys.stderr)
        return 1
    return 0
