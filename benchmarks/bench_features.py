"""Feature extraction speed on one core: vibsentry.dsp vs librosa vs per-frame cmsisdsp, side by side.

All three compute the same log-mel (32 HTK-scale mel bands on the magnitude spectrum, natural log + 1e-6) and
MFCC (13 DCT-II coefficients) of 1024-sample Hann frames at 12 kHz, on the same signal, in one run. The
vibsentry default feature set (log-mel 32 + 7 statistics + velocity RMS) and the full set (every group) are
timed too. Prints frames/s per core and the ratios. Targets (ARCHITECTURE.md): >= 50,000 frames/s/core for the
default set, >= 2x librosa on the identical configuration.

Run: ``.venv/bin/python benchmarks/bench_features.py [--frames 20000] [--repeat 5]``
"""

from __future__ import annotations

import os

# One core: pin every BLAS/FFT thread pool before NumPy loads.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402

from vibsentry.dsp import (  # noqa: E402
    FEATURE_GROUPS,
    FeatureParams,
    extract_features,
    spectral,
)
from vibsentry.dsp import mel as vmel  # noqa: E402


def best_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches and lazy imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--cmsis-frames", type=int, default=2000, help="frames for the slow per-frame cmsisdsp loop"
    )
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    n, fs = 1024, 12000.0
    x = np.random.default_rng(0).normal(size=n * args.frames).astype(np.float32)
    p_mel = FeatureParams(
        sample_rate=fs, frame_length=n, hop_length=n, remove_dc=False, features=("logmel", "mfcc")
    )
    p_default = FeatureParams(sample_rate=fs, frame_length=n, hop_length=n)
    p_full = FeatureParams(sample_rate=fs, frame_length=n, hop_length=n, features=FEATURE_GROUPS)

    rows: list[tuple[str, float]] = []
    rows.append(
        (
            "vibsentry log-mel 32 + MFCC 13",
            args.frames / best_time(lambda: extract_features(x, params=p_mel), args.repeat),
        )
    )
    rows.append(
        (
            "vibsentry default (log-mel 32 + stats 7 + velocity)",
            args.frames / best_time(lambda: extract_features(x, params=p_default), args.repeat),
        )
    )
    rows.append(("vibsentry full set (all 6 groups, 63 values)", args.frames / best_time(lambda: extract_features(x, params=p_full), args.repeat)))  # fmt: skip

    import librosa

    mel_basis = librosa.filters.mel(sr=fs, n_fft=n, n_mels=32, fmin=0.0, fmax=fs / 2, htk=True, norm=None)

    def librosa_run() -> np.ndarray:
        S = np.abs(librosa.stft(x, n_fft=n, hop_length=n, window="hann", center=False))
        logmel = np.log(
            librosa.feature.melspectrogram(S=S, sr=fs, n_fft=n, power=1.0, n_mels=32, htk=True, norm=None)
            + 1e-6
        )
        return scipy.fft.dct(logmel, axis=0, type=2, norm="ortho")[:13]

    assert mel_basis.shape == (32, n // 2 + 1)
    librosa_fps = args.frames / best_time(librosa_run, args.repeat)
    rows.append(("librosa stft + melspectrogram + dct (same config)", librosa_fps))

    try:
        import cmsisdsp as dsp
        import cmsisdsp.datatype as dt
        import cmsisdsp.mfcc as cmfcc

        lengths, pos, packed = cmfcc.melFilterMatrix(dt.F32, 0.0, fs / 2, 32, fs, n)
        inst = dsp.arm_mfcc_instance_f32()
        dsp.arm_mfcc_init_f32(
            inst,
            n,
            32,
            13,
            cmfcc.dctMatrix(dt.F32, 13, 32),
            pos,
            lengths,
            packed,
            spectral.window_coefs(p_mel),
        )
        tmp = np.zeros(n + 2, dtype=np.float32)
        frames = x[: n * args.cmsis_frames].reshape(-1, n)

        def cmsis_run() -> None:
            for f in frames:
                dsp.arm_mfcc_f32(inst, f.copy(), tmp)

        rows.append(("cmsisdsp arm_mfcc_f32, one Python call per frame", args.cmsis_frames / best_time(cmsis_run, max(1, args.repeat // 2))))  # fmt: skip
    except ImportError:
        print("cmsisdsp not installed: skipping the per-frame CMSIS row")

    ours = rows[0][1]
    print(
        f"\nfeatures on 1 core, {n}-sample frames at {fs:g} Hz, {args.frames} frames, best of {args.repeat}\n"
    )
    print(f"| {'implementation':55s} | {'frames/s':>10s} | {'vibsentry log-mel+MFCC / this':>30s} |")
    print(f"|{'-' * 57}|{'-' * 12}|{'-' * 32}|")
    for name, fps in rows:
        print(f"| {name:55s} | {fps:10,.0f} | {ours / fps:29.2f}x |")
    default_fps = rows[1][1]
    print(
        f"\ndefault set: {default_fps:,.0f} frames/s/core (target >= 50,000): {'OK' if default_fps >= 50_000 else 'MISSED'}"
    )
    print(
        f"vs librosa on the identical log-mel + MFCC: {ours / librosa_fps:.2f}x (target >= 2x): {'OK' if ours / librosa_fps >= 2 else 'MISSED'}"
    )
    print(f"mel table check: {vmel.mel_filter_table(p_mel).matrix.shape}")


if __name__ == "__main__":
    main()
