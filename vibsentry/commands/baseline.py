"""``vibsentry baseline``: make a node learn its machine's normal (BASELINE_LEARN, docs/node.md)."""

from __future__ import annotations

import argparse
import json
import time

from vibsentry.commands.deploy import add_link_arguments, open_link

HELP = "make a node learn its own machine's normal (through the running gateway, or a port)"
DESCRIPTION = """\
Send BASELINE_LEARN to a node: it learns the per-feature mean/std from the first half of the next FRAMES
analysed frames and the alarm threshold (score mean + K x std) from the second half, stores the result with a
CRC (kept across reboots) and scores with it from then on (docs/node.md, "Baseline learning"). Progress comes
in the node's BASELINE_PROGRESS (with every STATUS while learning); one line at the end. --abort stops a
learning (the stored baseline stays), --clear erases the stored baseline (the model's own scoring returns).
Exit 0 when the node learned (or aborted / cleared as asked), 1 when it refused, failed or did not answer.

examples:
  vibsentry baseline --node 3 --frames 600
  vibsentry baseline --node 3 --abort
  vibsentry baseline --node 3 --clear --port /dev/ttyUSB0
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry baseline``."""
    p.add_argument("--node", type=int, required=True, help="node id")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--frames", type=int, help="analysed frames to learn from (>= 64)")
    what.add_argument("--abort", action="store_true", help="stop a learning in progress")
    what.add_argument("--clear", action="store_true", help="erase the node's stored baseline")
    p.add_argument(
        "--k", type=float, default=0.0, help="threshold = mean + K x std of the scores (0: node default, 4)"
    )
    add_link_arguments(p)
    p.add_argument(
        "--wait-s",
        type=float,
        default=None,
        help="how long to wait for learning to end (default: 60 s + 1 s per 5 frames)",
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _reason(code: int) -> str:
    from vibsentry import protocol as vp

    try:
        return vp.NackReason(code).name
    except ValueError:
        return f"reason {code}"


def run(args: argparse.Namespace) -> int:
    """Send the command, follow BASELINE_PROGRESS, print one line."""
    from vibsentry import progress
    from vibsentry import protocol as vp
    from vibsentry.dashboard.gateway.deploy import (
        Link,
        NodeReport,
        _Session,
    )
    from vibsentry.errors import DeployError, UsageError

    if not 0 <= args.node <= 0xFFFE:
        raise UsageError(f"--node {args.node}: ids are 0..65534")
    if args.frames is not None and not vp.MIN_BASELINE_FRAMES <= args.frames <= 1 << 24:
        raise UsageError(f"--frames {args.frames}: must be {vp.MIN_BASELINE_FRAMES}..{1 << 24}")
    if not 0.0 <= args.k <= 1000.0:
        raise UsageError(f"--k {args.k}: must be 0..1000")
    link: Link = open_link(args, [args.node])
    action = vp.BaselineAction.START if args.frames else (
        vp.BaselineAction.ABORT if args.abort else vp.BaselineAction.CLEAR
    )  # fmt: skip
    session = _Session(link, args.node, args.timeout_s, args.retries, 30.0, NodeReport(args.node))
    result: dict[str, object] = {"node": args.node, "action": action.name.lower()}
    try:
        reason = session.command(vp.BaselineLearn(int(action), args.frames or 0, float(args.k)))
        if reason:
            result |= {"result": "refused", "reason": _reason(reason)}
        elif action != vp.BaselineAction.START:
            result["result"] = "aborted" if action == vp.BaselineAction.ABORT else "cleared"
        else:
            result |= _follow(session, args, progress)
    except DeployError as exc:
        result |= {"result": "unreachable", "reason": str(exc)}
    finally:
        link.close()
    if args.json:
        print(json.dumps(result, sort_keys=True), flush=True)
    else:
        print(_line(result), flush=True)
    done = result["result"]
    return 0 if done in ("learned", "cleared") or (done == "aborted" and args.abort) else 1


def _follow(session, args: argparse.Namespace, progress) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Watch BASELINE_PROGRESS until learning ends; the result fields."""
    from vibsentry import protocol as vp

    wait_s = args.wait_s if args.wait_s is not None else 60.0 + args.frames / 5.0
    bar = progress.bar(total=args.frames, desc=f"node {args.node}", unit="frames", quiet=args.quiet)
    deadline = time.monotonic() + wait_s
    try:
        while (left := deadline - time.monotonic()) > 0:
            for f in session._recv(min(left, 0.5)):
                m = f.message
                if not isinstance(m, vp.BaselineProgress):
                    continue
                bar.update(max(0, m.frames_done - bar.n))
                state = vp.BaselineState(m.state)
                if state == vp.BaselineState.LEARNING:
                    continue
                if state == vp.BaselineState.DONE and m.frames_target == args.frames:
                    return {"result": "learned", "frames": m.frames_done, "threshold": m.threshold,
                            "crc": f"{m.baseline_crc:08x}"}  # fmt: skip
                if state in (vp.BaselineState.FAILED, vp.BaselineState.ABORTED):
                    return {"result": state.name.lower(), "frames": m.frames_done}
    finally:
        bar.close()
    return {"result": "timeout", "reason": f"learning did not end within {wait_s:g} s"}


def _line(r: dict[str, object]) -> str:
    head = f"node {r['node']}: {r['result']}"
    if r["result"] == "learned":
        return f"{head} from {r['frames']} frames; threshold {r['threshold']:.6g}, stored crc {r['crc']}"
    if "reason" in r:
        return f"{head} ({r['reason']})"
    if "frames" in r:
        return f"{head} after {r['frames']} frames"
    return head
