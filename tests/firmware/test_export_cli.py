"""``vibsentry export``: bundles and bare .tflite files to C; refusals; atomic output.

The bundle tests train real (tiny) bundles with the training pipeline, export them, compile the generated C with
the runtime and check the C scores equal TFLite's reference interpreter on the bundle's own features.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.support import tflite_models as tm
from vibsentry.cli import main

pytestmark = pytest.mark.needs_tf
pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def autoencoder_tflite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("ae") / "autoencoder.tflite"
    p.write_bytes(tm.convert("autoencoder"))
    return p


def test_export_bare_tflite_writes_bannered_c_and_reports_memory(
    autoencoder_tflite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gen"
    assert main(["export", str(autoencoder_tflite), "--target", "c", "--out", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == ["vs_model_data.c", "vs_model_data.h"]
    sha = hashlib.sha256(autoencoder_tflite.read_bytes()).hexdigest()
    for f in out.iterdir():
        head = f.read_text().splitlines()[:4]
        assert "GENERATED — do not edit" in head[1]
        assert f"autoencoder.tflite (sha256 {sha})" in head[2]
    h = (out / "vs_model_data.h").read_text()
    arena = int(re.search(r"#define VS_MODEL_ARENA_BYTES (\d+)u", h).group(1))  # type: ignore[union-attr]
    assert rep["arena_bytes"] == arena
    raw = re.search(r"#define VS_MODEL_SOURCE_SHA256_BYTES \{([^}]*)\}", h).group(1)  # type: ignore[union-attr]
    assert bytes(int(v, 16) for v in raw.split(",")).hex() == sha
    # The 40-32-16-32-40 autoencoder: 40 + 32 bytes live at once at most (liveness planning), 4-byte aligned.
    assert arena == 72
    # Weights 40*32 + 32*16 + 16*32 + 32*40 bytes, int32 biases, int32 multipliers and int8 shifts per channel.
    n_ch = 32 + 16 + 32 + 40
    assert rep["const_bytes"] == 3584 + 4 * n_ch + 4 * n_ch + n_ch
    assert rep["macs"] == 3584
    assert rep["ops"] == ["FULLY_CONNECTED"] * 4
    # Per layer, as the field's tools report it: MACs and flash add up to the totals.
    assert [la["macs"] for la in rep["layers"]] == [1280, 512, 512, 1280]
    assert sum(la["const_bytes"] for la in rep["layers"]) == rep["const_bytes"]
    assert [la["output_bytes"] for la in rep["layers"]] == [32, 16, 32, 40]


def test_text_report_lists_layers(autoencoder_tflite: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["export", str(autoencoder_tflite), "--out", str(tmp_path / "gen")]) == 0
    out = capsys.readouterr().out
    assert "RAM: arena 72 B" in out and "3584 MACs" in out
    assert sum(1 for ln in out.splitlines() if ln.split()[:2][-1:] == ["FULLY_CONNECTED"]) == 4


def test_existing_output_is_refused_unless_force(autoencoder_tflite: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "gen"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["export", str(autoencoder_tflite), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and str(out) in err
    assert (out / "keep.txt").exists()
    assert main(["export", str(autoencoder_tflite), "--out", str(out), "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["vs_model_data.c", "vs_model_data.h"]


def test_unsupported_operator_is_named_and_nothing_is_written(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    src = tmp_path / "leaky.tflite"
    src.write_bytes(tm.convert("leaky_relu_unsupported"))
    out = tmp_path / "gen"
    assert main(["export", str(src), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "operator LEAKY_RELU" in err and "not supported" in err and str(src) in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["leaky.tflite"]  # no temp directory left behind


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "not a TFLite flatbuffer"), (b"\x10\x00\x00\x00TFL3" + b"\xff" * 40, "corrupt TFLite flatbuffer")],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, content: bytes, why: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    src = tmp_path / "bad.tflite"
    src.write_bytes(content)
    assert main(["export", str(src), "--out", str(tmp_path / "gen")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(src) in err and why in err
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "g2")]) == 1
    assert "no such bundle directory or .tflite file" in capsys.readouterr().err


def test_bad_name_is_a_usage_error(autoencoder_tflite: Path, tmp_path: Path) -> None:
    assert main(["export", str(autoencoder_tflite), "--out", str(tmp_path / "g"), "--name", "1bad"]) == 2


@pytest.fixture(scope="module", params=["anomaly", "classifier"])
def trained_bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support import training as T
    from vibsentry.training.api import train_bundle

    root = tmp_path_factory.mktemp(f"bundle_{request.param}")
    m = T.write_toy_dataset(root / "data", n_normal=3, normal_seconds=5, fault_seconds=3, n_fault=2)
    return train_bundle(m, root / "b", kind=request.param, config=T.write_config(root / "t.toml", epochs=10))


def test_trained_bundle_exports_and_c_matches_reference(trained_bundle: Path, tmp_path: Path) -> None:
    """A bundle from the real training pipeline: feature config + normalisation emitted; C == TFLite."""
    from tests.support import training as T
    from vibsentry.dsp import extract_features
    from vibsentry.runtime.bundle import load_bundle

    out = tmp_path / "gen"
    assert main(["export", str(trained_bundle), "--target", "c", "--out", str(out)]) == 0
    b = load_bundle(trained_bundle)
    names = sorted(p.name for p in out.iterdir())
    assert "vs_model_data.c" in names and "vs_model_data.h" in names
    assert "vs_feature_config.h" in names
    fc = (out / "vs_feature_config.h").read_text()
    assert b.params.feature_hash in fc and "GENERATED" in fc.splitlines()[1]
    c_text = (out / "vs_model_data.c").read_text()
    assert "vs_model_norm_mean[40]" in c_text and "vs_model_norm_std[40]" in c_text

    content = (trained_bundle / "model.tflite").read_bytes()
    interp = tm.reference_interpreter(content)
    det = interp.get_input_details()[0]
    scale, zp = det["quantization"]
    sig = np.concatenate([T.toy_signal(2.0, seed=3), T.toy_signal(2.0, fault="inner_race", seed=4)])
    z = b.normalise(extract_features(sig, params=b.params))
    x = np.clip(np.round(z / scale) + zp, -128, 127).astype(np.int8)
    rng = np.random.default_rng(5)
    x = np.concatenate([x, rng.integers(-128, 128, size=(1000, x.shape[1])).astype(np.int8)])
    ref = tm.run_reference(interp, x)
    lib = tm.ModelLibrary(tm.compile_model(out), np.int8, ref.dtype, x.shape[1], ref.shape[1])
    np.testing.assert_array_equal(lib.run(x), ref)


def test_node_input_quantization_equals_python(autoencoder_tflite: Path, tmp_path: Path) -> None:
    """The node's vs_model_quantize_input and the gateway's runtime.model.quantize agree on every value,
    ties (x / scale = k + 0.5), out-of-range and non-finite values included."""
    from vibsentry.codegen.export import export_c
    from vibsentry.runtime.model import quantize

    res = export_c(autoencoder_tflite, tmp_path / "gen")
    lib = tm.ModelLibrary(tm.compile_model(res.out_dir), np.int8, np.int8, 40, 40)
    scale, zp = res.plan.input_tensor.scale, res.plan.input_tensor.zero_point
    rng = np.random.default_rng(11)
    ties = (np.arange(-140, 140) + 0.5).astype(np.float32) * np.float32(scale)
    x = np.concatenate(
        [
            rng.standard_normal(20000).astype(np.float32) * 4,
            ties,
            np.array([0.0, -0.0, 1e30, -1e30, 3e-39], dtype=np.float32),
        ]
    )
    np.testing.assert_array_equal(lib.quantize_input(x), quantize(x, scale, zp))


def test_export_into_the_bundle_adds_c_and_keeps_it_valid(trained_bundle: Path, tmp_path: Path) -> None:
    """docs/bundle.md: vs_model_data.c/.h may be added to the bundle by export (not listed in its files)."""
    import shutil

    from vibsentry.runtime.bundle import load_bundle

    b = tmp_path / "bundle"
    shutil.copytree(trained_bundle, b)
    before = {p.name: p.read_bytes() for p in b.iterdir()}
    assert main(["export", str(b), "--out", str(b)]) == 0
    after = {p.name for p in b.iterdir()}
    assert after == set(before) | {"vs_model_data.c", "vs_model_data.h", "vs_feature_config.h"}
    assert all((b / n).read_bytes() == data for n, data in before.items())
    load_bundle(b)  # still verifies
    assert main(["export", str(b), "--out", str(b)]) == 0  # again: replaces only the generated files


def test_force_never_deletes_the_source(autoencoder_tflite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parent = autoencoder_tflite.parent
    assert main(["export", str(autoencoder_tflite), "--out", str(parent), "--force"]) == 1
    assert "contains the source" in capsys.readouterr().err
    assert autoencoder_tflite.is_file()


def test_validate_checks_the_export_against_tflite(autoencoder_tflite: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "gen"
    assert main(["export", str(autoencoder_tflite), "--out", str(out), "--validate", "300", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["validation"] == {"inputs": 300, "identical": 300, "first_difference": None}
    # Compiling happened elsewhere: the export directory holds only the generated files.
    assert sorted(p.name for p in out.iterdir()) == ["vs_model_data.c", "vs_model_data.h"]
    assert main(["export", str(autoencoder_tflite), "--out", str(tmp_path / "g2"), "--validate", "0"]) == 2


def test_validate_catches_a_wrong_runtime(autoencoder_tflite: Path, tmp_path: Path) -> None:
    """The check is not a formality: a generated model with one requantization multiplier 1 % off is caught."""
    from vibsentry.codegen.export import export_c
    from vibsentry.codegen.host import validate_c

    res = export_c(autoencoder_tflite, tmp_path / "gen")
    c = res.out_dir / "vs_model_data.c"
    text = c.read_text()
    m = re.search(r"vs_model_op1_m\[16\] = \{\n    (\d+),", text)
    assert m is not None
    c.write_text(text[: m.start(1)] + str(int(m.group(1)) * 99 // 100) + text[m.end(1) :])
    check = validate_c(res.out_dir, autoencoder_tflite.read_bytes(), n=300)
    assert check["identical"] < 300 and check["first_difference"] is not None
