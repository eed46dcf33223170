"""``vibsentry dashboard``: serve the Streamlit dashboard over a SQLite store or an InfluxDB server."""

from __future__ import annotations

import argparse
from pathlib import Path

from vibsentry.dashboard.server import DEFAULT_STORE, dashboard_env, start, stop, wait_healthy
from vibsentry.errors import UsageError
from vibsentry.process import check_port_free

HELP = "serve the live dashboard (fleet, machine detail, alarm log, data for retraining)"
DESCRIPTION = """\
Serve the Streamlit dashboard on http://ADDRESS:PORT/ over the store the gateway ('vibsentry ingest') fills.

Views: fleet overview (status, score vs threshold, velocity RMS with its ISO 10816 zone, versions,
feature_hash mismatches), machine detail (score trend with threshold and alarm periods, velocity and RMS,
latest spectrum, alarm history), alarm log (acknowledge with a note), and data for retraining (export raw
captures as WAV + manifest lines). Live panels refresh every --refresh seconds without reloading the page.

Examples:
  vibsentry dashboard                                   # ./.vibsentry/data/vibsentry.sqlite on :8501
  vibsentry dashboard --store sqlite:/var/lib/vibsentry/plant.sqlite --port 8080 --address 0.0.0.0
  VIBSENTRY_INFLUX_TOKEN=... vibsentry dashboard --influx-url https://influx.plant:8086 --db vibsentry

InfluxDB 1.x, 2.x (bucket with a DBRP mapping) and 3.x are read with InfluxQL. Credentials come only from
the environment: VIBSENTRY_INFLUX_TOKEN, or VIBSENTRY_INFLUX_USERNAME + VIBSENTRY_INFLUX_PASSWORD (each also as
*_FILE naming a file). --config names a TOML file whose [dashboard] table sets offline_after_s,
default_group, [dashboard.machine_groups] (machine -> ISO group) and [dashboard.iso_groups].

Access (docs/dashboard-access.md): roles viewer / operator (acknowledge, export, request raw) / admin (deploy).
Without a login method, a dashboard on a loopback address gives everyone admin and one on another address
gives viewer. Log in with a server-side users file (argon2id hashes) or the plant's OIDC identity provider:
  vibsentry dashboard --users users.toml --set-user alice --role operator   # asks for the password
  vibsentry dashboard --users users.toml --address 0.0.0.0
  vibsentry dashboard --oidc --oidc-secrets /etc/vibsentry/secrets.toml --address 0.0.0.0
--read-only makes everyone a viewer. Every write action goes to an audit log shown in the app. Exports go only
into --export-dir.
"""

