"""Dashboard diagnosis of stored raw captures: a real SQLite store written by the gateway's store class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pandas", reason="the dashboard extra is not installed")
pytest.importorskip("altair", reason="the dashboard extra is not installed")

from tests.support.dashboard import run_view
from vibsentry import synth
from vibsentry.dashboard import diagnosis as dg
from vibsentry.dashboard import queries as q
from vibsentry.dashboard.gateway.diagnoser import DiagnosisSink
from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import SQLiteStore
from vibsentry.errors import ConfigError, StoreError

T0 = 1_700_000_000 * 10**9
SCALE = 16.0 / 32768  # g per LSB of a +-16 g int16 capture


def _capture(
    store: SQLiteStore, node: int, cap: int, x: np.ndarray, *, chunks: int, keep: int | None = None
) -> None:
    q16 = np.clip(np.round(x / SCALE), -32768, 32767).astype("<i2")
    parts = np.array_split(q16, chunks)
    recs = [
        Record("raw", node, T0 + cap * 10**9 + i, 100 * cap + i,
               {"capture_id": cap, "chunk_index": i, "n_chunks": chunks, "sample_rate": 12000.0,
                "sample_format": "i16", "scale": SCALE, "data": p.tobytes()}, machine="pump-2")
        for i, p in enumerate(parts[: keep if keep is not None else chunks])
    ]  # fmt: skip
    store.write(recs)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> q.Source:
    path = Path(tmp_path_factory.mktemp("diag")) / "s.sqlite"
    store = SQLiteStore(path)
    healthy = synth.machine_signal(duration_s=2.0, rpm=1797.0, seed=1)
    outer = synth.machine_signal(duration_s=2.0, rpm=1797.0, fault="outer", seed=2)
    _capture(store, 2, 1, healthy, chunks=8)
    _capture(store, 2, 2, outer, chunks=8)
    _capture(store, 2, 3, outer, chunks=8, keep=5)  # the newest capture is still arriving
    store.close()
    return q.open_source(f"sqlite:{path}")


def test_latest_complete_capture_is_diagnosed_with_the_machine_setup(source: q.Source) -> None:
    cap = dg.latest_complete_capture(source, 2, T0, T0 + 100 * 10**9)
    assert cap == 2
    setups = dg.machine_setups({"machines": {"pump-2": {"rpm": 1797, "bearing": "cwru-de"}}})
    d = dg.diagnose_capture(source, 2, cap, dg.setup_for(setups, "pump-2", 2))
    assert d.top.fault == "outer_race" and d.speed.source == "given"
    table = dg.findings_frame(dg.checked_document(d.to_dict(), "test"))
    assert list(table.columns) == ["rank", "fault", "confidence", "reported", "finding", "evidence"]
    assert table.iloc[0]["finding"].startswith("outer race defect: BPFO 10")
    assert "line=bpfo" in table.iloc[0]["evidence"] and "harmonics_found=" in table.iloc[0]["evidence"]
    fault, lines = dg.lines_frame(dg.checked_document(d.to_dict(), "test"))
    assert fault == "outer_race" and {"n", "expected_hz", "freq_hz", "error_hz", "db", "found"} <= set(lines)
    healthy = dg.diagnose_capture(source, 2, 1, dg.MachineSetup(rpm_range=(1500.0, 2000.0)))
    assert healthy.top.fault == "none" and abs(healthy.speed.rpm - 1797.0) < 9
    with pytest.raises(StoreError, match="3 chunk\\(s\\) missing"):
        dg.diagnose_capture(source, 2, 3, dg.MachineSetup(rpm=1797.0))


def test_charts_carry_cursors_and_defect_markers(source: q.Source) -> None:
    d = dg.diagnose_capture(source, 2, 2, dg.MachineSetup(rpm=1797.0))
    spec = dg.spectrum_chart(d.spectrum, d.speed.shaft_hz).to_dict()
    cursor_rows = [row for rows in spec.get("datasets", {}).values() for row in rows if "line" in row]
    assert sorted(r["line"] for r in cursor_rows) == ["1x", "2x", "3x"]
    assert cursor_rows[0]["frequency_hz"] == pytest.approx(1797.0 / 60.0)
    env = dg.envelope_chart(d.envelope, d.defect_hz).to_dict()
    rows = [row for rows in env.get("datasets", {}).values() for row in rows]
    labels = {r.get("line") for r in rows}
    assert {"BPFO", "BPFI", "2xBSF", "FTF"} <= labels
    bpfo = sorted(r["frequency_hz"] for r in rows if r.get("line") == "BPFO")
    assert bpfo[0] == pytest.approx(d.defect_hz["bpfo"]) and len(bpfo) == 5
    # Spectra are pooled for the browser, but keep their peaks.
    n_points = max(len(v) for v in env["datasets"].values())
    assert n_points <= dg.MAX_POINTS + 1


@pytest.mark.parametrize(("table", "match"), [
    ({"pump": {"rpm": 0}}, r"\[dashboard.machines.pump\]: rpm=0"),
    ({"pump": {"rpm": 1800, "rpm_range": [1, 2]}}, "not both"),
    ({"pump": {"rpm_range": [2000, 1000]}}, "low < high"),
    ({"pump": {"bearing": "6206"}}, "unknown bearing '6206'"),
    ({"pump": {"geometry": "9,40,30"}}, "must be smaller"),
    ({"pump": {"speed": 3}}, "unknown key"),
    ({"pump": 5}, "must be a table"),
])  # fmt: skip
def test_machine_setup_errors_name_the_table(table: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        dg.machine_setups({"machines": table})


def test_setup_lookup_by_name_then_node() -> None:
    setups = dg.machine_setups({"machines": {"fan": {"rpm": 1480}, "node:7": {"rpm_range": [900, 1000]}}})
    assert dg.setup_for(setups, "fan", 3).rpm == 1480.0
    assert dg.setup_for(setups, None, 7).rpm_range == (900.0, 1000.0)
    assert dg.setup_for(setups, "other", 8) == dg.MachineSetup()


def test_setups_come_from_the_dashboard_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "dash.toml"
    cfg.write_text(
        '[dashboard]\noffline_after_s = 10\n[dashboard.machines."pump-2"]\nrpm = 2960\nbearing = "6203"\n'
    )
    setups = dg.configured_setups({"VIBSENTRY_DASHBOARD_CONFIG": str(cfg)})
    assert setups["pump-2"].rpm == 2960.0 and setups["pump-2"].geometry.name == "SKF 6203-2RS JEM"
    assert dg.configured_setups({}) == {}


def test_features_chart_axis_is_band_centres_in_hz() -> None:
    from vibsentry.dsp import FeatureParams
    from vibsentry.dsp.mel import hz_to_mel

    p = FeatureParams()
    table = q.feature_table(np.zeros(len(p.feature_names), dtype=np.float32))
    mel = table[table["group"] == "logmel"]["centre_hz"].to_numpy()
    assert mel.size == p.n_mels and np.all(np.diff(mel) > 0) and 0 < mel[0] and mel[-1] < p.sample_rate / 2
    # Evenly spaced in mel, one step from each edge (docs/features.md).
    steps = np.diff(hz_to_mel(np.concatenate(([0.0], mel, [p.sample_rate / 2]))))
    assert np.allclose(steps, steps[0])
    assert table[table["group"] == "stats"]["centre_hz"].isna().all()
    lin = q.band_centres_hz(["band_rms_00", "band_rms_07", "mean"], FeatureParams(n_bands=8))
    assert lin[0] == pytest.approx(375.0) and lin[1] == pytest.approx(5625.0) and np.isnan(lin[2])


def _raw(node: int, cap: int, x: np.ndarray, ts_ns: int, *, chunks: int = 4) -> list[Record]:
    q16 = np.clip(np.round(x / SCALE), -32768, 32767).astype("<i2")
    return [
        Record("raw", node, ts_ns + i, 90_000 + 100 * cap + i,
               {"capture_id": cap, "chunk_index": i, "n_chunks": chunks, "sample_rate": 12000.0,
                "sample_format": "i16", "scale": SCALE, "data": part.tobytes()}, machine="pump-2")
        for i, part in enumerate(np.array_split(q16, chunks))
    ]  # fmt: skip


def _machine_page(node: int = 2) -> Any:
    return run_view("machine", 60, node=str(node))


def _text(at: Any) -> str:
    return "\n".join(
        [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [i.value for i in at.info]
        + [w.value for w in at.warning]
    )


def _envelope_markers(at: Any) -> dict[str, float]:
    """First harmonic of each defect marker on the page's envelope chart (Hz), from the data Streamlit sent."""
    import pyarrow as pa

    env = [c.proto for c in at.get("vega_lite_chart") if "squared envelope" in c.proto.spec]
    assert len(env) == 1
    frames = [pa.ipc.open_stream(d.data.data).read_pandas() for d in env[0].datasets]
    marks = [f for f in frames if "harmonic" in f.columns]
    assert len(marks) == 1
    first = marks[0][marks[0]["harmonic"] == 1]
    return dict(zip(first["line"], first["frequency_hz"], strict=True))


