"""Every dashboard view run with Streamlit's AppTest over a real SQLite store."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.dashboard import APP, SECOND, fill_store, run_view


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "s.sqlite"
    fill_store(path, t0_ns=time.time_ns() - 125 * SECOND, mismatch_node=3)
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    return path


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_fleet_view_tiles(store: Path) -> None:
    at = run_view("fleet")
    assert at.title[0].value == "Fleet overview"
    counts = {m.label: m.value for m in at.metric if m.label in ("Ok", "Warning", "Alarm", "Offline")}
    assert counts == {"Ok": "2", "Warning": "0", "Alarm": "1", "Offline": "0"}
    md = texts(at)
    assert "**`pump-2`** · node 2 :red-background[ALARM]" in md  # node text is a code span: literal
    assert "**`pump-1`** · node 1 :green-background[OK]" in md
    assert "feature_hash mismatch" in md
    vel = [m for m in at.metric if m.label == "Velocity mm/s"]
    assert len(vel) == 3 and {m.value for m in vel} == {"5.00", "1.00"}
    assert sorted(m.delta for m in vel) == ["ISO A", "ISO A", "ISO D"]


def test_machine_view_chart_and_alarm_history(store: Path) -> None:
    at = run_view("machine", node="2")
    assert at.selectbox(key="node").value == 2
    labels = {m.label: m.value for m in at.metric}
    assert labels["Alarms in range"] == "1" and labels["Velocity RMS"] == "5.00 mm/s"
    assert "Status<br>:red-background[ALARM]" in texts(at)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 4  # score, velocity, RMS, spectrum
    score_spec = charts[0].proto.spec
    assert '"rect"' in score_spec and "threshold" in score_spec  # alarm shading and threshold line
    subheaders = [s.value for s in at.subheader]
    assert subheaders[:2] == ["Anomaly score", "Velocity RMS (mm/s)"] and "Alarm history" in subheaders
    hist = at.dataframe[-1].value
    assert list(hist["node"]) == [2] and bool(hist["cleared"].isna().all())
    # another machine via the selector
    at.selectbox(key="node").set_value(1).run()
    assert {m.label: m.value for m in at.metric}["Alarms in range"] == "0"


def test_alarm_log_acknowledge_stores_note(store: Path) -> None:
    at = run_view("alarms")
    assert {m.label: m.value for m in at.metric}["Alarm episodes in range"] == "1"
    at.text_input(key="ack-note").input("inspected, outer race spall")
    at.button[0].click().run()
    assert not at.exception
    assert any("Acknowledged" in s.value for s in at.success)
    import sqlite3

    note = sqlite3.connect(store).execute("SELECT ack_note FROM alarms WHERE event = 1").fetchone()[0]
    assert note == "inspected, outer race spall"
    at = run_view("alarms")
    assert any("Nothing to acknowledge" in i.value for i in at.info)


def test_retrain_view_counts(store: Path) -> None:
    at = run_view("retrain")
    labels = {m.label: m.value for m in at.metric}
    assert labels == {"Raw captures in range": "0", "Scores in range": "120"}


def test_missing_store_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{tmp_path / 'nope.sqlite'}")
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    assert "does not exist" in at.error[0].value


def test_large_fleet_pages_its_tiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from tests.support.dashboard import fill_big_store

    path = tmp_path / "big.sqlite"
    fill_big_store(path, t0_ns=time.time_ns() - 86400 * SECOND, n_nodes=30, days=1, every_s=600)
    db = sqlite3.connect(path)
    db.execute("UPDATE nodes SET last_seen_ns = ?", (time.time_ns(),))
    db.commit()
    db.close()
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    at = run_view("fleet")
    assert len([m for m in at.metric if m.label == "Score"]) == 24
    assert any("Tiles 1-24 of 30" in c.value for c in at.caption)
    assert len(at.dataframe[0].value) == 30  # the table lists every machine
    at.number_input(key="tile-page").set_value(2).run()
    assert len([m for m in at.metric if m.label == "Score"]) == 6


def test_custom_utc_range_selects_past_windows(store: Path) -> None:
    import datetime as dt

    at = run_view("machine", node="2")
    at.selectbox(key="range").set_value("Custom (UTC)").run()
    assert not at.exception
    assert at.toggle(key="live").disabled  # a fixed window has nothing to refresh
    today = dt.datetime.now(dt.timezone.utc).date()
    day = dt.timedelta(days=1)
    at.date_input(key="range-days").set_value((today - day, today)).run()  # yesterday 00:00 - today 23:59
    assert {m.label: m.value for m in at.metric}["Alarms in range"] == "1"
    at.date_input(key="range-days").set_value((today - 3 * day, today - 2 * day)).run()
    assert {m.label: m.value for m in at.metric}["Alarms in range"] == "0"
    assert any("No scores in this time range" in i.value for i in at.info)
