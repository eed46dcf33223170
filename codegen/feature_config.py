"""Render ``vs_feature_config.h``, the C image of a :class:`~vibsentry.dsp.FeatureParams`.

The header carries every constant the C features need (window, packed mel table, DCT, band bin ranges,
velocity weights) as the *same float32 arrays* :func:`vibsentry.dsp.features.feature_tables` uses, plus the
``feature_hash`` as text and as 32 bytes. The periodic window is stored as its first ``N/2 + 1`` values only
(:func:`half_window` checks the symmetry bit for bit). It is generated at build time by ``firmware_core/Makefile``::

    python -m vibsentry.codegen.feature_config --out build/gen/vs/vs_feature_config.h [--config node.toml]

Only ``vs_features.c`` defines ``VS_FEATURE_CONFIG_TABLES`` before including it; other files get the macros.
With ``arithmetic = "q31"`` the header also carries the integer tables of :mod:`vibsentry.dsp.fixed` (under
``VS_FEATURE_CONFIG_Q31_TABLES``, defined only by ``vs_features_q31.c``) and ``VS_FEAT_ARITH_Q31 1``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vibsentry.dsp import spectral
from vibsentry.dsp.features import feature_tables
from vibsentry.dsp.fixed import HEADROOM_BITS, LN2_Q24, LOG2_FRAC_BITS, MIN_EXP, STAT_BITS, q31_tables
from vibsentry.dsp.params import FEATURE_GROUPS, FeatureParams
from vibsentry.errors import ExportError, VibsentryError
from vibsentry.fileio import write_atomic

_PER_LINE = 6


def _f32(v: float | np.floating) -> str:
    # 9 significant digits round-trip any float32 exactly; the 'f' suffix keeps C from widening to double.
    s = format(float(np.float32(v)), ".9g")
    if "e" not in s and "." not in s:
        s += ".0"
    return s + "f"


def _array(ctype: str, name: str, values: Iterable[str], *, per_line: int = _PER_LINE) -> str:
    vals = list(values)
    lines = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{len(vals)}] = {{\n    {body}\n}};\n"


def half_window(w: npt.NDArray[np.generic], name: str) -> npt.NDArray[np.generic]:
    """The first ``N/2 + 1`` entries of a periodic window ``w`` of shape (N,), after checking its symmetry.

    A periodic (DFT-even) window has ``w[n] == w[N - n]`` for ``1 <= n < N`` (``w[0]`` has no partner), so
    ``w[0..N/2]`` determines it; the C code reads ``w[i]`` for ``i > N/2`` as ``half[N - i]``. The check is
    on the stored bit patterns: cos(2 pi n / N) and cos(2 pi (N - n) / N) are evaluated separately in
    float64 and could round apart, and one differing bit would change the features.

    Raises
    ------
    ExportError
        If any pair differs in any bit (the header would not reproduce the reference window).
    """
    n = w.shape[0]
    bits = np.ascontiguousarray(w).view(f"u{w.dtype.itemsize}")
    bad = np.flatnonzero(bits[1:] != bits[:0:-1]) + 1
    if bad.size:
        k = int(bad[0])
        raise ExportError(
            f"{name}: window is not symmetric bit for bit (w[{k}] = {w[k]!r} != w[{n - k}] = {w[n - k]!r}, "
            f"{bad.size // 2} pair(s) differ); the half table would change the features"
        )
    return w[: n // 2 + 1]


def _i32(v: int) -> str:
    # -2^31 has no literal in C (2147483648 is a long constant before the minus applies).
    return "(-2147483647 - 1)" if int(v) == -(2**31) else str(int(v))


def _q31_section(params: FeatureParams) -> list[str]:
    """Macros and integer tables of the fixed-point path (``vs_features_q31.c``)."""
    q = q31_tables(params)
    half = params.frame_length // 2
    out = [
        f"#define VS_FEAT_CFFT_Q31_INIT arm_cfft_init_{half}_q31\n",
        f"#define VS_FEAT_Q31_HEADROOM_BITS {HEADROOM_BITS}\n#define VS_FEAT_Q31_MIN_EXP ({MIN_EXP})\n",
        f"#define VS_FEAT_Q31_STAT_BITS {STAT_BITS}\n#define VS_FEAT_Q31_LOG2_FRAC_BITS {LOG2_FRAC_BITS}\n",
        f"#define VS_FEAT_Q31_WINDOW_Q15_SUM {q.window_q15_sum}LL\n",
        f"#define VS_FEAT_Q31_LOG_FLOOR_Q24 ({q.log_floor_q24})\n",
        f"#define VS_FEAT_Q31_VEL_MAX {_f32(q.vel_max)}\n",
        f"#define VS_FEAT_Q31_LN2 {_f32(LN2_Q24)}\n",
        f"#define VS_FEAT_LOG2_N {params.frame_length.bit_length() - 1}\n\n",
        "#ifdef VS_FEATURE_CONFIG_Q31_TABLES\n\n",
        # w[0..N/2] only: vs_features_q31.c reads w[i] as vs_q31_window[i <= N/2 ? i : N - i].
        _array(
            "int32_t",
            "vs_q31_window",
            (_i32(v) for v in half_window(q.window_q31, "vs_q31_window")),
            per_line=8,
        ),
        _array("int32_t", "vs_q31_cos", (_i32(v) for v in q.cos_q31), per_line=8),
        _array("int32_t", "vs_q31_sin", (_i32(v) for v in q.sin_q31), per_line=8),
        _array("uint32_t", "vs_q31_log2", (f"{int(v)}u" for v in q.log2_q30), per_line=8),
        _array("uint32_t", "vs_q31_sqrt_seed", (f"{int(v)}u" for v in q.sqrt_seed), per_line=8),
    ]
    if "logmel" in params.features:
        mel = feature_tables(params).mel
        assert mel is not None
        out.append(_array("uint16_t", "vs_q31_mel_pos", (str(int(v)) for v in mel.pos), per_line=12))
        out.append(_array("uint16_t", "vs_q31_mel_len", (str(int(v)) for v in mel.lengths), per_line=12))
        out.append(
            _array("uint16_t", "vs_q31_mel_coefs", (str(int(v)) for v in q.mel_coefs_q15), per_line=12)
        )
    if "velocity_rms" in params.features and q.vel_k1 > q.vel_k0:
        out.append(_array("uint32_t", "vs_q31_vel_weights", (f"{int(v)}u" for v in q.vel_q16), per_line=10))
    out.append("\n#endif /* VS_FEATURE_CONFIG_Q31_TABLES */\n\n")
    return out


def band_bin_ranges(params: FeatureParams) -> list[tuple[int, int]]:
    """Bin range ``[start, stop)`` of each ``band_rms`` band (a band may be empty: ``start == stop``).

    Derived from the same band weight matrix the Python features use, so both sides cover identical bins.
    """
    w = feature_tables(params).band_weights
    out = []
    for b in range(params.n_bands):
        nz = np.flatnonzero(w[b])
        out.append((int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 0))
    return out


def render_feature_config(params: FeatureParams, *, source: str = "FeatureParams()") -> str:
    """The text of ``vs_feature_config.h`` for ``params``.

    Parameters
    ----------
    params : FeatureParams
    source : str
        Where the parameters came from (a TOML path or ``FeatureParams()``), named in the banner.

    Returns
    -------
    str
        C99 header text, starting with the GENERATED banner (source, feature_hash = sha256 of the canonical
        JSON, and the sha256 of this generator).
    """
    t = feature_tables(params)
    n = params.frame_length
    gen_sha = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    h = params.feature_hash
    groups = "".join(f"#define VS_FEAT_HAS_{g.upper()} {int(g in params.features)}\n" for g in FEATURE_GROUPS)
    out = [
        "/*\n",
        " * GENERATED — do not edit. Regenerate with: python -m vibsentry.codegen.feature_config\n",
        f" * source: {source}, canonical JSON sha256 (feature_hash) {h}\n",
        f" * generator: codegen/feature_config.py sha256 {gen_sha}\n",
        f" * canonical JSON: {params.canonical_json()}\n",
        " *\n",
        " * Macros for everyone; the constant tables only where VS_FEATURE_CONFIG_TABLES is defined (vs_features.c)\n",
        " * so they exist once in flash. Tables are the float32 arrays of vibsentry.dsp.features.feature_tables.\n",
        " */\n",
        "#ifndef VS_FEATURE_CONFIG_H\n#define VS_FEATURE_CONFIG_H\n\n#include <stdint.h>\n\n",
        f'#define VS_FEATURE_HASH_HEX "{h}"\n',
        "#define VS_FEATURE_HASH_BYTES { " + ", ".join(f"0x{b:02x}" for b in bytes.fromhex(h)) + " }\n",
        f"#define VS_FEAT_SAMPLE_RATE {_f32(params.sample_rate)}\n",
        f"#define VS_FEAT_FRAME_LENGTH {n}\n",
        f"#define VS_FEAT_HOP_LENGTH {params.hop_length}\n",
        f"#define VS_FEAT_N_BINS {params.n_bins}\n",
        f"#define VS_FEAT_N_FEATURES {params.n_features}\n",
        f"#define VS_FEAT_REMOVE_DC {int(params.remove_dc)}\n",
        f"#define VS_FEAT_ARITH_Q31 {int(params.arithmetic == 'q31')}\n",
        f"#define VS_FEAT_RFFT_INIT arm_rfft_fast_init_{n}_f32\n",
        f"#define VS_FEAT_BIN_HZ {_f32(params.sample_rate / n)}\n",
        f"#define VS_FEAT_WINDOW_SUM {_f32(t.window_sum)}\n",
        groups,
        f"#define VS_FEAT_N_MELS {params.n_mels}\n",
        f"#define VS_FEAT_N_MFCC {params.n_mfcc}\n",
        f"#define VS_FEAT_N_BANDS {params.n_bands}\n",
    ]
    # Parseval scale of one bin's |X|^2 (c_k / (N sum w^2)): c = 1 at DC and Nyquist, 2 elsewhere.
    sc = spectral.one_sided_scale(params).astype(np.float32)
    out.append(f"#define VS_FEAT_SCALE_EDGE {_f32(sc[0])}\n#define VS_FEAT_SCALE_INNER {_f32(sc[1])}\n")
    vel = np.flatnonzero(t.velocity_weights)
    k0, k1 = (int(vel[0]), int(vel[-1]) + 1) if vel.size else (0, 0)
    out.append(f"#define VS_FEAT_VEL_K0 {k0}\n#define VS_FEAT_VEL_K1 {k1}\n")
    mel_count = int(t.mel.coefs.size) if t.mel is not None else 0
    out.append(f"#define VS_FEAT_MEL_COEF_COUNT {mel_count}\n\n")
    if params.arithmetic == "q31":
        out += _q31_section(params)

    out.append("#ifdef VS_FEATURE_CONFIG_TABLES\n\n")
    # w[0..N/2] only (the window is periodic, w[i] == w[N - i]): vs_features.c walks it up over the first
    # half of the frame and back down over the second, 2 KB of flash less at N = 1024.
    out.append(_array("float", "vs_feat_window", (_f32(v) for v in half_window(t.window, "vs_feat_window"))))
    if t.mel is not None:
        out.append(_array("uint32_t", "vs_feat_mel_pos", (str(int(v)) for v in t.mel.pos), per_line=12))
        out.append(_array("uint32_t", "vs_feat_mel_len", (str(int(v)) for v in t.mel.lengths), per_line=12))
        out.append(_array("float", "vs_feat_mel_coefs", (_f32(v) for v in t.mel.coefs)))
    if t.dct is not None:
        out.append(_array("float", "vs_feat_dct", (_f32(v) for v in t.dct.ravel())))
    if "band_rms" in params.features:
        ranges = band_bin_ranges(params)
        out.append(_array("uint16_t", "vs_feat_band_start", (str(a) for a, _ in ranges), per_line=12))
        out.append(_array("uint16_t", "vs_feat_band_stop", (str(b) for _, b in ranges), per_line=12))
    if "velocity_rms" in params.features and k1 > k0:
        out.append(_array("float", "vs_feat_vel_weights", (_f32(v) for v in t.velocity_weights[k0:k1])))
    out.append("\n#endif /* VS_FEATURE_CONFIG_TABLES */\n\n#endif /* VS_FEATURE_CONFIG_H */\n")
    return "".join(out)


def write_feature_config(params: FeatureParams, path: str | os.PathLike[str], *, source: str) -> Path:
    """Write the header atomically (temp file in the same folder, then rename); returns the path."""
    return write_atomic(path, render_feature_config(params, source=source))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vibsentry.codegen.feature_config --out PATH [--config TOML]``."""
    ap = argparse.ArgumentParser(prog="feature_config", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="header to write (vs_feature_config.h)")
    ap.add_argument("--config", help="TOML file with a [features] table (default: FeatureParams())")
    args = ap.parse_args(argv)
    try:
        params = FeatureParams.from_toml(args.config) if args.config else FeatureParams()
        write_feature_config(params, args.out, source=args.config or "FeatureParams()")
    except VibsentryError as exc:
        print(f"feature_config: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
