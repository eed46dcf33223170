"""Finding K8: bundles whose hashes verify but whose content is wrong are refused in one line on load.

A real trained bundle (the demo's, cached under build/) is altered and re-signed (its sha256 sums and
bundle_sha256 recomputed, as an attacker or a buggy tool would), then given to the real CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli_hardening import ROOT
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


def bad_bundles(trained: Path, root: Path) -> dict[str, Path]:
    """Four copies of the trained bundle, each wrong in one way its hashes do not catch."""
    from tests.support.tflite_models import convert

    out = {}
    for name in ("shape", "nan", "fifo", "score"):
        (root / name).mkdir()
        out[name] = copy_of(trained, root / name)
    (out["shape"] / "model.tflite").write_bytes(convert("mlp_softmax"))  # 40 in, 10 out: not an autoencoder
    resign(out["shape"])
    meta = json.loads((out["nan"] / "bundle.json").read_text())
    meta["alarm"]["threshold"] = float("nan")
    (out["nan"] / "bundle.json").write_text(json.dumps(meta))  # Python writes the NaN literal
    (out["fifo"] / "model.tflite").unlink()
    os.mkfifo(out["fifo"] / "model.tflite")
    resign(out["score"], lambda m: m["score"].update(definition="mahalanobis_v9"))
    return out


def test_wrong_bundles_are_one_line_in_every_command(trained: Path, tmp_path: Path) -> None:
    """The real entry point, all rows in one child process (tests/support/cli_batch.py)."""
    b = bad_bundles(trained, tmp_path)
    one = tmp_path / "one.csv"  # one short recording: the model is refused before any metric
    one.write_text(
        f"path,label,group,split\n{ROOT / 'sample_data' / 'synthetic' / 'm1_normal_c.wav'},normal,g,test\n"
    )
    rows = [
        (["evaluate", str(b["shape"]), "--manifest", str(one), "-q"], "gives 10 outputs"),
        (
            ["export", str(b["shape"]), "--out", "c", "--validate", "5"],
            "anomaly bundle reproduces its features",
        ),
        (["export", str(b["nan"]), "--out", "c"], "NaN is not allowed"),
        (["ingest", "--bundle", str(b["nan"]), "--port", "x"], "NaN is not allowed"),
        (["export", str(b["fifo"]), "--out", "c"], "model.tflite: not a regular file"),
        (["evaluate", str(b["fifo"]), "--manifest", str(one), "-q"], "model.tflite: not a regular file"),
        (["export", str(b["score"]), "--out", "c"], "score definition 'mahalanobis_v9' is unknown"),
    ]
    work = tmp_path / "work"
    work.mkdir()
    cases = [{"argv": argv, "cwd": str(work)} for argv, _ in rows]
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.cli_batch"],
        input=json.dumps(cases), capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    for (argv, needle), res in zip(rows, json.loads(proc.stdout), strict=True):
        lines = res["stderr"].strip().splitlines()
        assert res["rc"] == 1 and len(lines) == 1 and "Traceback" not in res["stderr"], (argv, res)
        assert lines[0].startswith(f"vibsentry {argv[0]}: error: ") and needle in lines[0], (argv, lines)
    assert list(work.iterdir()) == []  # no partial export
