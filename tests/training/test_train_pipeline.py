"""``vibsentry train`` / ``evaluate`` end to end on a small seeded dataset: bundle, INT8, retrain, bad input.

One module-scoped training run is shared by most tests (TensorFlow import and training cost seconds).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from tests.support import training as T
from vibsentry.cli import main
from vibsentry.dsp.params import FeatureParams
from vibsentry.runtime.bundle import load_bundle

pytestmark = [pytest.mark.needs_tf, pytest.mark.slow]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toy")
    m = T.write_toy_dataset(root / "data")
    cfg = T.write_config(root / "train.toml", baselines=True)
    out = root / "bundle"
    assert main(["train", "--manifest", str(m), "--out", str(out), "--config", str(cfg), "--quiet"]) == 0
    return {"root": root, "manifest": m, "config": cfg, "bundle": out}


def _train(toy: dict[str, Path], out: Path, config: Path, *extra: str) -> None:
    """``vibsentry train`` on the toy manifest with ``config`` into ``out`` (quiet); asserts exit code 0."""
    assert (
        main(["train", "-m", str(toy["manifest"]), "-o", str(out), *extra, "--config", str(config), "-q"])
        == 0
    )


def test_bundle_has_every_artifact(toy: dict[str, Path]) -> None:
    out = toy["bundle"]
    names = {p.name for p in out.iterdir()}
    assert {"model.tflite", "model_float.tflite", "bundle.json", "report.md", "manifest.csv"} <= names
    assert {"roc_pr.png", "score_histogram.png", "training_curves.png", "per_group.png"} <= names
    assert not list(out.parent.glob(".bundle.tmp-*"))
    meta = json.loads((out / "bundle.json").read_text())
    assert meta["format_version"] == 1 and meta["kind"] == "anomaly"
    assert meta["feature_hash"] == FeatureParams().feature_hash
    assert meta["model"]["input"]["dtype"] == "int8" and meta["model"]["output"]["dtype"] == "int8"
    assert meta["model"]["architecture"] == "dense autoencoder 40-32-16-32-40"
    assert set(meta["alarm"]) == {"threshold", "clear_threshold", "k", "n"}
    assert len(meta["normalisation"]["mean"]) == 40
    assert len(meta["training_data"]["fingerprint"]) == 64
    assert set(meta["files"]) == names - {"bundle.json"}
    report = (out / "report.md").read_text()
    assert (
        "| auc |" in report and "3 of the last 5 frames" in report and "![roc_pr.png](roc_pr.png)" in report
    )
    assert "## What changed, per fault class" in report and "- **outer_race**: " in report
    assert set(meta["metrics"]["baselines"]) >= {"isolation_forest", "mahalanobis"}


def test_int8_matches_float_and_detects_faults(toy: dict[str, Path]) -> None:
    m = json.loads((toy["bundle"] / "bundle.json").read_text())["metrics"]
    assert m["float"]["auc"] > 0.95
    assert abs(m["int8"]["auc"] - m["float"]["auc"]) <= 0.01
    assert m["int8"]["false_alarms"] == 0  # the calibrated rule raises nothing on unseen normal data


def test_evaluate_json(toy: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    j = toy["root"] / "metrics.json"
    assert (
        main(["evaluate", str(toy["bundle"]), "--manifest", str(toy["manifest"]), "--json", str(j), "-q"])
        == 0
    )
    got = json.loads(j.read_text())
    assert got["n_windows"] > 0 and got["threshold"] > 0
    for which in ("float", "int8"):
        assert 0.0 <= got[which]["auc"] <= 1.0
    assert 0.0 <= got["false_alarm_rate"] <= 1.0
    saved = json.loads((toy["bundle"] / "bundle.json").read_text())["metrics"]
    assert got["int8"]["auc"] == pytest.approx(saved["int8"]["auc"])  # same split, same numbers
    assert "int8 : auc" in capsys.readouterr().out


def test_same_seed_same_model(toy: dict[str, Path]) -> None:
    out2 = toy["root"] / "again"
    _train(toy, out2, toy["config"])
    a, b = load_bundle(toy["bundle"]), load_bundle(out2)
    assert (toy["bundle"] / "model.tflite").read_bytes() == (out2 / "model.tflite").read_bytes()
    assert a.meta["alarm"] == b.meta["alarm"]
    assert a.meta["training_data"]["fingerprint"] == b.meta["training_data"]["fingerprint"]


def test_classifier(toy: dict[str, Path]) -> None:
    out = toy["root"] / "cls"
    _train(toy, out, toy["config"], "--kind", "classifier")
    b = load_bundle(out)
    assert b.classes == ["inner_race", "normal", "outer_race"]
    m = b.meta["metrics"]
    assert m["int8"]["accuracy"] > 0.9
    assert abs(m["int8"]["accuracy"] - m["float"]["accuracy"]) <= 0.01
    assert np.asarray(m["int8"]["confusion_matrix"]).shape == (3, 3)
    assert (out / "confusion_matrix.png").is_file()


def test_cnn1d_classifier(toy: dict[str, Path]) -> None:
    cfg = T.write_config(toy["root"] / "cnn.toml", classifier="cnn1d", classifier_hidden=[8, 16])
    out = toy["root"] / "cnn"
    _train(toy, out, cfg, "--kind", "classifier")
    b = load_bundle(out)
    assert b.meta["model"]["architecture"] == "1-D CNN classifier 40-8-16-3"
    m = b.meta["metrics"]
    assert m["int8"]["accuracy"] > 0.9 and abs(m["int8"]["accuracy"] - m["float"]["accuracy"]) <= 0.01
    feats = b.normalise(np.zeros((2, 40), np.float32))
    assert b.predict_proba(feats).shape == (2, 3)


def test_retrain_compares_and_refuses(toy: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    new = toy["root"] / "data" / "new.csv"
    wavfile.write(new.parent / "normal_new.wav", T.FS, T.toy_signal(6.0, seed=77))
    new.write_text("path,label,group\nnormal_new.wav,normal,new_asset\n")
    strict = T.write_config(toy["root"] / "strict.toml", retrain_margin=-0.5)  # demand an impossible gain
    out = toy["root"] / "v2"
    args = [
        "train",
        "--from",
        str(toy["bundle"]),
        "-m",
        str(new),
        "-o",
        str(out),
        "--config",
        str(strict),
        "-q",
    ]
    assert main(args) == 1
    assert "worse than" in capsys.readouterr().err
    assert T.no_leftovers(out.parent, out.name)
    assert main([*args, "--force", "--json"]) == 0
    cap = capsys.readouterr()
    assert cap.out, cap.err
    summary = json.loads(cap.out)
    comp = summary["comparison"]
    assert set(comp["old"]) == {"auc", "false_alarm_rate"} and comp["written"] is True
    meta = load_bundle(out).meta
    assert (
        meta["retrained_from"]["fingerprint"]
        == load_bundle(toy["bundle"]).meta["training_data"]["fingerprint"]
    )
    assert meta["training_data"]["n_rows"] == 10  # 9 original recordings + 1 new
    report = (out / "report.md").read_text()
    assert "## Compared with the deployed bundle" in report and "Verdict: worse on" in report


def _fail(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line, no traceback
    return err


def test_bad_input_leaves_no_bundle(
    toy: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = toy["manifest"].parent
    out = tmp_path / "b"

    def manifest(body: str) -> str:
        m = data / "bad.csv"
        m.write_text("path,label,group,channel,split\n" + body)
        return str(m)

    base = ["train", "-o", str(out), "-q", "--config", str(toy["config"])]
    err = _fail([*base, "-m", manifest("outer_race_0.wav,outer_race,a,,\n")], capsys)
    assert "no 'normal' windows" in err
    err = _fail([*base, "-m", manifest("normal_0.wav,normal,a,,\nnope.wav,normal,b,,\n")], capsys)
    assert "bad.csv:3: recording 'nope.wav' not found" in err
    err = _fail([*base, "-m", manifest("normal_0.wav,normal,a,7,\n")], capsys)
    assert "bad.csv:2: unknown channel '7'" in err
    err = _fail([*base, "-m", manifest("normal_0.wav,normal,a,,\nnormal_0.wav,normal,b,,\n")], capsys)
    assert "duplicate path 'normal_0.wav'" in err
    bad = data / "nan.wav"
    x = T.toy_signal(2.0)
    x[100] = np.nan
    wavfile.write(bad, T.FS, x)
    err = _fail([*base, "-m", manifest("normal_0.wav,normal,a,,\nnan.wav,normal,b,,\n")], capsys)
    assert "'nan.wav' has NaN/inf at sample 100" in err
    only_test = manifest("normal_0.wav,normal,a,,train\nouter_race_0.wav,outer_race,b,,test\n")
    err = _fail([*base, "--kind", "classifier", "-m", only_test], capsys)
    assert "bad.csv:3: label 'outer_race' has no training windows" in err
    slow = tmp_path / "slow.toml"
    slow.write_text("[features]\nsample_rate = 8000.0\n[train]\nresample = false\n")
    err = _fail(
        ["train", "-o", str(out), "-q", "--config", str(slow), "-m", manifest("normal_0.wav,normal,a,,\n")],
        capsys,
    )
    assert "sampled at 12000 Hz but the features need 8000 Hz" in err
    assert T.no_leftovers(tmp_path, "b")
    # An existing bundle is never overwritten by accident.
    shutil.copytree(toy["bundle"], out)
    err = _fail([*base, "-m", str(toy["manifest"])], capsys)
    assert "already exists" in err
