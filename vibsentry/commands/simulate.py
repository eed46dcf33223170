"""``vibsentry simulate``: virtual sensor nodes that speak the wire protocol to a serial port or pty."""

from __future__ import annotations

import argparse
import math
import sys
import time

from vibsentry.errors import UsageError

HELP = "run virtual nodes (reference features, bundle model, alarm rule) that stream frames to a port"
DESCRIPTION = """\
Run one or many virtual sensor nodes. Each plays a recording (a WAV/CSV/NPY file, or synth:normal,
synth:outer, synth:inner, synth:ball) through the firmware's own node core (vs_node, built for the bundle and
run through ctypes; --engine python: the Python reference pipeline of vibsentry.dsp, the bundle's INT8 model
and alarm rule) and sends what a real node sends (HELLO,
STATUS every --status-every s, SCORE per analysed frame, ALARM raise/clear, FEATURES every --features-every
frames, a RAW_CHUNK capture of the last --raw-seconds when an alarm is raised) as wire-protocol frames
(docs/protocol.md), at real time or --speed times faster. Host commands the gateway writes back to a port
(REQUEST_RAW, SET_THRESHOLD, BASELINE_LEARN, MODEL_*) are answered by the node they name, with one ACK or
NACK each (docs/node.md, "Commands to simulated nodes").

Without --bundle the nodes score with a baseline fitted on their own first 10 s of signal (no TensorFlow
needed). --inject-fault-at SECONDS switches the signal of the --fault-nodes to --fault-recording (default
synth:outer) at that node time.

Examples:
  vibsentry simulate --create-pty /tmp/vs-node1 --duration 120           # prints the pty, then streams
  vibsentry ingest --port /tmp/vs-node1                                  # in another terminal
  vibsentry simulate --port socket://127.0.0.1:7000 --nodes 4 --bundle bundles/demo \\
      --recording sample_data/synthetic/m1_normal_a.wav --inject-fault-at 60 --fault-nodes 2
  vibsentry simulate --create-pty /tmp/a --create-pty /tmp/b --nodes 6 --speed 10   # nodes round-robin on ports
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    p.add_argument("--port", action="append", default=None, help="device path or pyserial URL; repeatable")
    p.add_argument(
        "--create-pty",
        action="append",
        default=None,
        metavar="LINK",
        help="create a pty, symlink LINK to it and print its path; repeatable",
    )
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--nodes", type=int, default=1, help="number of virtual nodes (default 1)")
    p.add_argument("--node-id", type=int, default=1, help="id of the first node (default 1)")
    p.add_argument("--machine", default="machine", help="machine name; '-N' is appended when --nodes > 1")
    p.add_argument("--recording", default="synth:normal", help="healthy signal: file or synth:KIND")
    p.add_argument("--fault-recording", default="synth:outer", help="signal after the fault")
    p.add_argument(
        "--inject-fault-at",
        type=float,
        default=None,
        metavar="SECONDS",
        help="switch the fault nodes to --fault-recording at this node time",
    )
    p.add_argument(
        "--fault-nodes",
        default=None,
        help="comma-separated node ids that get the fault (default: the first node)",
    )
    p.add_argument("--bundle", default=None, help="model bundle directory (features, INT8 model, alarm rule)")
    p.add_argument("--duration", type=float, default=60.0, help="node seconds to simulate (default 60)")
    p.add_argument("--speed", type=float, default=1.0, help="node seconds per wall second (default 1)")
    p.add_argument("--status-every", type=float, default=10.0, help="STATUS period in node seconds")
    p.add_argument("--features-every", type=int, default=10, help="FEATURES every N analysed frames (0: off)")
    p.add_argument("--trigger-rms", type=float, default=0.0, help="analyse frames with RMS above this (g)")
    p.add_argument(
        "--raw-seconds",
        type=float,
        default=1.0,
        help="raw capture length sent on alarm raise (RAW_CHUNK, int16); 0 disables captures",
    )
    p.add_argument(
        "--raw-every",
        type=float,
        default=0.0,
        help="also send a raw capture every this many node seconds (0: only on alarm)",
    )
    p.add_argument(
        "--engine",
        choices=("auto", "c", "python"),
        default="auto",
        help="node behaviour: c = the firmware's vs_node through ctypes (needs --bundle, make, a C compiler), "
        "python = the reference pipeline; auto = c with a bundle when it builds here (default)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    """Build the nodes, open the ports and stream until done (or Ctrl-C)."""
    from vibsentry.nodes.ports import PtyPort, SerialPort
    from vibsentry.nodes.simulator import Simulator
    from vibsentry.nodes.virtual import NodeSpec, VirtualNode, node_machine_name

    if not 1 <= args.nodes <= 1000:
        raise UsageError(f"--nodes {args.nodes!r}: must be 1..1000")
    if not (0 <= args.node_id and args.node_id + args.nodes - 1 < 0xFFFF):
        raise UsageError(f"--node-id {args.node_id!r}: node ids must stay within 0..65534")
    if args.raw_seconds < 0 or args.raw_every < 0:
        raise UsageError(f"--raw-seconds {args.raw_seconds!r} / --raw-every {args.raw_every!r}: must be >= 0")
    if not args.duration > 0:
        raise UsageError(f"--duration {args.duration!r}: must be positive")
    if not (math.isfinite(args.speed) and args.speed > 0):
        raise UsageError(f"--speed {args.speed!r}: must be a positive number of node seconds per wall second")
    if not (args.port or args.create_pty):
        raise UsageError("give --port URL or --create-pty LINK")
    ids = list(range(args.node_id, args.node_id + args.nodes))
    fault_ids: set[int] = set()
    if args.inject_fault_at is not None:
        if args.fault_nodes:
            try:
                fault_ids = {int(x) for x in args.fault_nodes.split(",") if x}
            except ValueError:
                raise UsageError(f"--fault-nodes {args.fault_nodes!r}: expected node ids like 1,3") from None
            if not fault_ids <= set(ids):
                raise UsageError(
                    f"--fault-nodes {args.fault_nodes!r}: not among the simulated ids {ids[0]}..{ids[-1]}"
                )
        else:
            fault_ids = {ids[0]}
    bundle = None
    if args.bundle:
        from vibsentry.runtime.bundle import load_bundle

        bundle = load_bundle(args.bundle)
    nodes = []
    for k, nid in enumerate(ids):
        spec = NodeSpec(
            node_id=nid,
            machine=node_machine_name(args.machine, args.nodes, nid),
            recording=args.recording,
            fault_recording=args.fault_recording,
            fault_at_s=args.inject_fault_at if nid in fault_ids else None,
            seed=args.seed + 7 * k,
        )
        nodes.append(
            VirtualNode(
                spec,
                duration_s=args.duration,
                bundle=bundle,
                status_every_s=args.status_every,
                features_every=args.features_every,
                trigger_rms_g=args.trigger_rms,
                raw_capture_s=args.raw_seconds,
                raw_every_s=args.raw_every,
                engine=args.engine,
            )
        )
    ports: list = []
    try:
        for link in args.create_pty or []:
            pty = PtyPort(link)
            ports.append(pty)
            print(f"pty {pty.path} (link {link})", flush=True)
        for url in args.port or []:
            ports.append(SerialPort(url, args.baud))
        sim = Simulator(nodes, ports, speed=args.speed)
        t0 = time.monotonic()
        n = sim.run(stagger_us=137)
        if not args.quiet:
            print(
                f"sent {n} frames from {len(nodes)} node(s) in {time.monotonic() - t0:.1f} s", file=sys.stderr
            )
            if sim.received or sim.rx_errors or sim.rx_foreign:
                print(
                    f"received {sim.received} command(s); ignored {sim.rx_errors} undecodable and "
                    f"{sim.rx_foreign} foreign frame(s)",
                    file=sys.stderr,
                )
        # A pty vanishes with the process: let the reader take what is still queued first.
        for port in ports:
            if isinstance(port, PtyPort) and not port.drain(timeout=10.0):
                print(
                    f"warning: {port.pending()} bytes on {port.name} were not read within 10 s",
                    file=sys.stderr,
                )
    finally:
        for port in ports:
            port.close()
    return 0
