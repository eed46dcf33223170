"""The shipped ``sample_data/`` trains, evaluates, quantizes and retrains through the CLI (what the demo does)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from vibsentry.cli import main
from vibsentry.runtime.bundle import load_bundle

pytestmark = [pytest.mark.needs_tf, pytest.mark.slow]


@pytest.fixture(scope="module")
def sample(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    manifest = repo_root / "sample_data" / "manifest.csv"
    if not manifest.is_file():
        pytest.skip("sample_data/manifest.csv not present")
    root = tmp_path_factory.mktemp("sample")
    out = root / "bundle"
    assert main(["train", "--manifest", str(manifest), "--out", str(out), "-q"]) == 0
    return {"root": root, "manifest": manifest, "bundle": out}


def test_anomaly_bundle_on_sample_data(sample: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    b = load_bundle(sample["bundle"])
    m = b.meta["metrics"]
    assert m["int8"]["auc"] >= 0.95, m["int8"]
    assert abs(m["int8"]["auc"] - m["float"]["auc"]) <= 0.01  # INT8 costs at most 0.01 AUC
    assert set(m["int8"]["per_class_auc"]) == {"ball", "inner_race", "outer_race"}
    assert b.alarm is not None and b.alarm.k == 3 and b.alarm.n == 5
    j = sample["root"] / "metrics.json"
    assert (
        main(["evaluate", str(sample["bundle"]), "-m", str(sample["manifest"]), "--json", str(j), "-q"]) == 0
    )
    got = json.loads(j.read_text())
    assert got["n_windows"] == m["n_windows"] and got["int8"]["auc"] == pytest.approx(m["int8"]["auc"])


def test_default_model_is_chosen_among_int8_candidates_on_held_out_faults(sample: dict[str, Path]) -> None:
    """[train] model = "auto": every candidate is fitted, scored in INT8 on validation faults the test split
    never sees (synthetic here: sample_data puts every fault recording in test), and the best deployed."""
    from vibsentry.codegen.export import export_c
    from vibsentry.codegen.host import validate_c
    from vibsentry.training.select import TIE

    b = load_bundle(sample["bundle"])
    sel = b.meta["model_selection"]
    assert "synthetic" in sel["faults"]
    cands = {c["name"]: c for c in sel["candidates"]}
    assert set(cands) == {"autoencoder", "mahalanobis", "pca"}
    top = max(c["val_auc_int8"] for c in cands.values())
    chosen = cands[sel["chosen"]]
    assert chosen["val_auc_int8"] >= top - TIE
    assert all(
        chosen["parameters"] <= c["parameters"] for c in cands.values() if c["val_auc_int8"] >= top - TIE
    )
    assert b.meta["model"]["type"] == sel["chosen"]
    for c in cands.values():  # INT8 costs each candidate at most 0.01 validation AUC
        assert abs(c["val_auc_int8"] - c["val_auc_float"]) <= 0.01, c
    report = (sample["bundle"] / "report.md").read_text()
    assert "## Model selection" in report and f"{sel['chosen']} (deployed)" in report
    # Whatever won runs on the node: the generated C is byte-identical with TFLite's reference kernels.
    gen = sample["root"] / "gen"
    export_c(sample["bundle"], gen)
    res = validate_c(gen, (sample["bundle"] / "model.tflite").read_bytes(), n=300)
    assert res["identical"] == res["inputs"] == 300


def test_retrain_with_a_new_recording(sample: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from vibsentry.synth import machine_signal

    new_dir = sample["root"] / "new"
    new_dir.mkdir()
    x = machine_signal(duration_s=6.0, rpm=1797.0, load=0.8, seed=4242).astype(np.float32)
    wavfile.write(new_dir / "m1_normal_new.wav", 12000, x)
    (new_dir / "new.csv").write_text("path,label,group,rpm,load\nm1_normal_new.wav,normal,m1_new,1797,0.8\n")
    out = sample["root"] / "v2"
    rc = main(
        ["train", "--from", str(sample["bundle"]), "-m", str(new_dir / "new.csv"), "-o", str(out), "-q"]
    )
    text = capsys.readouterr()
    if rc == 1:  # refused: must say why, and leave nothing behind
        assert "worse than" in text.err and not out.exists()
        return
    assert rc == 0 and "old vs new (same test split)" in text.out
    comp = load_bundle(out).meta["retrained_from"]["comparison"]
    assert comp["written"] is True and not comp["worse"]


def test_classifier_on_sample_data(sample: dict[str, Path]) -> None:
    out = sample["root"] / "cls"
    assert main(["train", "--kind", "classifier", "-m", str(sample["manifest"]), "-o", str(out), "-q"]) == 0
    b = load_bundle(out)
    assert b.classes == ["ball", "inner_race", "normal", "outer_race"]
    m = b.meta["metrics"]
    # One training recording per fault at one severity: the half-severity test recordings are partly confused
    # between fault types (measured about 0.62 accuracy), but no normal window is called a fault.
    assert m["int8"]["accuracy"] > 0.5, m["int8"]
    cm = np.asarray(m["int8"]["confusion_matrix"])
    normal = b.classes.index("normal")
    assert cm[normal, normal] >= 0.95 * cm[normal].sum()
    assert abs(m["int8"]["accuracy"] - m["float"]["accuracy"]) <= 0.01
