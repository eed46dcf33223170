"""ctypes binding of the C features (libvscore.so), test frames and the parity check (tolerances in
tests/firmware/test_c_features.py's docstring)."""

from __future__ import annotations

import ctypes
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from vibsentry.dsp import FeatureParams
from vibsentry.dsp.features import feature_tables
from vibsentry.dsp.params import ACCEL_UNITS

ROOT = Path(__file__).resolve().parents[2]

_F32P = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")


class CFeatures:
    """``vs_features_compute_f32`` of one built libvscore.so, callable on frames.

    Parameters
    ----------
    lib_so : Path
        A host ``libvscore.so`` built for the FeatureParams under test.
    """

    def __init__(self, lib_so: Path) -> None:
        self.lib = ctypes.CDLL(str(lib_so))
        L = self.lib
        L.vs_features_instance_size.restype = ctypes.c_size_t
        L.vs_features_hash_hex.restype = ctypes.c_char_p
        L.vs_features_init.argtypes = [ctypes.c_void_p]
        L.vs_features_compute_f32.argtypes = [ctypes.c_void_p, _F32P, _F32P, _F32P]
        self.frame_length = int(L.vs_features_frame_length())
        self.n_features = int(L.vs_features_count())
        self.hash_hex = L.vs_features_hash_hex().decode()
        self._inst = ctypes.create_string_buffer(int(L.vs_features_instance_size()))
        self._scratch = np.zeros(int(L.vs_features_scratch_len()), dtype=np.float32)
        rc = L.vs_features_init(self._inst)
        if rc != 0:
            raise RuntimeError(f"vs_features_init returned {rc}")

    def __call__(self, frames: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Features of each row: (n_frames, frame_length) float32 -> (n_frames, n_features) float32."""
        x = np.ascontiguousarray(np.atleast_2d(frames), dtype=np.float32)
        out = np.zeros((x.shape[0], self.n_features), dtype=np.float32)
        row = np.zeros(self.n_features, dtype=np.float32)
        for i in range(x.shape[0]):
            rc = self.lib.vs_features_compute_f32(self._inst, x[i], self._scratch, row)
            if rc != 0:
                raise RuntimeError(f"vs_features_compute_f32 returned {rc}")
            out[i] = row
        return out


def synthetic_frames(n: int, frame_length: int, fs: float, seed: int) -> npt.NDArray[np.float32]:
    """Noise, tones, impulses, offsets over 4 decades of amplitude, plus constant and all-zero frames."""
    rng = np.random.default_rng(seed)
    t = np.arange(frame_length) / fs
    out = np.empty((n, frame_length), dtype=np.float32)
    for i in range(n):
        s = 10 ** rng.uniform(-3, 1)
        x = rng.normal(0, s, frame_length)
        x += s * rng.uniform(0, 3) * np.sin(2 * np.pi * rng.uniform(1, fs / 2) * t + rng.uniform(0, 6.3))
        if i % 2:
            x += rng.normal(0, 3)  # gravity / bias offset, up to ~100x the vibration
        if i % 5 == 0:
            x[rng.integers(0, frame_length, 4)] += s * rng.normal(0, 20, 4)
        out[i] = x
    out[0] = 0.0
    out[1] = 0.981
    return out


def wav_frames(frame_length: int, limit: int = 1500) -> npt.NDArray[np.float32]:
    """Consecutive frames of every sample_data WAV (real CWRU excerpts and synthetic machines)."""
    from vibsentry.dsp.io import read_recording

    frames = []
    for wav in sorted((ROOT / "sample_data").rglob("*.wav")):
        x = read_recording(wav).data[:, 0]
        k = len(x) // frame_length
        frames.append(x[: k * frame_length].reshape(k, frame_length))
    if not frames:
        pytest.skip("no sample_data/*.wav found")
    allf = np.concatenate(frames).astype(np.float32)
    idx = np.linspace(0, len(allf) - 1, min(limit, len(allf))).astype(int)
    return allf[idx]


def assert_parity(
    c: npt.NDArray[np.float32],
    py: npt.NDArray[np.float32],
    frames: npt.NDArray[np.float32],
    params: FeatureParams,
) -> dict[str, float]:
    """Check every column with the tolerances of the module docstring; returns the worst ratio per group."""
    s = np.abs(frames).max(axis=1).astype(np.float64)
    names = params.feature_names
    worst: dict[str, float] = {}

    def check(group: str, err: npt.NDArray[np.float64], tol: npt.NDArray[np.float64] | float) -> None:
        ratio = err / np.maximum(tol, 1e-30)
        worst[group] = max(worst.get(group, 0.0), float(ratio.max()))
        bad = np.flatnonzero(ratio > 1.0)
        assert bad.size == 0, f"{group}: {bad.size} frames over tolerance, worst ratio {ratio.max():.3g}"

    cols = {n: i for i, n in enumerate(names)}
    if "logmel" in params.features:
        j = [cols[f"logmel_{m:02d}"] for m in range(params.n_mels)]
        ec, ep = np.exp(c[:, j].astype(np.float64)), np.exp(py[:, j].astype(np.float64))
        emax = ep.max(axis=1, keepdims=True)
        e_s = (s * float(np.sum(feature_tables(params).window, dtype=np.float64)) / 2)[:, None]
        check("logmel (linear)", np.abs(ec - ep), 1e-4 * np.maximum(emax, e_s))
        strong = ep >= 1e-2 * np.maximum(emax, e_s)
        check("logmel (log, strong bands)", np.where(strong, np.abs(c[:, j] - py[:, j]), 0.0), 1e-2)
        if "mfcc" in params.features:
            dct = feature_tables(params).dct
            assert dct is not None
            jm = [cols[f"mfcc_{m:02d}"] for m in range(params.n_mfcc)]
            want = c[:, j].astype(np.float64) @ dct.T.astype(np.float64)
            check("mfcc (DCT of C logmel)", np.abs(c[:, jm] - want), 1e-5 * np.maximum(1.0, np.abs(want)))
    for name, i in cols.items():
        err = np.abs(c[:, i].astype(np.float64) - py[:, i])
        if name in ("mean", "rms", "peak", "peak_to_peak") or name.startswith("band_rms"):
            check(name.split("_0")[0], err, 1e-4 * s)
        elif name in ("crest_factor", "skewness", "kurtosis"):
            tol = 1e-4 * np.maximum(1.0, np.abs(py[:, i]))
            if not params.remove_dc:
                # The reference centres these moments on a float32 mean when remove_dc is off; the C code on a
                # corrected (float64-accurate) one. One ulp of the mean moves every centred sample, i.e. the
                # moments by ~ulp(mean)/std: an input-precision limit, not a computation error.
                f64 = frames.astype(np.float64)
                cond = 2.0**-24 * np.abs(f64.mean(axis=1)) / np.maximum(f64.std(axis=1), 1e-30)
                tol = tol + 8.0 * cond * np.maximum(1.0, np.abs(py[:, i]))
            check(name, err, tol)
        elif name.startswith("spectral_"):
            check(name, err, 1e-4 * params.sample_rate / 2)
        elif name == "velocity_rms_mm_s":
            v_s = s * ACCEL_UNITS[params.accel_unit] * 1000.0 / (2 * math.pi * params.velocity_band[1])
            check(name, err, 1e-4 * v_s + 1e-9)
    return worst