ROLES = (
    "viewer",
    "operator",
    "admin",
)  # as vibsentry.dashboard.access.ROLES (not imported: --help stays fast)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    p.add_argument("--store", default=None, help=f"SQLite store, sqlite:PATH (default {DEFAULT_STORE})")
    p.add_argument("--influx-url", default=None, help="read InfluxDB at this URL instead of SQLite")
    p.add_argument("--db", "--bucket", dest="db", default="vibsentry", help="InfluxDB database/bucket")
    p.add_argument("--port", type=int, default=8501, help="HTTP port (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="listen address (0.0.0.0 for the whole LAN)")
    p.add_argument("--config", default=None, help="TOML file with a [dashboard] table")
    p.add_argument(
        "--refresh", type=float, default=1.0, help="live-panel refresh period in seconds (default 1)"
    )
    p.add_argument(
        "--users", default=None, metavar="FILE", help="built-in login: users file (TOML, argon2id)"
    )
    p.add_argument(
        "--set-user",
        default=None,
        metavar="NAME",
        help="add/replace NAME in --users (password from stdin) and exit",
    )
    p.add_argument("--role", default="viewer", choices=ROLES, help="role for --set-user (default viewer)")
    p.add_argument(
        "--oidc",
        nargs="?",
        const="default",
        default=None,
        metavar="PROVIDER",
        help="log in through the OIDC provider configured in the [auth] table of --oidc-secrets",
    )
    p.add_argument("--oidc-secrets", default=None, metavar="FILE", help="Streamlit secrets file with [auth]")
    p.add_argument(
        "--anonymous-role",
        default=None,
        choices=[*ROLES, "none"],
        help="role of visitors who have not logged in (default: admin on loopback without login, else viewer)",
    )
    p.add_argument(
        "--read-only", action="store_true", help="everyone is a viewer: no acknowledgement, no export"
    )
    p.add_argument(
        "--export-dir", default=".vibsentry/exports", help="the only folder exports may write into"
    )
    p.add_argument(
        "--audit", default=None, metavar="FILE", help="audit log (default: audit.sqlite beside the store)"
    )


def access_env(args: argparse.Namespace, env: dict[str, str]) -> dict[str, str]:
    """Add the access-control settings of ``args`` to ``env``; checks files and the resulting config now,
    so a mistake is one line here rather than a broken page later."""
    from vibsentry.config import load_section, load_toml
    from vibsentry.dashboard.access import AccessConfig, load_users

    if args.users:
        load_users(args.users)
        env["VIBSENTRY_DASHBOARD_USERS_FILE"] = str(Path(args.users).resolve())
    if args.oidc:
        if not args.oidc_secrets:
            raise UsageError(
                "--oidc needs --oidc-secrets FILE (a Streamlit secrets file with an [auth] table)"
            )
        env["VIBSENTRY_DASHBOARD_OIDC"] = args.oidc
    if args.oidc_secrets and not isinstance(load_toml(args.oidc_secrets).get("auth"), dict):
        raise UsageError(f"--oidc-secrets {args.oidc_secrets!r}: no [auth] table (see Streamlit's st.login)")
    if args.anonymous_role:
        env["VIBSENTRY_DASHBOARD_ANONYMOUS_ROLE"] = args.anonymous_role
    if args.read_only:
        env["VIBSENTRY_DASHBOARD_READ_ONLY"] = "1"
    env["VIBSENTRY_DASHBOARD_ADDRESS"] = args.address
    env["VIBSENTRY_DASHBOARD_EXPORT_DIR"] = str(Path(args.export_dir).resolve())
    if args.audit:
        env["VIBSENTRY_DASHBOARD_AUDIT"] = str(Path(args.audit).resolve())
    auth = dict(load_section("dashboard", env.get("VIBSENTRY_DASHBOARD_CONFIG"), environ={}).get("auth", {}))
    auth.update({k: v for k, v in (("users_file", args.users), ("oidc", args.oidc)) if v})
    if args.anonymous_role:
        auth["anonymous_role"] = args.anonymous_role
    AccessConfig.from_settings(auth, address=args.address)
    return env


def check_config_and_store(env: dict[str, str]) -> None:
    """What the app would refuse on its page, refused here in one line: a bad [dashboard] value (negative
    offline_after_s, inverted ISO limits, unknown group) or a store this version cannot read (newer schema)."""
    from vibsentry.config import load_section
    from vibsentry.dashboard.queries import DashboardConfig, SqliteSource

    section = load_section("dashboard", env.get("VIBSENTRY_DASHBOARD_CONFIG"), environ=env)
    keys = {"offline_after_s", "machine_groups", "default_group", "iso_groups"}
    DashboardConfig.from_mapping({k: v for k, v in section.items() if k in keys})
    store = env["VIBSENTRY_DASHBOARD_STORE"]
    if store.startswith("sqlite:"):
        SqliteSource(store[len("sqlite:") :]).close()


def set_user(args: argparse.Namespace) -> int:
    """``--set-user NAME``: read the password (terminal without echo, or one line of stdin) and store it."""
    import getpass
    import sys

    from vibsentry.dashboard.access import set_user as store_user

    if not args.users:
        raise UsageError("--set-user needs --users FILE")
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.set_user}: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    store_user(args.users, args.set_user, args.role, password)
    print(f"dashboard: user {args.set_user!r} ({args.role}) stored in {args.users}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    if args.set_user:
        return set_user(args)
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port!r}: must be 1..65535")
    env = dashboard_env(
        store=args.store, influx_url=args.influx_url, db=args.db, config=args.config, refresh_s=args.refresh
    )
    env = access_env(args, env)
    check_config_and_store(env)
    check_port_free(args.port, args.address)
    proc = start(env, args.port, args.address, secrets=args.oidc_secrets)
    try:
        wait_healthy(args.port, proc)
        host = "localhost" if args.address in ("127.0.0.1", "0.0.0.0") else args.address
        print(f"dashboard: http://{host}:{args.port}/  ({env['VIBSENTRY_DASHBOARD_STORE']}); Ctrl-C stops it")
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(proc)
