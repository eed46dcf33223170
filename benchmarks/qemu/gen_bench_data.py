"""Render ``vs_bench_data.h`` for the portable benchmark program (firmware_core/port/bench/vs_bench_main.c).

Contents: one real 1024-sample frame (CWRU inner-race fault excerpt from sample_data, in g) and the tables
``arm_mfcc_init_1024_f32`` needs for CMSIS-DSP's own MFCC (20 mel filters, 13 DCT outputs, periodic Hann),
built exactly as ``cmsisdsp.mfcc`` builds them (through :mod:`vibsentry.dsp.mel`, which is tested to match).

    python benchmarks/qemu/gen_bench_data.py --out build/.../vs_bench_data.h
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[2]
FRAME_WAV = ROOT / "sample_data" / "cwru" / "ir007_0_105_excerpt.wav"
FRAME_OFFSET = 4096
FRAME_LENGTH = 1024
N_MEL = 20
N_DCT = 13
SAMPLE_RATE = 12000.0


def bench_frame() -> npt.NDArray[np.float32]:
    """The benchmark frame, float32, shape (1024,): what the QEMU image analyses."""
    from vibsentry.dsp.io import read_recording

    x = read_recording(FRAME_WAV).data[:, 0]
    return np.ascontiguousarray(x[FRAME_OFFSET : FRAME_OFFSET + FRAME_LENGTH], dtype=np.float32)


def _arr(ctype: str, name: str, vals: list[str], per_line: int = 6) -> str:
    rows = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    return f"static const {ctype} {name}[{len(vals)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def _f(v: float) -> str:
    s = format(float(np.float32(v)), ".9g")
    return (s if ("e" in s or "." in s) else s + ".0") + "f"


def render() -> str:
    """Text of vs_bench_data.h."""
    from vibsentry.dsp import FeatureParams
    from vibsentry.dsp.mel import dct_matrix, mel_filter_table
    from vibsentry.dsp.spectral import window_coefs

    p = FeatureParams(
        sample_rate=SAMPLE_RATE, frame_length=FRAME_LENGTH, n_mels=N_MEL, n_mfcc=N_DCT, features=("mfcc",)
    )
    mel = mel_filter_table(p)
    frame = bench_frame()
    me = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    wav = hashlib.sha256(FRAME_WAV.read_bytes()).hexdigest()
    return "".join(
        [
            "/*\n * GENERATED — do not edit. Source: benchmarks/qemu/gen_bench_data.py sha256 " + me + "\n",
            f" * frame: {FRAME_WAV.relative_to(ROOT)} (sha256 {wav}) samples {FRAME_OFFSET}..{FRAME_OFFSET + 1023}\n",
            " */\n#ifndef VS_BENCH_DATA_H\n#define VS_BENCH_DATA_H\n\n#include <stdint.h>\n\n",
            f"#define VS_BENCH_FRAME_LENGTH {FRAME_LENGTH}\n#define VS_BENCH_N_MEL {N_MEL}\n#define VS_BENCH_N_DCT {N_DCT}\n\n",
            _arr("float", "vs_bench_frame", [_f(v) for v in frame]),
            _arr("float", "vs_bench_window", [_f(v) for v in window_coefs(p)]),
            _arr("uint32_t", "vs_bench_mel_pos", [str(int(v)) for v in mel.pos], 12),
            _arr("uint32_t", "vs_bench_mel_len", [str(int(v)) for v in mel.lengths], 12),
            _arr("float", "vs_bench_mel_coefs", [_f(v) for v in mel.coefs]),
            _arr("float", "vs_bench_dct", [_f(v) for v in dct_matrix(N_DCT, N_MEL).ravel()]),
            "\n#endif /* VS_BENCH_DATA_H */\n",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(render())
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
