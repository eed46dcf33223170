"""Dashboard diagnosis of stored raw captures: a real SQLite store written by the gateway's store class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pandas", reason="the dashboard extra is not installed")
pytest.importorskip("altair", reason="the dashboard extra is not installed")

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
    table = dg.findings_frame(d)
    assert list(table.columns) == ["rank", "fault", "confidence", "reported", "finding"]
    assert table.iloc[0]["finding"].startswith("outer race defect: BPFO 10")
    healthy = dg.diagnose_capture(source, 2, 1, dg.MachineSetup(rpm_range=(1500.0, 2000.0)))
    assert healthy.top.fault == "none" and abs(healthy.speed.rpm - 1797.0) < 9
    with pytest.raises(StoreError, match="3 chunk\\(s\\) missing"):
        dg.diagnose_capture(source, 2, 3, dg.MachineSetup(rpm=1797.0))


def test_charts_carry_cursors_and_defect_markers(source: q.Source) -> None:
    d = dg.diagnose_capture(source, 2, 2, dg.MachineSetup(rpm=1797.0))
    spec = dg.spectrum_chart(d).to_dict()
    cursor_rows = [row for rows in spec.get("datasets", {}).values() for row in rows if "line" in row]
    assert sorted(r["line"] for r in cursor_rows) == ["1x", "2x", "3x"]
    assert cursor_rows[0]["frequency_hz"] == pytest.approx(1797.0 / 60.0)
    env = dg.envelope_chart(d).to_dict()
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


def test_machine_view_shows_the_diagnosis_of_the_alarm_capture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from streamlit.testing.v1 import AppTest

    from tests.support.dashboard import SECOND, fill_store

    path = tmp_path / "s.sqlite"
    t0 = time.time_ns() - 125 * SECOND
    fill_store(path, t0_ns=t0)
    store = SQLiteStore(path)
    x = synth.machine_signal(duration_s=1.0, rpm=1797.0, fault="outer", seed=5)
    q16 = np.clip(np.round(x / SCALE), -32768, 32767).astype("<i2")
    raw = [
        Record("raw", 2, t0 + 64 * SECOND + i, 90_000 + i,
               {"capture_id": 1, "chunk_index": i, "n_chunks": 4, "sample_rate": 12000.0, "sample_format": "i16",
                "scale": SCALE, "data": part.tobytes()}, machine="pump-2")
        for i, part in enumerate(np.array_split(q16, 4))
    ]  # fmt: skip
    store.write(raw)
    store.close()
    cfg = tmp_path / "dash.toml"
    cfg.write_text('[dashboard.machines."pump-2"]\nrpm = 1797\nbearing = "6205-2rs"\n')
    # The gateway's diagnosis sink stores the capture's diagnosis, which the alarm log then shows.
    sink = DiagnosisSink(path, dg.configured_setups({"VIBSENTRY_DASHBOARD_CONFIG": str(cfg)}))
    sink.write(raw)
    sink.close()
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_CONFIG", str(cfg))
    app = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
    at = AppTest.from_file(app, default_timeout=60)
    at.query_params["view"] = "machine"
    at.query_params["node"] = "2"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])
    assert "raw capture 1: 1.00 s at 12000 Hz, shaft 1797 rpm (given)" in text
    assert "**outer race defect: BPFO 10" in text
    assert len(at.get("vega_lite_chart")) == 6  # score, velocity, RMS, FEATURES, spectrum, envelope
    history = at.dataframe[-1].value
    assert history["diagnosis"].iloc[0].startswith("outer race defect: BPFO 10")
    log = AppTest.from_file(app, default_timeout=60)
    log.query_params["view"] = "alarms"
    log.run()
    assert not log.exception, [e.value for e in log.exception]
    table = log.dataframe[0].value
    assert list(table["node"]) == [2] and table["diagnosis"].iloc[0].startswith("outer race defect")
    diags = dg.stored_diagnoses(q.open_source(f"sqlite:{path}"), t0, t0 + 200 * SECOND, node=2)
    assert list(diags["capture_id"]) == [1] and diags["fault"].iloc[0] == "outer_race"
