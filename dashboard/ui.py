"""Streamlit glue for the dashboard: settings from the environment, cached source, cached queries.

The data source is a ``st.cache_resource`` (one connection for every browser session); query results are
``st.cache_data`` with a TTL of :data:`TTL_S` seconds, so ten open browsers refreshing every second cost the
database one query per TTL, not ten.

Settings (set by ``vibsentry dashboard``; usable directly with ``streamlit run``), all ``VIBSENTRY_DASHBOARD_*``:

- ``STORE``: ``sqlite:PATH`` (default ``sqlite:.vibsentry/data/vibsentry.sqlite``) or ``influx``;
- ``INFLUX_URL``, ``INFLUX_DB``, ``INFLUX_ORG``: the InfluxDB server, database/bucket and (2.x, for storing
  alarm acknowledgements) organisation, used when ``STORE=influx``;
  credentials only from ``VIBSENTRY_INFLUX_TOKEN`` / ``VIBSENTRY_INFLUX_USERNAME`` /
  ``VIBSENTRY_INFLUX_PASSWORD`` (or ``*_FILE`` variables naming files);
- ``CONFIG``: a TOML file whose ``[dashboard]`` table holds :class:`~vibsentry.dashboard.queries.DashboardConfig`;
- ``REFRESH_S``: live-panel refresh period in seconds (default 1);
- ``EXPORT_DIR``: the only directory retraining exports may write into (default ``.vibsentry/exports``);
- access control (``dashboard/access.py``): ``USERS_FILE``, ``OIDC``, ``ANONYMOUS_ROLE``, ``READ_ONLY`` (``1``),
  ``ADDRESS`` (the listen address, for the default anonymous role), over the TOML ``[dashboard.auth]`` table;
  ``AUDIT``: the audit log file (default ``audit.sqlite`` beside the SQLite store);
- retraining (TOML ``[dashboard]`` keys, or ``VIBSENTRY_DASHBOARD_<KEY>``): ``retrain_dir`` (jobs, default
  ``.vibsentry/retrain``), ``retrain_config`` (the ``[features]``/``[train]`` TOML for ``vibsentry train``),
  ``signing_key`` (the PEM private key that approving signs with; mode 0600).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from vibsentry.config import load_section, read_secret
from vibsentry.dashboard import queries as q
from vibsentry.dashboard.access import AccessConfig
from vibsentry.dashboard.audit import AuditLog
from vibsentry.dashboard.store.schema import DEFAULT_STORE
from vibsentry.errors import ConfigError

#: Query cache lifetime. Short, because an alarm must reach the screen within about a second; long enough
#: that many open browsers refreshing together cost the database one query per TTL.
TTL_S = 0.25
DEFAULT_EXPORT_DIR = ".vibsentry/exports"


def settings() -> dict[str, Any]:
    """The dashboard's settings from ``VIBSENTRY_DASHBOARD_*`` variables and the optional TOML file."""
    env = os.environ
    cfg_path = env.get("VIBSENTRY_DASHBOARD_CONFIG") or None
    # Environment overrides (VIBSENTRY_DASHBOARD_OFFLINE_AFTER_S=15) apply on top of the TOML file.
    section = load_section("dashboard", cfg_path)
    return {
        "store": env.get("VIBSENTRY_DASHBOARD_STORE", DEFAULT_STORE),
        "influx_url": env.get("VIBSENTRY_DASHBOARD_INFLUX_URL", "http://127.0.0.1:8086"),
        "influx_db": env.get("VIBSENTRY_DASHBOARD_INFLUX_DB", "vibsentry"),
        "refresh_s": float(env.get("VIBSENTRY_DASHBOARD_REFRESH_S", "1")),
        "export_dir": env.get("VIBSENTRY_DASHBOARD_EXPORT_DIR") or DEFAULT_EXPORT_DIR,
        "auth": auth_settings(section.get("auth", {}), env),
        "address": env.get("VIBSENTRY_DASHBOARD_ADDRESS") or None,
        "audit": env.get("VIBSENTRY_DASHBOARD_AUDIT") or None,
        # Models view (docs/deploy.md): the running gateway's data directory, the plant's public key and
        # where signed bundles are kept; deploying needs the public key.
        "gateway_dir": env.get("VIBSENTRY_DASHBOARD_GATEWAY_DIR") or ".vibsentry/data",
        "deploy_pub": env.get("VIBSENTRY_DASHBOARD_DEPLOY_PUB") or None,
        "bundles_dir": env.get("VIBSENTRY_DASHBOARD_BUNDLES_DIR") or "bundles",
        # Retraining (dashboard/retrain_job.py): where jobs run, the [features]/[train] TOML they use, and the
        # private key an admin's approval signs with. Paths on the server only, never from the page.
        "retrain_dir": str(section.get("retrain_dir") or ".vibsentry/retrain"),
        "retrain_config": section.get("retrain_config") or None,
        "signing_key": section.get("signing_key") or None,
        "config": {
            k: v
            for k, v in section.items()
            if k in {"offline_after_s", "machine_groups", "default_group", "iso_groups"}
        },
    }


