"""Dashboard hardening (issue K): every view survives an ordinary fleet, node text stays text, writes are
confined and audited. Real SQLite stores written by the gateway's own store writer, the real app in AppTest."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import SQLiteStore

from tests.support.dashboard import FEATURE_HASH, SECOND, make_records
from tests.test_dashboard_app import run_view


def hello(node: int, t_ns: int, machine: str) -> Record:
    """A HELLO as the gateway stores it."""
    return Record(
        "hello",
        node,
        t_ns,
        0,
        {
            "fw_version": "1.0.0",
            "feature_hash": FEATURE_HASH,
            "model_hash": "ef" * 32,
            "uptime_ms": 0,
            "machine": machine,
            "counters": {},
            "hash_mismatch": False,
            "port": "/dev/pts/9",
        },
        machine=machine,
    )


def write_store(path: Path, extra: list[Record]) -> None:
    store = SQLiteStore(path)
    try:
        store.write([*make_records(t0_ns=time.time_ns() - 65 * SECOND, n_nodes=2, seconds=60), *extra])
    finally:
        store.close()


@pytest.fixture()
def fresh_node_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two nodes with scores and node 9 that has sent HELLO only (just booted)."""
    path = tmp_path / "s.sqlite"
    write_store(path, [hello(9, time.time_ns() - 2 * SECOND, "fresh-9")])
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    return path


@pytest.mark.parametrize(
    ("view", "params"),
    [("fleet", {}), ("machine", {"node": "9"}), ("machine", {"node": "1"}), ("retrain", {})],
)
def test_views_survive_a_node_without_scores(
    fresh_node_store: Path, view: str, params: dict[str, str]
) -> None:
    at = run_view(view, **params)
    if view == "fleet":
        counts = {m.label: m.value for m in at.metric if m.label in ("Ok", "Warning", "Alarm", "Offline")}
        assert counts == {"Ok": "3", "Warning": "0", "Alarm": "0", "Offline": "0"}
    if view == "machine" and params["node"] == "9":
        assert {m.label: m.value for m in at.metric}["Last score"] == "—"
