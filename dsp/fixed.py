"""The fixed-point feature path (``FeatureParams.arithmetic = "q31"``): a NumPy model of ``vs_features_q31.c``.

Cores without an FPU (RV32IMC, the ESP32-C3 class) pay a libgcc soft-float call for every float operation, so
their node computes the features with integers and converts to float only the 40 results. This module computes
the *same integers* in the same order, so training sees exactly what the node computes; the C output equals
:func:`features_q31` bit for bit (``tests/firmware/test_c_features_q31.py``). The complex FFT is CMSIS-DSP's
``arm_cfft_q31`` itself (the ``cmsisdsp`` wrapper, same version as the firmware), everything around it is integer
NumPy. The pipeline is described in ``docs/features.md`` ("Fixed point"); in short, per frame:

1. Block scaling: ``s = 27 - floor(log2 max|x|)`` (``max|x|`` floored at 2^-60), ``q = trunc(x * 2^s)``, so
   ``|q| < 2^28`` whatever the amplitude (the node reads the exponent from the float bits).
2. Sums for the statistics about the integer mean, the window-weighted mean (Q15 window), and the windowed
   frame ``((q - wmean) * w) >> 31`` with a Q31 window.
3. ``arm_cfft_q31`` of N/2 points on the frame read as complex pairs (output = DFT / (N/2)), then the real-FFT
   split with Q31 twiddles: ``X[k] = (E + (-i W^k) O) / 2``.
4. ``|X[k]|`` from the exact 64-bit ``re^2 + im^2`` by a normalised 16-bit square root (seed table + two
   Newton steps with integer division; relative error < 2^-15).
5. Mel energies with Q15 coefficients in 64-bit accumulators, ``log2`` by a 257-entry Q30 table with linear
   interpolation (error < 3e-6), floored at ``log2(1e-6)``; ``ln`` = ``log2 * ln 2`` only at the conversion.
6. Statistics from integer power sums (14-bit centred values), velocity RMS from the 64-bit power spectrum with
   Q16 local frequencies and Q16 weights; a handful of float32 operations per frame combine them.

Differences from the float32 reference (``arithmetic = "f32"``) are stated and measured in
``tests/dsp/test_dsp_q31.py``: log-mel within 0.01 (natural log units), statistics and velocity within 0.5 %
relative on ordinary frames; ``ln(max(E, 1e-6))`` replaces ``ln(E + 1e-6)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.dsp import spectral
from vibsentry.dsp.mel import mel_filter_table
from vibsentry.dsp.params import LOG_OFFSET, Q31_GROUPS, FeatureParams
from vibsentry.errors import ConfigError

#: Peak of the block-scaled frame: |q| < 2^HEADROOM_BITS leaves room for DC removal, windowing and a
#: rectangular window's full-length sum (|X| <= sum|q w| / (N/2) < 2^31).
HEADROOM_BITS = 28
#: Smallest frame peak kept at full precision (2^MIN_EXP); quieter frames keep s = HEADROOM_BITS - 1 - MIN_EXP.
MIN_EXP = -60
#: Centred samples are rounded to this many bits for the moment sums (c^4 of 1024 samples fits 64 bits).
STAT_BITS = 14
LOG2_TABLE_BITS = 8
LOG2_FRAC_BITS = 24  # log2 results are Q24 int32 (range +-128)
SQRT_SEED_BITS = 4
#: ln(2) / 2^24 in float32: turns a Q24 log2 into the natural log (one float multiply per value).
LN2_Q24 = np.float32(np.log(2.0) / 2**LOG2_FRAC_BITS)


@dataclass(frozen=True)
class Q31Tables:
    """Integer tables of the q31 path (rendered into ``vs_feature_config.h`` by ``codegen.feature_config``).

    Attributes
    ----------
    window_q31 : int32 (N,)     window in Q31 (1.0 saturates to 2^31 - 1)
    window_q15 : int32 (N,)     ``window_q31 >> 16``, for the window-weighted mean
    window_q15_sum : int        sum of ``window_q15``
    cos_q31, sin_q31 : int32 (N/2 + 1,)   ``cos, sin(2 pi k / N)`` in Q31 (saturated), split twiddles
    mel_q15 : int64 (N/2 + 1, n_mels)     mel weights in Q15 (dense, for NumPy); packed like the f32 table in C
    mel_coefs_q15 : uint16 (sum of lengths,)  the packed coefficients C uses
    log2_q30 : uint32 (2^LOG2_TABLE_BITS + 1,)  ``log2(1 + i / 256)`` in Q30
    sqrt_seed : uint32 (16,)    first guess of ``sqrt(m)`` for ``m`` in ``[j, j + 1) * 2^28``
    vel_q16 : uint32 (K1 - K0,)  velocity weights / bin_hz^2, scaled so the largest is 2^16
    vel_max : float32            the scale: weight_k / bin_hz^2 = vel_q16[k] * vel_max / 2^16
    vel_k0, vel_k1 : int         velocity bins [k0, k1)
    log_floor_q24 : int          ``round(log2(1e-6) * 2^24)``
    """

    window_q31: npt.NDArray[np.int32]
    window_q15: npt.NDArray[np.int32]
    window_q15_sum: int
    cos_q31: npt.NDArray[np.int32]
    sin_q31: npt.NDArray[np.int32]
    mel_q15: npt.NDArray[np.int64]
    mel_coefs_q15: npt.NDArray[np.uint16]
    log2_q30: npt.NDArray[np.uint32]
    sqrt_seed: npt.NDArray[np.uint32]
    vel_q16: npt.NDArray[np.uint32]
    vel_max: np.float32
    vel_k0: int
    vel_k1: int
    log_floor_q24: int


def _q31(v: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    return np.clip(np.round(v * 2.0**31), -(2**31), 2**31 - 1).astype(np.int32)


@lru_cache(maxsize=16)
def q31_tables(params: FeatureParams) -> Q31Tables:
    """Build (and cache) the integer tables for ``params`` (any ``arithmetic``; the C header needs them)."""
    from vibsentry.dsp.features import feature_tables

    n, half = params.frame_length, params.frame_length // 2
    w = spectral.window_coefs(params).astype(np.float64)
    wq31 = _q31(w)
    wq15 = (wq31 >> 16).astype(np.int32)
    theta = 2.0 * np.pi * np.arange(half + 1) / n
    mel = mel_filter_table(params)
    coefs = np.round(mel.coefs.astype(np.float64) * 32768.0).astype(np.uint16)
    dense = np.zeros((params.n_bins, params.n_mels), dtype=np.int64)
    off = 0
    for m, (p, ln) in enumerate(zip(mel.pos, mel.lengths, strict=True)):
        dense[int(p) : int(p) + int(ln), m] = coefs[off : off + int(ln)]
        off += int(ln)
    i = np.arange(2**LOG2_TABLE_BITS + 1, dtype=np.float64)
    log2 = np.round(np.log2(1.0 + i / 2**LOG2_TABLE_BITS) * 2.0**30).astype(np.uint32)
    j = np.arange(2**SQRT_SEED_BITS, dtype=np.float64)
    seed = np.round(np.sqrt((j + 0.5) * 2.0 ** (32 - SQRT_SEED_BITS))).astype(np.uint32)
    seed[: 2 ** (SQRT_SEED_BITS - 2)] = seed[2 ** (SQRT_SEED_BITS - 2)]  # m >= 2^30: never used
    vw = feature_tables(params).velocity_weights.astype(np.float64)
    nz = np.flatnonzero(vw)
    k0, k1 = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 0)
    bin_hz = params.sample_rate / n
    per = vw[k0:k1] / bin_hz**2
    vmax = np.float32(per.max()) if per.size else np.float32(0.0)
    vq = np.round(per / float(vmax) * 65536.0).astype(np.uint32) if per.size else np.zeros(0, np.uint32)
    out = Q31Tables(
        window_q31=wq31,
        window_q15=wq15,
        window_q15_sum=int(wq15.astype(np.int64).sum()),
        cos_q31=_q31(np.cos(theta)),
        sin_q31=_q31(np.sin(theta)),
        mel_q15=dense,
        mel_coefs_q15=coefs,
        log2_q30=log2,
        sqrt_seed=seed,
        vel_q16=vq,
        vel_max=vmax,
        vel_k0=k0,
        vel_k1=k1,
        log_floor_q24=round(float(np.log2(LOG_OFFSET)) * 2**LOG2_FRAC_BITS),
    )
    for a in (
        out.window_q31,
        out.window_q15,
        out.cos_q31,
        out.sin_q31,
        out.mel_q15,
        out.log2_q30,
        out.vel_q16,
    ):
        a.setflags(write=False)
    return out


# -- integer helpers (int64 NumPy, the C semantics: arithmetic >> floors, / truncates toward zero) ------------
def _bitlen(v: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Bit length of non-negative int64 values (0 for 0), exact."""
    v = np.asarray(v, dtype=np.int64)
    e = np.frexp(v.astype(np.float64))[1].astype(np.int64)
    # float64 rounding can carry into the next power of two: correct it down.
    high = (e > 0) & ((v >> np.maximum(e - 1, 0)) == 0)
    return np.where(high, e - 1, e)


