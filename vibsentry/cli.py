"""The ``vibsentry`` command: one entry point, one module per subcommand under ``vibsentry.commands``.

Each command module defines ``HELP`` (one line), ``DESCRIPTION`` (what it does, with an example),
``add_arguments(parser)`` and ``run(args) -> int``. Modules import heavy libraries (TensorFlow, Streamlit)
inside ``run`` only, so ``vibsentry --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence

from vibsentry import __version__
from vibsentry.errors import VibsentryError

# Order is the order shown in --help: the data path from recording to dashboard.
COMMANDS: tuple[str, ...] = (
    "features",
    "diagnose",
    "train",
    "evaluate",
    "export",
    "keys",
    "sign",
    "verify",
    "deploy",
    "baseline",
    "simulate",
    "ingest",
    "collect",
    "dashboard",
    "demo",
)


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and one-line errors (argparse prints usage + error by default)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand registered."""
    parser = _Parser(
        prog="vibsentry",
        description=(
            "Offline vibration anomaly detection: features, training, C export, serial ingest and a live "
            "dashboard. Run 'vibsentry demo' to see the whole chain on one machine."
        ),
        epilog="Use 'vibsentry COMMAND --help' for the options of a command. Exit codes: 0 ok, 1 failure, 2 usage.",
    )
    parser.add_argument("--version", action="version", version=f"vibsentry {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = importlib.import_module(f"vibsentry.commands.{name}")
        p = sub.add_parser(
            name,
            help=mod.HELP,
            description=getattr(mod, "DESCRIPTION", mod.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 failure, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        # A non-interactive shell starts background commands with SIGINT ignored, and Python then installs
        # no KeyboardInterrupt handler: Ctrl-C or `kill -INT` must still stop a dashboard, demo or gateway.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except VibsentryError as exc:
        print(f"vibsentry {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"vibsentry {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except OSError as exc:  # the environment (unwritable folder, full disk, vanished device): one line too
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"vibsentry {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