def auth_settings(table: Any, env: Any) -> dict[str, Any]:
    """The ``[dashboard.auth]`` table with the ``VIBSENTRY_DASHBOARD_*`` access variables on top."""
    if not isinstance(table, dict):
        raise ConfigError(f"[dashboard.auth] must be a table, got {table!r}")
    out = dict(table)
    for key in ("users_file", "oidc", "anonymous_role"):
        if env.get(f"VIBSENTRY_DASHBOARD_{key.upper()}"):
            out[key] = env[f"VIBSENTRY_DASHBOARD_{key.upper()}"]
    if env.get("VIBSENTRY_DASHBOARD_READ_ONLY", "") not in ("", "0"):
        out["read_only"] = True
    return out


def access_config() -> AccessConfig:
    """The :class:`AccessConfig` from the settings."""
    s = settings()
    return AccessConfig.from_settings(s["auth"], address=s["address"])


@st.cache_resource(show_spinner=False)
def audit_log(path: str) -> AuditLog:
    """The shared audit log at ``path`` (cached for the life of the server)."""
    return AuditLog(path)


def current_audit_log() -> AuditLog:
    """The audit log named by the settings (default: ``audit.sqlite`` beside the SQLite store)."""
    s = settings()
    path = s["audit"]
    if not path:
        store = s["store"]
        if store == "influx":
            path = ".vibsentry/data/audit.sqlite"
        else:
            db = Path(store[len("sqlite:") :] if store.startswith("sqlite:") else store)
            path = str(db.with_name("audit.sqlite"))
    return audit_log(str(Path(path).resolve()))


@st.cache_resource(show_spinner=False)
def source(store: str, influx_url: str, influx_db: str) -> q.Source:
    """The shared data source for ``store`` (cached for the life of the server)."""
    if store == "influx":
        return q.open_source(
            "influx",
            url=influx_url,
            database=influx_db,
            token=read_secret("VIBSENTRY_INFLUX_TOKEN", file_var="VIBSENTRY_INFLUX_TOKEN_FILE"),
            username=read_secret("VIBSENTRY_INFLUX_USERNAME", file_var="VIBSENTRY_INFLUX_USERNAME_FILE"),
            password=read_secret("VIBSENTRY_INFLUX_PASSWORD", file_var="VIBSENTRY_INFLUX_PASSWORD_FILE"),
            org=os.environ.get("VIBSENTRY_DASHBOARD_INFLUX_ORG") or None,
        )
    return q.open_source(store)


def now_bucket() -> int:
    """The current time in whole :data:`TTL_S` periods: part of cache keys, so an entry never outlives it."""
    return time.time_ns() // int(TTL_S * 1e9)


def current_source() -> q.Source:
    """The source named by :func:`settings`."""
    s = settings()
    return source(s["store"], s["influx_url"], s["influx_db"])


def dashboard_config() -> q.DashboardConfig:
    """The :class:`DashboardConfig` from the settings."""
    return q.DashboardConfig.from_mapping(settings()["config"])


# Cached queries. The first argument is prefixed with "_" so Streamlit does not hash the source object; the
# store spec is passed instead so two sources never share cache entries.


@st.cache_data(ttl=TTL_S, show_spinner=False)
def fleet(spec: str, now_bucket: int) -> pd.DataFrame:
    """:func:`queries.fleet` (``now_bucket``: current time in whole TTLs, part of the cache key)."""
    del spec
    return q.fleet(current_source(), dashboard_config())


@st.cache_data(ttl=TTL_S, show_spinner=False)
def trend(spec: str, node: int, start_ns: int, end_ns: int, max_points: int) -> pd.DataFrame:
    """:meth:`Source.trend`."""
    del spec
    return current_source().trend(node, start_ns, end_ns, max_points)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def alarms(spec: str, start_ns: int, end_ns: int, node: int | None) -> pd.DataFrame:
    """:meth:`Source.alarms`."""
    del spec
    return current_source().alarms(start_ns, end_ns, node)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def latest_features(spec: str, node: int, now_bucket: int) -> tuple[int, str, np.ndarray] | None:
    """:meth:`Source.latest_features`."""
    del spec
    return current_source().latest_features(node)