def _findings(at: Any) -> Any:
    tables = [d.value for d in at.dataframe if "evidence" in d.value.columns]
    assert len(tables) == 1
    return tables[0]


# The gateway was told 1500 rpm, the dashboard's TOML says 1797 (the speed of the recording): the two give
# different answers for the same outer-race capture, so the page must show the stored one.
GATEWAY_SETUP = {"pump-2": dg.MachineSetup(rpm=1500.0)}
DASHBOARD_TOML = '[dashboard.machines."pump-2"]\nrpm = 1797\nbearing = "6205-2rs"\n'


def test_machine_view_shows_the_stored_diagnosis_and_computes_only_what_is_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import time

    from tests.support.dashboard import SECOND, fill_store

    path = tmp_path / "s.sqlite"
    t0 = time.time_ns() - 125 * SECOND
    fill_store(path, t0_ns=t0)  # node 2 raises its alarm at t0 + 63 s
    outer = synth.machine_signal(duration_s=1.0, rpm=1797.0, fault="outer", seed=5)
    alarm = _raw(2, 1, outer, t0 + 64 * SECOND)
    short = _raw(2, 2, synth.machine_signal(duration_s=0.1, seed=1), t0 + 80 * SECOND, chunks=2)
    later = _raw(2, 3, outer, t0 + 100 * SECOND)  # arrived while the gateway's diagnosis sink was off
    store = SQLiteStore(path)
    store.write([*alarm, *short, *later])
    store.close()
    sink = DiagnosisSink(path, GATEWAY_SETUP)
    sink.write([*alarm, *short])
    sink.close()
    cfg = tmp_path / "dash.toml"
    cfg.write_text(DASHBOARD_TOML)
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_CONFIG", str(cfg))
    src = q.open_source(f"sqlite:{path}")
    stored = src.diagnosis(2, 1, t0 + 64 * SECOND)
    assert stored is not None
    doc = json.loads(stored["diagnosis"])
    recomputed = dg.diagnose_capture(src, 2, 1, dg.configured_setups()["pump-2"])
    assert doc["findings"][0]["fault"] == "none" and recomputed.top.fault == "outer_race"  # they disagree

    at = _machine_page()
    picker = at.selectbox(key="diag-capture-2")
    assert [o.split(" · ")[0] for o in picker.options] == ["capture 3", "capture 2", "capture 1"]
    assert picker.options[0].endswith("· not diagnosed by the gateway")
    assert picker.options[1].endswith("· the gateway could not diagnose it")
    assert picker.options[2].endswith(f"· none {doc['findings'][0]['confidence']:.2f}")
    # The newest capture has no stored diagnosis: computed here, with the dashboard's setup, and said so.
    text = _text(at)
    assert f"Raw capture 3: {dg.COMPUTED_HERE}" in text
    assert f"{dg.COMPUTED_HERE}; shaft 1797 rpm (given)" in text and "outer race defect: BPFO 10" in text
    assert len(at.get("vega_lite_chart")) == 6  # score, velocity, RMS, FEATURES, spectrum, envelope

    at = picker.select(1).run()
    assert not at.exception, [e.value for e in at.exception]
    text = _text(at)
    assert dg.COMPUTED_HERE not in text and "outer race defect" not in text, text
    assert "diagnosed by the gateway; shaft 1500 rpm (given), bearing `SKF 6205-2RS JEM`" in text
    assert "`" + doc["findings"][0]["summary"] + "`" in text
    assert "setup for the machine (1797 rpm) differs from the one the gateway used" in text
    table = _findings(at)
    assert table["fault"].iloc[0] == "none" and table["finding"].iloc[0] == doc["findings"][0]["summary"]
    assert list(table["fault"].iloc[1:]) == [c["fault"] for c in doc["candidates"]]
    assert list(table["confidence"].iloc[1:]) == [round(c["confidence"], 2) for c in doc["candidates"]]
    # Markers at the stored defect frequencies (1500 rpm), not at the dashboard's 1797 rpm.
    marks = _envelope_markers(at)
    f = doc["bearing"]["frequencies_hz"]
    assert marks["BPFO"] == pytest.approx(f["bpfo"]) and marks["2xBSF"] == pytest.approx(2 * f["bsf"])
    assert f["bpfo"] == pytest.approx(3.5848 * 25.0, rel=1e-3)

    at = picker.select(2).run()
    warning = "\n".join(w.value for w in at.warning)
    assert "The gateway could not diagnose raw capture 2: `recording too short" in warning
    assert dg.COMPUTED_HERE not in _text(at)
    # The alarm history shows the alarm capture's stored diagnosis too.
    history = at.dataframe[-1].value
    assert history["diagnosis"].iloc[0].startswith("no fault pattern found")
    log = run_view("alarms", 60)
    table = log.dataframe[0].value
    assert list(table["node"]) == [2] and table["diagnosis"].iloc[0].startswith("no fault pattern found")


