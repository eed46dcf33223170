"""``vibsentry demo``: the whole chain on one machine, no hardware: nodes -> ptys -> gateway -> dashboard."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "run the whole chain on this machine: simulated nodes over ptys, the gateway and the dashboard"
DESCRIPTION = """\
Bring vibsentry to life with no hardware:

  1. a model bundle (trained once on sample_data/ and cached in .vibsentry/demo/bundle, or --bundle DIR);
  2. simulated sensor nodes (the firmware's node core, vs_node, built for the bundle and run through ctypes;
     the Python reference pipeline without a C compiler) streaming wire-protocol frames over real ptys: two
     pumps and two fans by default;
  3. 'vibsentry ingest' decoding them into a fresh SQLite store (.vibsentry/demo/run/vibsentry.sqlite) and
     diagnosing every raw capture the nodes send (one per alarm, one every 30 s);
  4. the dashboard on http://localhost:8501/ (--port to change it).

After --fault-after seconds (default 60) pump-2 develops an outer-race bearing fault: watch its score cross
the threshold, the alarm appear in the fleet view and, a second or two later, its diagnosis in the alarm log
("outer race defect: BPFO 107.2 Hz ..."). Ctrl-C stops everything. Logs: .vibsentry/demo/logs/.

Examples:
  vibsentry demo
  vibsentry demo --port 8600 --fault-after 30
  vibsentry demo --duration 120 --no-dashboard        # bounded run, e.g. in a script
  vibsentry demo --firmware      # the node firmware itself: STM32 + RV32 images on QEMU (docs/firmware.md)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry demo``."""
    p.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="dashboard listen address (0.0.0.0: whole LAN)")
    p.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)"
    )
    p.add_argument("--fault-after", type=float, default=60.0, help="seconds until pump-2's bearing fault")
    p.add_argument("--nodes", type=int, default=4, help="simulated nodes, half pumps, half fans (2..16)")
    p.add_argument("--speed", type=float, default=1.0, help="node seconds per wall second (default 1)")
    p.add_argument("--bundle", default=None, help="use this model bundle instead of the cached/trained one")
    p.add_argument("--no-train", action="store_true", help="no bundle: nodes use a baseline scorer")
    p.add_argument("--no-dashboard", action="store_true", help="do not serve the dashboard")
    p.add_argument(
        "--firmware",
        action="store_true",
        help="run the node firmware on QEMU (STM32 netduinoplus2 + RV32 virt) instead of simulated nodes",
    )
    p.add_argument(
        "--workdir", default=".vibsentry/demo", help="cache and run folder (default .vibsentry/demo)"
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo until --duration or Ctrl-C."""
    from vibsentry.demo import DemoOptions, run_demo

    opts = DemoOptions(
        port=args.port,
        address=args.address,
        duration_s=args.duration,
        fault_after_s=args.fault_after,
        nodes=args.nodes,
        workdir=Path(args.workdir),
        bundle=Path(args.bundle) if args.bundle else None,
        train=not args.no_train,
        speed=args.speed,
        dashboard=not args.no_dashboard,
        firmware=args.firmware,
    )
    return run_demo(opts, lambda line: print(line, flush=True))
