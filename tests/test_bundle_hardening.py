"""Finding K8: bundles whose hashes verify but whose content is wrong are refused in one line on load.

A real trained bundle (the demo's, cached under build/) is altered and re-signed (its sha256 sums and
bundle_sha256 recomputed, as an attacker or a buggy tool would), then given to the real CLI.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli_hardening import ROOT, one_line_error, vibsentry
from vibsentry.runtime.bundle import metadata_sha256, sha256_bytes

pytestmark = pytest.mark.needs_tf


@pytest.fixture(scope="module")
def trained() -> Path:
    pytest.importorskip("tensorflow", reason="training the demo bundle needs the 'train' extra")
    from tests.support.dashboard import demo_bundle_dir

    return demo_bundle_dir()


def resign(bundle: Path, edit: Any = None) -> None:
    """Recompute every listed file's sha256 and bundle_sha256 after ``edit(meta)``: the hashes verify."""
    meta = json.loads((bundle / "bundle.json").read_text())
    if edit is not None:
        edit(meta)
    meta["files"] = {name: sha256_bytes((bundle / name).read_bytes()) for name in meta["files"]}
    meta["bundle_sha256"] = metadata_sha256(meta)
    (bundle / "bundle.json").write_text(json.dumps(meta, indent=2))


def copy_of(trained: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "b"
    shutil.copytree(trained, dst)
    for gen in dst.glob("vs_*"):  # exported C, if any, is not part of these checks
        gen.unlink()
    return dst


def test_wrong_shape_model_is_refused_by_evaluate_and_export_validate(trained: Path, tmp_path: Path) -> None:
    from tests.support.tflite_models import convert

    b = copy_of(trained, tmp_path)
    (b / "model.tflite").write_bytes(convert("mlp_softmax"))  # 40 in, 10 out: not an autoencoder
    resign(b)
    one = tmp_path / "one.csv"  # one short recording: the model is refused before any metric
    one.write_text(
        f"path,label,group,split\n{ROOT / 'sample_data' / 'synthetic' / 'm1_normal_c.wav'},normal,g,test\n"
    )
    res = vibsentry("evaluate", str(b), "--manifest", str(one), "-q")
    one_line_error(res, 1, "model.tflite", "gives 10 outputs", "anomaly bundle reproduces its features")
    res = vibsentry("export", str(b), "--out", str(tmp_path / "c"), "--validate", "5")
    one_line_error(res, 1, "gives 10 outputs")
    assert not (tmp_path / "c").exists()


def test_nan_threshold_is_one_line(trained: Path, tmp_path: Path) -> None:
    b = copy_of(trained, tmp_path)
    meta = json.loads((b / "bundle.json").read_text())
    meta["alarm"]["threshold"] = float("nan")
    (b / "bundle.json").write_text(json.dumps(meta))  # Python writes the NaN literal
    for args in (
        ("export", str(b), "--out", str(tmp_path / "c")),
        ("ingest", "--bundle", str(b), "--port", "x"),
    ):
        one_line_error(vibsentry(*args), 1, "bundle.json", "NaN is not allowed")


def test_fifo_model_is_refused_without_hanging(trained: Path, tmp_path: Path) -> None:
    b = copy_of(trained, tmp_path)
    (b / "model.tflite").unlink()
    os.mkfifo(b / "model.tflite")
    res = vibsentry("export", str(b), "--out", str(tmp_path / "c"), timeout=60)
    one_line_error(res, 1, "model.tflite: not a regular file")


def test_unknown_score_definition_is_refused(trained: Path, tmp_path: Path) -> None:
    b = copy_of(trained, tmp_path)
    resign(b, lambda m: m["score"].update(definition="mahalanobis_v9"))
    res = vibsentry("export", str(b), "--out", str(tmp_path / "c"))
    one_line_error(res, 1, "score definition 'mahalanobis_v9' is unknown")