def test_stored_text_stays_plain_and_a_damaged_document_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import sqlite3
    import time

    from tests.support.dashboard import SECOND, fill_store

    path = tmp_path / "s.sqlite"
    t0 = time.time_ns() - 125 * SECOND
    fill_store(path, t0_ns=t0)
    outer = synth.machine_signal(duration_s=1.0, rpm=1797.0, fault="outer", seed=5)
    caps = [*_raw(2, 1, outer, t0 + 64 * SECOND), *_raw(2, 2, outer, t0 + 90 * SECOND)]
    store = SQLiteStore(path)
    store.write(caps)
    store.close()
    sink = DiagnosisSink(path, GATEWAY_SETUP)
    sink.write(caps)
    sink.close()
    # A store edited by someone else: markup in the texts of capture 1, a truncated document for capture 2.
    hostile = "![t](http://evil.example/t.png) [Re-login](http://evil.example) :red[x]"
    with sqlite3.connect(path) as db:
        doc = json.loads(db.execute("SELECT diagnosis FROM diagnoses WHERE capture_id = 1").fetchone()[0])
        doc["findings"][0]["summary"] = hostile
        doc["bearing"]["name"] = hostile
        db.execute("UPDATE diagnoses SET diagnosis = ? WHERE capture_id = 1", (json.dumps(doc),))
        db.execute("UPDATE diagnoses SET diagnosis = '{\"findings\": [' WHERE capture_id = 2")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("[dashboard]\n")

    at = _machine_page()
    warning = "\n".join(w.value for w in at.warning)
    assert (
        "stored diagnosis of raw capture 2 (node 2): not a readable diagnosis document (JSONDecodeError"
        in warning
    )
    assert len(at.get("vega_lite_chart")) == 4  # nothing drawn for it, nothing computed instead
    at = at.selectbox(key="diag-capture-2").select(1).run()
    assert not at.exception, [e.value for e in at.exception]
    text = _text(at)
    assert f"**Findings:** `{hostile}`" in text and f"bearing `{hostile}`" in text
    assert "](http" not in text.replace(f"`{hostile}`", "")


