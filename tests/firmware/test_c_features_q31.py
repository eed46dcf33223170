"""C q31 features (vs_features_q31.c, real CMSIS-DSP arm_cfft_q31) against vibsentry.dsp.fixed: bit-identical.

Tolerance: none. Every float32 output of the C library equals the NumPy model's, bit for bit, on synthetic
frames (zero, constant, 4 decades of amplitude, offsets, impulses), sample_data frames, a second configuration
(256 samples, Hamming, no DC removal, m/s2) and a frame with NaN; on RV32IMC under QEMU (the ESP32-C3 class the
path exists for) for the benchmark frame. How close q31 is to f32 is tests/dsp/test_dsp_q31.py's subject.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support import cqemu
from tests.support.cbuild import make
from tests.support.cfeatures import CFeatures, synthetic_frames, wav_frames
from vibsentry.dsp import FeatureParams
from vibsentry.dsp.fixed import features_q31

pytest.importorskip("cmsisdsp", reason="the q31 model runs CMSIS-DSP's arm_cfft_q31 through cmsisdsp")

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "firmware_core" / "build"

OTHER_TOML = """
[features]
arithmetic = "q31"
sample_rate = 25600.0
frame_length = 256
hop_length = 256
window = "hamming"
remove_dc = false
accel_unit = "m/s2"
n_mels = 24
fmin = 20.0
fmax = 10000.0
velocity_band = [100.0, 5000.0]
"""


def _toml(tmp: pytest.TempPathFactory, text: str) -> Path:
    path = tmp.mktemp("q31") / "features.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def default_q31(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureParams, CFeatures]:
    toml = _toml(tmp_path_factory, '[features]\narithmetic = "q31"\n')
    b = make("lib", build_dir=BUILD / "variant_q31", features_toml=toml)
    return FeatureParams.from_toml(toml), CFeatures(b.lib_so)


def _bits_equal(c: np.ndarray, py: np.ndarray) -> None:
    same = c.view(np.uint32) == py.view(np.uint32)
    if not same.all():
        i, j = np.argwhere(~same)[0]
        raise AssertionError(
            f"{(~same).sum()} values differ; first frame {i} feature {j}: C {c[i, j]!r}, Py {py[i, j]!r}"
        )


def test_hash_and_size(default_q31: tuple[FeatureParams, CFeatures]) -> None:
    p, c = default_q31
    assert p.arithmetic == "q31"
    assert c.hash_hex == p.feature_hash != FeatureParams().feature_hash
    assert c.n_features == p.n_features


def test_bit_identical_synthetic(default_q31: tuple[FeatureParams, CFeatures]) -> None:
    p, c = default_q31
    frames = synthetic_frames(300, 1024, 12000.0, seed=21)
    _bits_equal(c(frames), features_q31(frames, params=p))


def test_bit_identical_sample_data(default_q31: tuple[FeatureParams, CFeatures]) -> None:
    p, c = default_q31
    frames = wav_frames(1024, limit=400)
    _bits_equal(c(frames), features_q31(frames, params=p))


def test_extreme_amplitudes_and_nan(default_q31: tuple[FeatureParams, CFeatures]) -> None:
    p, c = default_q31
    rng = np.random.default_rng(4)
    base = rng.normal(0, 1, (6, 1024)).astype(np.float32)
    frames = base * np.array([1e-30, 1e-12, 1e-3, 1e3, 1e12, 1e25], dtype=np.float32)[:, None]
    _bits_equal(c(frames), features_q31(frames, params=p))
    bad = base[:1].copy()
    bad[0, 7] = np.inf
    out = c(bad)
    assert np.isnan(out).all() and np.isnan(features_q31(bad, params=p)).all()


def test_bit_identical_other_configuration(tmp_path_factory: pytest.TempPathFactory) -> None:
    toml = _toml(tmp_path_factory, OTHER_TOML)
    p = FeatureParams.from_toml(toml)
    c = CFeatures(make("lib", build_dir=BUILD / "variant_q31_other", features_toml=toml).lib_so)
    frames = synthetic_frames(200, 256, 25600.0, seed=8)
    _bits_equal(c(frames), features_q31(frames, params=p))


def test_bit_identical_on_rv32imc_qemu(tmp_path_factory: pytest.TempPathFactory) -> None:
    reason = cqemu.require_qemu(cqemu.RV32)
    if reason:
        pytest.skip(reason)
    toml = _toml(tmp_path_factory, '[features]\narithmetic = "q31"\n')
    b = make("rv32imc", build_dir=BUILD / "variant_q31_rv32", features_toml=toml)
    out = cqemu.parse_output(
        cqemu.run_image(b.build_dir / cqemu.RV32.image / "vs_bench.elf", target=cqemu.RV32)
    )
    p = FeatureParams.from_toml(toml)
    assert out["HASH"] == p.feature_hash
    feats = out["FEAT"]
    assert isinstance(feats, dict)
    got = np.array(
        [[struct.unpack("<f", struct.pack("<I", int(feats[i])))[0] for i in range(p.n_features)]],
        dtype=np.float32,
    )
    sys.path.insert(0, str(ROOT / "benchmarks" / "qemu"))
    try:
        from gen_bench_data import bench_frame  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    frame = np.asarray(bench_frame(), dtype=np.float32)[None, :]
    _bits_equal(got, features_q31(frame, params=p))
