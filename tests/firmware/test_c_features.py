"""C features (libvscore.so, real CMSIS-DSP) against the Python reference vibsentry.dsp, frame by frame.

Tolerances, all "1e-4 of the signal scale", with ``s = max |x|`` of the frame in the input unit:

- signal-unit features (``mean``, ``rms``, ``peak``, ``peak_to_peak``, ``band_rms_*``): ``|C - Py| <= 1e-4 s``;
- dimensionless statistics (``crest_factor``, ``skewness``, ``kurtosis``): ``<= 1e-4 max(1, |Py|)``, plus, when
  ``remove_dc`` is off, ``8 ulp(mean)/std max(1, |Py|)``: the reference then centres on a float32 mean, whose
  last-bit rounding shifts every centred sample (a 1 mg vibration on a 1 g offset is at that limit);
- ``spectral_centroid_hz`` / ``spectral_spread_hz``: ``<= 1e-4 fs/2``;
- ``velocity_rms_mm_s``: ``<= 1e-4 v_s`` with ``v_s = s u 1000 / (2 pi f_hi)``, the velocity of a full-scale
  tone at the band's upper edge (the smallest velocity a full-scale in-band tone can have);
- ``logmel_*`` are logs, so they are compared where the signal scale lives, in the linear domain: with
  ``E = exp(logmel)`` (mel energy + 1e-6, proportional to the signal),
  ``|E_C - E_Py| <= 1e-4 max(max_m E_Py, s W / 2)`` where ``s W / 2`` (W = sum of the window) is the mel energy
  of a full-scale tone at a filter centre: the floor for frames whose spectrum is (nearly) empty, such as a
  constant frame with DC removal, where both sides hold only rounding residue.
  Bands holding at least 1 % of that scale must also agree in the log domain within 1e-2;
- ``mfcc_*``: the C MFCC must equal the DCT table applied to the C log-mel values (rel. 1e-5), so it inherits
  the log-mel bound; the DCT is the only step it adds.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

from tests.support.cbuild import make, run_c_test
from tests.support.cfeatures import CFeatures, assert_parity, synthetic_frames, wav_frames
from vibsentry.dsp import FeatureParams
from vibsentry.dsp.features import features_from_frames

ROOT = Path(__file__).resolve().parents[2]

#: A second configuration exercising every feature group, another window, length and rate, and no DC removal.
ALL_GROUPS_TOML = """
[features]
sample_rate = 25600.0
frame_length = 256
hop_length = 256
window = "hamming"
remove_dc = false
accel_unit = "m/s2"
features = ["logmel", "mfcc", "band_rms", "stats", "spectral_shape", "velocity_rms"]
n_mels = 24
n_mfcc = 13
n_bands = 6
fmin = 20.0
fmax = 10000.0
velocity_band = [100.0, 5000.0]
"""


@pytest.fixture(scope="module")
def default_c() -> CFeatures:
    return CFeatures(make("lib").lib_so)


@pytest.fixture(scope="module")
def all_groups(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureParams, CFeatures]:
    d = tmp_path_factory.mktemp("cfg")
    toml = d / "features.toml"
    toml.write_text(ALL_GROUPS_TOML)
    params = FeatureParams.from_toml(toml)
    b = make("lib", build_dir=ROOT / "firmware_core" / "build" / "variant_all_groups", features_toml=toml)
    return params, CFeatures(b.lib_so)


def test_generated_header_carries_the_feature_hash(default_c: CFeatures) -> None:
    p = FeatureParams()
    assert default_c.hash_hex == p.feature_hash
    assert default_c.n_features == p.n_features
    header = make("lib").feature_config.read_text(encoding="utf-8")
    assert header.startswith("/*\n * GENERATED — do not edit")
    assert p.feature_hash in header.splitlines()[2]


def test_default_params_random_frames(default_c: CFeatures) -> None:
    p = FeatureParams()
    frames = synthetic_frames(3000, p.frame_length, p.sample_rate, seed=1)
    assert_parity(default_c(frames), features_from_frames(frames, params=p), frames, p)


def test_default_params_sample_data_frames(default_c: CFeatures) -> None:
    p = FeatureParams()
    frames = wav_frames(p.frame_length)
    assert_parity(default_c(frames), features_from_frames(frames, params=p), frames, p)


def test_all_groups_variant_random_and_real_frames(all_groups: tuple[FeatureParams, CFeatures]) -> None:
    p, c = all_groups
    assert c.hash_hex == p.feature_hash
    assert c.n_features == p.n_features == 24 + 13 + 6 + 7 + 2 + 1
    frames = np.concatenate(
        [
            synthetic_frames(2000, p.frame_length, p.sample_rate, seed=2),
            wav_frames(p.frame_length, limit=1000),
        ]
    )
    assert_parity(c(frames), features_from_frames(frames, params=p), frames, p)


@pytest.mark.needs_datasets
def test_default_params_cwru_frames(default_c: CFeatures, datasets_dir: Path) -> None:
    from scipy.io import loadmat

    p = FeatureParams()
    frames = []
    for mat in sorted((datasets_dir / "cwru").glob("*.mat")):
        d = loadmat(mat)
        key = next(k for k in d if k.endswith("_DE_time"))
        x = np.asarray(d[key], dtype=np.float32).ravel()
        k = len(x) // p.frame_length
        frames.append(x[: k * p.frame_length].reshape(k, p.frame_length)[:: max(1, k // 60)])
    allf = np.concatenate(frames)
    assert len(allf) >= 500
    assert_parity(default_c(allf), features_from_frames(allf, params=p), allf, p)


def test_rejects_null_and_uninitialised(default_c: CFeatures) -> None:
    lib = default_c.lib
    assert lib.vs_features_init(None) < 0
    inst = ctypes.create_string_buffer(int(lib.vs_features_instance_size()))
    z = np.zeros(default_c.frame_length * 2, dtype=np.float32)
    out = np.zeros(default_c.n_features, dtype=np.float32)
    assert lib.vs_features_compute_f32(inst, z[: default_c.frame_length].copy(), z, out) < 0


def test_in_place_mode_gives_the_same_features(default_c: CFeatures) -> None:
    lib = default_c.lib
    n = default_c.frame_length
    frames = synthetic_frames(20, n, 12000.0, seed=5)
    want = default_c(frames)
    inst = ctypes.create_string_buffer(int(lib.vs_features_instance_size()))
    assert lib.vs_features_init(inst) == 0
    out = np.zeros(default_c.n_features, dtype=np.float32)
    for i, f in enumerate(frames):
        scratch = np.zeros(2 * n, dtype=np.float32)
        scratch[:n] = f
        assert lib.vs_features_compute_f32(inst, scratch, scratch, out) == 0
        np.testing.assert_array_equal(out, want[i])
        # A frame overlapping scratch anywhere but its start is refused.
        assert lib.vs_features_compute_f32(inst, scratch[1 : n + 1].copy(), scratch, out) == 0
        bad = np.zeros(3 * n, dtype=np.float32)
        assert lib.vs_features_compute_f32(inst, bad[n:], bad[: 2 * n], out) < 0


def test_c_unit_tests_under_sanitizers() -> None:
    # Argument checks, exact buffer sizes on the heap (ASan sees any overrun), closed-form answers for a sine.
    out = run_c_test("test_features").stdout
    assert "0 failures" in out
