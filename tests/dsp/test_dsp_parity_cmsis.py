"""The Python feature pipeline against the real CMSIS-DSP (the ``cmsisdsp`` wrapper of ARM's C library).

Tolerances (stated by issue A): FFT max abs error <= 1e-4 x max|X|; MFCC max abs error <= 1e-4.
Mel and DCT tables must be bit-identical to ``cmsisdsp.mfcc``'s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vibsentry.dsp import FeatureParams, features_from_frames, frame_signal, spectral
from vibsentry.dsp import mel as vmel
from vibsentry.dsp.io import read_recording

dsp = pytest.importorskip("cmsisdsp", reason="cmsisdsp (dev extra) is needed for CMSIS-DSP parity")
import cmsisdsp.datatype as dt  # noqa: E402
import cmsisdsp.mfcc as cmfcc  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FRAME_LENGTHS = (256, 512, 1024, 2048)


def _real_frames(n: int, count: int) -> np.ndarray:
    """Frames from the real CWRU excerpts and synthetic recordings shipped in sample_data/."""
    files = sorted((ROOT / "sample_data").rglob("*.wav"))
    assert files, "sample_data/ has no WAV recordings"
    frames = []
    for f in files:
        x = read_recording(f).data[:, 0]
        step = max(n, (x.size - n) // 4)
        frames += [x[i : i + n] for i in range(0, x.size - n, step)][:4]
    return np.asarray(frames[:count], dtype=np.float32)


def _random_frames(n: int, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Mixed scales and shapes: noise, tones and impulses, so both small and large bins are exercised.
    t = np.arange(n)
    out = rng.normal(0, rng.uniform(0.01, 5, (count, 1)), (count, n))
    out += rng.uniform(0, 3, (count, 1)) * np.sin(2 * np.pi * rng.uniform(1, n / 2, (count, 1)) * t / n)
    out[:, :: max(1, n // 7)] += rng.uniform(-4, 4, (count, 1))
    return out.astype(np.float32)


@pytest.mark.parametrize("n", FRAME_LENGTHS)
def test_rfft_packed_matches_arm_rfft_fast_f32(n: int) -> None:
    inst = dsp.arm_rfft_fast_instance_f32()
    assert dsp.arm_rfft_fast_init_f32(inst, n) == 0
    frames = np.concatenate([_random_frames(n, 60, seed=n), _real_frames(n, 20)])
    ours = spectral.rfft_packed(frames)
    worst = 0.0
    for x, mine in zip(frames, ours, strict=True):
        ref = dsp.arm_rfft_fast_f32(inst, x.copy(), 0)
        err = float(np.abs(ref - mine).max() / np.abs(ref).max())
        worst = max(worst, err)
    assert worst <= 1e-4, f"FFT relative error {worst:.3g} > 1e-4 at N={n}"


@pytest.mark.parametrize("n", FRAME_LENGTHS)
def test_magnitude_matches_arm_cmplx_mag_f32(n: int) -> None:
    inst = dsp.arm_rfft_fast_instance_f32()
    dsp.arm_rfft_fast_init_f32(inst, n)
    for x in _random_frames(n, 20, seed=n + 1):
        packed = dsp.arm_rfft_fast_f32(inst, x.copy(), 0)
        ref = dsp.arm_cmplx_mag_f32(packed)  # slot 0 mixes DC and Nyquist (packed layout): compare 1..N/2-1
        mine = spectral.magnitude(spectral.rfft(x))
        scale = float(np.abs(mine).max())
        assert np.abs(ref[1:] - mine[1 : n // 2]).max() <= 1e-4 * scale


@pytest.mark.parametrize(
    ("n", "fs", "n_mels", "fmin", "fmax"),
    [(256, 8000.0, 20, 0.0, 4000.0), (512, 16000.0, 32, 20.0, 8000.0), (1024, 12000.0, 32, 0.0, 6000.0),
     (1024, 25600.0, 40, 10.0, 5000.0), (2048, 48000.0, 64, 0.0, 24000.0)],
)  # fmt: skip
def test_mel_and_dct_tables_bit_identical_to_cmsisdsp(
    n: int, fs: float, n_mels: int, fmin: float, fmax: float
) -> None:
    p = FeatureParams(sample_rate=fs, frame_length=n, n_mels=n_mels, fmin=fmin, fmax=fmax, features=("mfcc",))
    lengths, pos, packed = cmfcc.melFilterMatrix(dt.F32, fmin, fmax, n_mels, fs, n)
    table = vmel.mel_filter_table(p)
    np.testing.assert_array_equal(table.pos, np.asarray(pos))
    np.testing.assert_array_equal(table.lengths, np.asarray(lengths))
    np.testing.assert_array_equal(table.coefs, packed)
    ref_dct = cmfcc.dctMatrix(dt.F32, p.n_mfcc, n_mels)
    np.testing.assert_array_equal(vmel.dct_matrix(p.n_mfcc, n_mels).ravel(), ref_dct)


@pytest.mark.parametrize("n", FRAME_LENGTHS)
def test_mfcc_matches_arm_mfcc_f32(n: int) -> None:
    # arm_mfcc_f32 has no DC removal; the same frame goes to both sides.
    p = FeatureParams(
        sample_rate=16000.0, frame_length=n, remove_dc=False, features=("mfcc",), n_mels=20, n_mfcc=13
    )
    lengths, pos, packed = cmfcc.melFilterMatrix(dt.F32, p.fmin, p.fmax, p.n_mels, p.sample_rate, n)
    dct = cmfcc.dctMatrix(dt.F32, p.n_mfcc, p.n_mels)
    inst = dsp.arm_mfcc_instance_f32()
    assert (
        dsp.arm_mfcc_init_f32(
            inst, n, p.n_mels, p.n_mfcc, dct, pos, lengths, packed, spectral.window_coefs(p)
        )
        == 0
    )
    frames = np.concatenate([_random_frames(n, 60, seed=3 * n), _real_frames(n, 20)])
    ours = features_from_frames(frames, params=p)
    tmp = np.zeros(n + 2, dtype=np.float32)
    ref = np.stack([dsp.arm_mfcc_f32(inst, x.copy(), tmp) for x in frames])
    err = float(np.abs(ref - ours).max())
    assert err <= 1e-4, f"MFCC max abs error {err:.3g} > 1e-4 at N={n}"


def test_logmel_is_the_log_of_mel_weighted_cmsis_magnitudes() -> None:
    p = FeatureParams()  # the default feature set: logmel 32 + stats + velocity
    frames = frame_signal(_real_frames(1024, 1).ravel(), params=p)
    inst = dsp.arm_rfft_fast_instance_f32()
    dsp.arm_rfft_fast_init_f32(inst, 1024)
    table = vmel.mel_filter_table(p)
    ours = features_from_frames(frames, params=p)[:, : p.n_mels]
    for x, mine in zip(frames, ours, strict=True):
        xs = x - np.dot(x, spectral.window_coefs(p)) / spectral.window_coefs(p).sum()
        packed = dsp.arm_rfft_fast_f32(inst, (xs * spectral.window_coefs(p)).astype(np.float32), 0)
        mag = np.abs(spectral.unpack_cmsis(packed))
        offsets = np.concatenate([[0], np.cumsum(table.lengths)[:-1]]).astype(int)
        ref = [
            np.log(np.dot(mag[int(s) : int(s) + int(ln)], table.coefs[o : o + int(ln)]) + 1e-6)
            for s, ln, o in zip(table.pos, table.lengths, offsets, strict=True)
        ]
        assert np.abs(np.asarray(ref) - mine).max() <= 1e-4
