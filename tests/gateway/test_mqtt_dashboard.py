"""The dashboard groups an MQTT fleet by site and gateway (what ``vibsentry collect`` writes), and still
reads stores written before the ``site``/``gateway`` columns existed."""

from __future__ import annotations

import sqlite3
import time

import pandas as pd
import pytest

from vibsentry.dashboard import queries as q
from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import SQLiteStore


def _score(node, ts, *, site=None, gateway=None, value=0.5, alarm=0):
    fields = {"score": value, "threshold": 1.0, "alarm_state": alarm, "velocity_rms": 0.5}
    return Record("score", node, ts, 1, fields, machine=f"m{node}", site=site, gateway=gateway)


def test_fleet_carries_site_and_gateway_and_groups_by_them(tmp_path):
    now = time.time_ns()
    db = tmp_path / "plant.sqlite"
    with SQLiteStore(db) as st:
        st.write([
            _score(1, now, site="plantA", gateway="line1"),
            _score(2, now, site="plantA", gateway="line1", value=3.0, alarm=1),
            _score(3, now, site="plantA", gateway="line2"),
            _score(4, now),  # a node a local gateway stored itself
        ])  # fmt: skip
    src = q.open_source(f"sqlite:{db}")
    try:
        fleet = q.fleet(src, now_ns=now)
    finally:
        src.close()
    by_node = fleet.set_index("node")
    assert by_node.loc[1, ["site", "gateway"]].tolist() == ["plantA", "line1"]
    assert by_node.loc[4, ["site", "gateway"]].isna().all()
    origin = q.fleet_by_origin(fleet)
    assert origin[["site", "gateway", "nodes", "alarm", "ok"]].values.tolist() == [
        ["plantA", "line1", 2, 1, 1],  # the gateway with an alarm first
        ["local", "local", 1, 0, 1],
        ["plantA", "line2", 1, 0, 1],
    ]


def test_a_store_from_before_the_columns_still_reads(tmp_path):
    now = time.time_ns()
    db = tmp_path / "old.sqlite"
    with SQLiteStore(db) as st:
        st.write([_score(7, now)])
    conn = sqlite3.connect(db)
    try:
        conn.execute("ALTER TABLE nodes DROP COLUMN site")
        conn.execute("ALTER TABLE nodes DROP COLUMN gateway")
        conn.commit()
    except sqlite3.OperationalError as exc:  # DROP COLUMN needs SQLite >= 3.35
        pytest.skip(f"this SQLite cannot drop columns: {exc}")
    finally:
        conn.close()
    src = q.open_source(f"sqlite:{db}")
    try:
        fleet = q.fleet(src, now_ns=now)
    finally:
        src.close()
    assert fleet["site"].tolist() == [None]
    assert q.fleet_by_origin(fleet)["nodes"].tolist() == [1]
    with SQLiteStore(db):  # a writer opening the old file adds the columns
        pass
    cols = [r[1] for r in sqlite3.connect(db).execute("PRAGMA table_info(nodes)")]
    assert cols[-2:] == ["site", "gateway"]
    assert isinstance(q.fleet_by_origin(pd.DataFrame(columns=list(q.FLEET_COLUMNS))), pd.DataFrame)