def _tdiv(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64] | int) -> npt.NDArray[np.int64]:
    """C integer division (truncates toward zero), b > 0."""
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


def _pow2_f32(e: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """2^e as float32 (|e| <= 126, exact)."""
    return np.ldexp(np.float32(1.0), e.astype(np.int32)).astype(np.float32)


def isqrt16(v: npt.NDArray[np.int64], seed: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    """``vs_q31_sqrt``: sqrt of 0 <= v < 2^63 with 16 significant bits (seed table + two Newton steps)."""
    v = np.asarray(v, dtype=np.int64)
    nz = v > 0
    vv = np.where(nz, v, 1)
    sh = (64 - _bitlen(vv)) & ~1
    m = ((vv.astype(np.uint64) << sh.astype(np.uint64)) >> np.uint64(32)).astype(np.int64)
    y = seed.astype(np.int64)[m >> (32 - SQRT_SEED_BITS)]
    y = (y + m // y) >> 1
    y = (y + m // y) >> 1
    e = 16 - sh // 2
    out = np.where(e >= 0, y << np.maximum(e, 0), y >> np.maximum(-e, 0))
    return np.where(nz, out, 0)


def log2_q24(acc: npt.NDArray[np.int64], t: Q31Tables) -> npt.NDArray[np.int64]:
    """``vs_q31_log2``: log2 of 0 < acc < 2^63 in Q24 (acc == 0 gives the floor; the caller floors anyway)."""
    acc = np.asarray(acc, dtype=np.int64)
    nz = acc > 0
    a = np.where(nz, acc, 1)
    e = _bitlen(a) - 1
    f = ((a.astype(np.uint64) << (63 - e).astype(np.uint64)) >> np.uint64(32)).astype(np.int64)
    u = f - (1 << 31)
    idx = u >> (31 - LOG2_TABLE_BITS)
    r = u & ((1 << (31 - LOG2_TABLE_BITS)) - 1)
    tab = t.log2_q30.astype(np.int64)
    lo = tab[idx]
    frac = lo + (((tab[idx + 1] - lo) * r) >> (31 - LOG2_TABLE_BITS))
    out = (e << LOG2_FRAC_BITS) + ((frac + (1 << 5)) >> 6)
    return np.where(nz, out, t.log_floor_q24)


def _cfft(buf: npt.NDArray[np.int32], half: int) -> npt.NDArray[np.int32]:
    try:
        import cmsisdsp
    except ImportError:  # pragma: no cover - cmsisdsp is a dependency of the q31 path
        raise ConfigError(
            "arithmetic='q31' needs the cmsisdsp package (CMSIS-DSP's arm_cfft_q31, the node's FFT): "
            "pip install cmsisdsp==1.10.3"
        ) from None
    inst = _cfft_instance(half)
    out = np.empty_like(buf)
    for i in range(buf.shape[0]):
        out[i] = cmsisdsp.arm_cfft_q31(inst, buf[i], 0, 1)
    return out


@lru_cache(maxsize=8)
def _cfft_instance(half: int) -> Any:
    import cmsisdsp

    inst = cmsisdsp.arm_cfft_instance_q31()
    if cmsisdsp.arm_cfft_init_q31(inst, half) != 0:
        raise ConfigError(f"arm_cfft_init_q31 refuses length {half}")
    return inst


def spectrum_q31(
    frames: npt.NDArray[np.float32], params: FeatureParams
) -> tuple[dict[str, npt.NDArray[np.int64]], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Block scaling, sums, window and q31 FFT of float32 frames.

    Returns
    -------
    sums : dict of int64 arrays, shape (F,)
        ``s`` (block shift), ``sum1``, ``hi``, ``lo``, ``mean`` (integer), ``t``, ``S2``, ``S3``, ``S4``
    re, im : int64, shape (F, N/2 + 1)
        ``X[k] * 2^s / (N/2)`` (what the node holds after the split).
    """
    t = q31_tables(params)
    n, half = params.frame_length, params.frame_length // 2
    log2n = n.bit_length() - 1
    x = np.ascontiguousarray(frames, dtype=np.float32)
    bits = x.view(np.uint32) & np.uint32(0x7FFFFFFF)
    amax = bits.max(axis=1).astype(np.int64)
    e = np.maximum((amax >> 23) - 127, MIN_EXP)
    s = (HEADROOM_BITS - 1) - e
    q = np.trunc(x.astype(np.float64) * np.ldexp(1.0, s.astype(np.int32))[:, None]).astype(np.int64)
    sum1 = q.sum(axis=1)
    hi, lo = q.max(axis=1), q.min(axis=1)
    sxw = (q * t.window_q15.astype(np.int64)).sum(axis=1)
    mean = (sum1 + (n >> 1)) >> log2n
    wmean = _tdiv(sxw, t.window_q15_sum) if params.remove_dc else np.zeros_like(sxw)
    dev = np.maximum(hi - mean, mean - lo)
    sh = np.maximum(_bitlen(dev) - STAT_BITS, 0)
    c = q - mean[:, None]
    cr = (c + ((np.int64(1) << sh) >> 1)[:, None]) >> sh[:, None]
    c2 = cr * cr
    sums = {
        "s": s,
        "sum1": sum1,
        "hi": hi,
        "lo": lo,
        "mean": mean,
        "t": sh,
        "S2": c2.sum(axis=1),
        "S3": (c2 * cr).sum(axis=1),
        "S4": ((c2 * c2) >> 4).sum(axis=1),
    }
    xw = ((q - wmean[:, None]) * t.window_q31.astype(np.int64)) >> 31
    z = _cfft(xw.astype(np.int32), half).astype(np.int64)
    zr = np.concatenate([z[:, 0::2], z[:, :1]], axis=1)  # Z[0..M], Z[M] = Z[0]
    zi = np.concatenate([z[:, 1::2], z[:, 1:2]], axis=1)
    br, bi = zr[:, ::-1], -zi[:, ::-1]  # conj Z[M - k]
    er, ei = zr + br, zi + bi
    orr, oi = zr - br, zi - bi
    cs, sn = t.cos_q31.astype(np.int64), t.sin_q31.astype(np.int64)
    # (-i W^k) O with W^k = cos - i sin: real -sin*Or + cos*Oi, imag -cos*Or - sin*Oi
    rot_r = (oi * cs - orr * sn) >> 31
    rot_i = (-(orr * cs) - oi * sn) >> 31
    re = (er + rot_r) >> 1
    im = (ei + rot_i) >> 1
    return sums, re, im


def features_q31(frames: npt.ArrayLike, *, params: FeatureParams) -> npt.NDArray[np.float32]:
    """Feature vectors of float32 frames through the fixed-point path (what ``vs_features_q31.c`` outputs).

    Parameters
    ----------
    frames : array_like, shape (n_frames, frame_length)
        Samples in ``params.accel_unit`` (float32; NaN/inf give a row of NaN, as on the node).
    params : FeatureParams
        Groups limited to :data:`Q31_GROUPS`.

    Returns
    -------
    ndarray of float32, shape (n_frames, params.n_features)
    """
    t = q31_tables(params)
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    log2m = (params.frame_length // 2).bit_length() - 1
    bad = np.asarray(~np.isfinite(x).all(axis=1), dtype=bool)
    x = np.where(bad[:, None], np.float32(0.0), x)
    sums, re, im = spectrum_q31(x, params)
    s = sums["s"]
    pw = re * re + im * im
    out = np.empty((x.shape[0], params.n_features), dtype=np.float32)
    col = 0
    if "logmel" in params.features:
        mag = isqrt16(pw, t.sqrt_seed)
        acc = mag @ t.mel_q15
        l2 = log2_q24(acc, t) + ((log2m - 15 - s) << LOG2_FRAC_BITS)[:, None]
        l2 = np.maximum(l2, t.log_floor_q24)
        out[:, : params.n_mels] = l2.astype(np.float32) * LN2_Q24
        col += params.n_mels
    if "stats" in params.features:
        out[:, col : col + 7] = _stats_q31(sums, params)
        col += 7
    if "velocity_rms" in params.features:
        out[:, col] = _velocity_q31(pw, s, t, log2m)
        col += 1
    out[bad] = np.nan
    return out


def _stats_q31(sums: dict[str, npt.NDArray[np.int64]], params: FeatureParams) -> npt.NDArray[np.float32]:
    f32 = np.float32
    n = params.frame_length
    log2n = n.bit_length() - 1
    s, mean_i, hi, lo = sums["s"], sums["mean"], sums["hi"], sums["lo"]
    p2s = _pow2_f32(-s)
    mean = sums["sum1"].astype(f32) * _pow2_f32(-(s + log2n))
    nf = f32(n)
    m2 = sums["S2"].astype(f32) / nf
    m3 = sums["S3"].astype(f32) / nf
    m4 = sums["S4"].astype(f32) * f32(16.0) / nf
    unit = _pow2_f32(sums["t"] - s)
    sd = np.sqrt(m2) * unit
    if params.remove_dc:
        rms = sd
        peak = np.maximum(hi - mean_i, mean_i - lo).astype(f32) * p2s
    else:
        rms = np.sqrt(sd * sd + mean * mean)
        peak = np.maximum(hi, -lo).astype(f32) * p2s
    out = np.empty((s.shape[0], 7), dtype=f32)
    out[:, 0] = mean
    out[:, 1] = rms
    out[:, 2] = peak
    out[:, 3] = (hi - lo).astype(f32) * p2s
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, 4] = np.where(rms > 0, peak / rms, f32(0.0))
        out[:, 5] = np.where(m2 > 0, m3 / (m2 * np.sqrt(m2)), f32(0.0))
        out[:, 6] = np.where(m2 > 0, m4 / (m2 * m2), f32(0.0))
    return out


def _velocity_q31(
    pw: npt.NDArray[np.int64], s: npt.NDArray[np.int64], t: Q31Tables, log2m: int
) -> npt.NDArray[np.float32]:
    k0, k1 = t.vel_k0, t.vel_k1
    nb = pw.shape[1]
    if k1 <= k0:
        return np.zeros(pw.shape[0], dtype=np.float32)
    lo, hi = max(k0 - 1, 0), min(k1 + 1, nb)
    band = pw[:, lo:hi]
    u = np.maximum(_bitlen(band.max(axis=1)) - 31, 0)
    p = band >> u[:, None]
    pad = np.zeros((pw.shape[0], k1 - k0 + 2), dtype=np.int64)
    pad[:, lo - (k0 - 1) : lo - (k0 - 1) + (hi - lo)] = p
    pm, pk, pp = pad[:, :-2], pad[:, 1:-1], pad[:, 2:]
    den = np.maximum(pm + pk + pp, 1)
    d16 = _tdiv((pp - pm) << 16, den)
    g = (np.arange(k0, k1, dtype=np.int64) << 16)[None, :] + d16
    g2 = np.maximum(g * g, 1)
    term = np.where(pk > 0, (pk << 32) // g2, 0)
    acc = term @ t.vel_q16.astype(np.int64)
    e = u + 2 * log2m - 2 * s - 16
    half_e = e >> 1
    v = np.sqrt(acc.astype(np.float32) * t.vel_max * _pow2_f32(e - 2 * half_e)) * _pow2_f32(half_e)
    return v.astype(np.float32)


__all__ = ["Q31_GROUPS", "Q31Tables", "features_q31", "q31_tables", "spectrum_q31"]