def test_machine_view_reads_the_stored_diagnosis_from_influxdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import time

    from tests.support.dashboard import SECOND, make_records
    from tests.support.influxd import start_influxd
    from vibsentry.dashboard.store.influx import InfluxV1Store, open_influx

    srv = start_influxd(tmp_path / "influxd")
    try:
        t0 = time.time_ns() - 125 * SECOND
        outer = synth.machine_signal(duration_s=1.0, rpm=1797.0, fault="outer", seed=5)
        alarm, later = _raw(2, 1, outer, t0 + 64 * SECOND), _raw(2, 3, outer, t0 + 100 * SECOND)
        ix = InfluxV1Store(srv.url, db="plant")
        ix.write([*make_records(t0_ns=t0), *alarm, *later])
        ix.close()
        sink = DiagnosisSink(None, GATEWAY_SETUP, influx=open_influx(srv.url, db="plant"))
        sink.write(alarm)  # capture 3 came while the sink was off
        sink.close()
        cfg = tmp_path / "dash.toml"
        cfg.write_text(DASHBOARD_TOML)
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", "influx")
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_INFLUX_URL", srv.url)
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_INFLUX_DB", "plant")
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_CONFIG", str(cfg))
        stored = q.open_source("influx", url=srv.url, database="plant").diagnosis(2, 1, t0 + 64 * SECOND)
        assert stored is not None and stored["rpm"] == 1500.0 and stored["machine"] == "pump-2"
        doc = json.loads(stored["diagnosis"])

        at = _machine_page()
        picker = at.selectbox(key="diag-capture-2")
        assert picker.options[0].startswith("capture 3") and picker.options[0].endswith(
            "not diagnosed by the gateway"
        )
        assert f"Raw capture 3: {dg.COMPUTED_HERE}" in _text(at) and "outer race defect: BPFO 10" in _text(at)
        at = picker.select(1).run()
        assert not at.exception, [e.value for e in at.exception]
        text = _text(at)
        assert "diagnosed by the gateway; shaft 1500 rpm (given)" in text and dg.COMPUTED_HERE not in text
        assert "`" + doc["findings"][0]["summary"] + "`" in text and "outer race defect" not in text
        table = _findings(at)
        assert list(table["fault"].iloc[1:]) == [c["fault"] for c in doc["candidates"]]
        assert _envelope_markers(at)["BPFO"] == pytest.approx(doc["bearing"]["frequencies_hz"]["bpfo"])
    finally:
        srv.stop()
