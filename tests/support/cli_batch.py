"""Run many ``vibsentry`` command lines in ONE child process (interpreter start-up and imports paid once).

``python -m tests.support.cli_batch < cases.json > results.json``: each case is ``{"argv": [...], "cwd": DIR,
"stdin": TEXT}``; each result ``{"rc": int, "stdout": str, "stderr": str}`` is what the real entry point
(:func:`vibsentry.cli.main`) returned and wrote, an ``argparse`` ``SystemExit`` code included. An exception
that escapes ``main`` is printed as Python would (a traceback, exit code 1), so a test sees it as a crash. A
case still running after 60 s is stopped and reported with exit code 124.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import traceback


class _Hang(BaseException):
    pass


def _alarm(_sig: int, _frame: object) -> None:
    raise _Hang()


def run_case(case: dict) -> dict:
    from vibsentry.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_in = sys.stdin
    sys.stdin = io.StringIO(case.get("stdin", ""))
    os.chdir(case["cwd"])
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(case["argv"])
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except _Hang:
                rc = 124
                print("HANG: still running after 60 s", file=sys.stderr)
            except BaseException:  # what the interpreter would print for an uncaught exception
                traceback.print_exc()
                rc = 1
    finally:
        signal.alarm(0)
        sys.stdin = old_in
    return {"rc": int(rc or 0), "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    cases = json.load(sys.stdin)
    results = [run_case(c) for c in cases]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
