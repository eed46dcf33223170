"""Bundle contract (docs/bundle.md): verified loading, atomic writes, the score definition, TF-free scoring."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support import training as T
from vibsentry.dsp.features import extract_features
from vibsentry.dsp.params import FeatureParams
from vibsentry.errors import BundleError
from vibsentry.runtime.bundle import load_bundle, save_bundle
from vibsentry.runtime.model import dequantize, quantize

pytestmark = pytest.mark.needs_tf


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vibsentry.training.api import train_bundle

    root = tmp_path_factory.mktemp("bundle")
    m = T.write_toy_dataset(root / "data", n_normal=3, normal_seconds=5, fault_seconds=3, n_fault=2)
    return train_bundle(m, root / "b", config=T.write_config(root / "t.toml", epochs=20))


@pytest.fixture
def copy(bundle_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "b"
    shutil.copytree(bundle_dir, dst)
    return dst


def test_loads_and_scores(bundle_dir: Path) -> None:
    b = load_bundle(bundle_dir)
    assert b.kind == "anomaly" and b.params == FeatureParams() and b.alarm is not None
    feats = extract_features(T.toy_signal(2.0, seed=5), params=b.params)
    s = b.score_features(feats)
    assert s.dtype == np.float32 and s.shape == (feats.shape[0],)
    fault = b.score_features(extract_features(T.toy_signal(2.0, fault="outer_race", seed=5), params=b.params))
    assert np.median(fault) > b.alarm.threshold > np.median(s)
    assert b.predict(feats).tolist() == (s > np.float32(b.alarm.threshold)).astype(int).tolist()


def test_sensor_dc_bias_does_not_move_the_score(bundle_dir: Path) -> None:
    b = load_bundle(bundle_dir)
    feats = extract_features(T.toy_signal(2.0, seed=6), params=b.params)
    col = b.params.feature_names.index("mean")
    shifted = feats.copy()
    shifted[:, col] += 0.5  # a 0.5 g DC offset: sensor bias or mounting, not a machine condition
    assert b.meta["normalisation"]["std"][col] == pytest.approx(1e30)
    assert np.array_equal(b.score_features(feats), b.score_features(shifted))


def test_tampered_file_is_named(copy: Path) -> None:
    data = bytearray((copy / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model\.tflite: sha256 .* does not match bundle\.json"):
        load_bundle(copy)


@pytest.mark.parametrize(
    ("key", "sub", "value"), [("alarm", "threshold", 1e9), ("feature_params", "hop_length", 512)]
)
def test_metadata_edit_is_caught(copy: Path, key: str, sub: str, value: float) -> None:
    meta = json.loads((copy / "bundle.json").read_text())
    meta[key][sub] = value  # a silently raised threshold or changed features would break the deployment
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=r"bundle\.json: content does not match its bundle_sha256"):
        load_bundle(copy)


@pytest.mark.parametrize("missing", ["model.tflite", "report.md", "bundle.json"])
def test_incomplete_bundle(copy: Path, missing: str) -> None:
    (copy / missing).unlink()
    with pytest.raises(BundleError, match=missing.replace(".", r"\.") + ".*(missing|incomplete)"):
        load_bundle(copy)


def test_unsupported_version_and_not_a_bundle(copy: Path, tmp_path: Path) -> None:
    meta = json.loads((copy / "bundle.json").read_text())
    meta["format_version"] = 99
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="format_version 99 is not supported"):
        load_bundle(copy)
    with pytest.raises(BundleError, match="not a bundle directory"):
        load_bundle(tmp_path / "nothing")
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="unreadable bundle metadata"):
        load_bundle(tmp_path / "j")


def test_listed_files_stay_inside_the_bundle(copy: Path) -> None:
    from vibsentry.runtime.bundle import metadata_sha256

    meta = json.loads((copy / "bundle.json").read_text())
    meta["files"]["../outside.bin"] = "0" * 64
    meta["bundle_sha256"] = metadata_sha256(meta)  # consistent metadata, hostile content
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=r"file name '\.\./outside\.bin' in 'files' is not a plain file"):
        load_bundle(copy)


def test_save_is_atomic(tmp_path: Path) -> None:
    class Boom(bytes):
        pass

    files = {"model.tflite": b"x", "zz_late.bin": Boom(b"y")}
    # A failing write (here: a value that is not bytes, after the first file was written) leaves nothing.
    with pytest.raises(TypeError):
        save_bundle(tmp_path / "out", meta={"format": "x"}, files={**files, "zz_late.bin": object()})  # type: ignore[dict-item]
    assert T.no_leftovers(tmp_path, "out")
    save_bundle(tmp_path / "out", meta={"format": "x"}, files=files)
    with pytest.raises(BundleError, match="already exists"):
        save_bundle(tmp_path / "out", meta={"format": "x"}, files=files)
    with pytest.raises(BundleError, match="not allowed"):
        save_bundle(tmp_path / "o2", meta={}, files={"../evil": b""})


def test_score_definition_matches_tensorflow_reference(bundle_dir: Path) -> None:
    """Recompute docs/bundle.md's score with TensorFlow's own interpreter (reference kernels), bit for bit."""
    import tensorflow as tf

    b = load_bundle(bundle_dir)
    feats = extract_features(
        np.concatenate([T.toy_signal(1.0, seed=9), T.toy_signal(1.0, fault="inner_race", seed=9)]),
        params=b.params,
    )
    it = tf.lite.Interpreter(
        model_path=str(bundle_dir / "model.tflite"),
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
    )
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    (s_in, zp_in), (s_out, zp_out) = i["quantization"], o["quantization"]
    assert (s_in, zp_in) == (b.meta["model"]["input"]["scale"], b.meta["model"]["input"]["zero_point"])
    want = []
    for row in feats:
        z = (row.astype(np.float32) - b.mean) / b.std
        q = quantize(z, s_in, zp_in)
        it.set_tensor(i["index"], q[None, :])
        it.invoke()
        y = dequantize(it.get_tensor(o["index"])[0], s_out, zp_out)
        zq = dequantize(q, s_in, zp_in)
        acc = np.float32(0.0)
        for j in range(z.size):  # sequential float32 sum, as the firmware does
            d = np.float32(zq[j] - y[j])
            acc = np.float32(acc + d * d)
        want.append(np.float32(acc / np.float32(z.size)))
    assert np.array_equal(b.score_features(feats), np.asarray(want, np.float32))


def test_quantize_rounds_half_away_from_zero() -> None:
    x = np.array([0.5, -0.5, 1.5, -1.5, 2.49, 1000.0, -1000.0], np.float32)
    assert quantize(x, 1.0, 0).tolist() == [1, -1, 2, -2, 2, 127, -128]
    assert quantize(x, 1.0, 3).tolist()[:2] == [4, 2]
    assert dequantize(np.array([-128, 0, 127], np.int8), 0.5, -1).tolist() == [-63.5, 0.5, 64.0]


def test_scoring_needs_no_tensorflow(bundle_dir: Path) -> None:
    code = (
        "import sys, numpy as np\n"
        "from vibsentry.runtime.bundle import load_bundle\n"
        f"b = load_bundle({str(bundle_dir)!r})\n"
        "s = b.score_features(np.zeros((3, b.params.n_features), np.float32))\n"
        "assert s.shape == (3,)\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
