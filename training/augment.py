"""Training-data augmentation: gain, speed, noise and resonance shift on the raw signal (``[train.augment]``).

The node sees machines the model never saw: another sensor sensitivity (gain), another shaft speed (every
frequency scales), another noise floor, another structure (its resonances sit elsewhere while the fault's
impulse rate does not move). Each augmented copy of a training recording draws one value of each from the
configured ranges, the copy's features are computed with the node's own feature code, and only frames that
come from the training part of the recording are added. Validation and test windows are never augmented, so
model selection, calibration and the reported metrics stay on real data. Measured effect: see
``docs/generalisation.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.dsp.params import FeatureParams
from vibsentry.errors import ConfigError
from vibsentry.training.dataset import Windows
from vibsentry.training.manifest import ManifestRow, load_signal

F32 = npt.NDArray[np.float32]

#: Largest speed change: beyond it, the resampling filter's rational approximation and the meaning of
#: "the same machine at another speed" both stop holding.
MAX_SPEED = 0.5
#: Denominator bound of the rational resampling factor; the realised factor is within ~1e-4 of the drawn one.
SPEED_DENOMINATOR = 200


@dataclass(frozen=True)
class AugmentConfig:
    """``[train.augment]`` table of a training TOML. Off by default (``copies = 0``).

    Parameters
    ----------
    copies : int
        Augmented copies of every training recording (0 = off). Each copy draws its own gain, speed, noise
        and resonance shift.
    gain_db : float
        Gain drawn uniformly in ``[-gain_db, +gain_db]`` dB (sensor sensitivity, mounting).
    speed : float
        Speed factor drawn uniformly in ``[1 - speed, 1 + speed]`` (e.g. 0.05 for +-5 %); every frequency
        scales by the factor and the recording gets shorter or longer (polyphase resampling).
    noise : float
        White Gaussian noise with an RMS drawn uniformly in ``[0, noise]`` times the recording's RMS.
    resonance_shift_hz : float
        Every component above ``2 * resonance_shift_hz`` moves by a shift drawn uniformly in
        ``[-resonance_shift_hz, +resonance_shift_hz]`` Hz (a single-sideband shift, so an impulse train
        ringing a resonance keeps its repetition rate while the resonance moves); lower components (shaft
        harmonics) stay.
    seed : int or None
        Seed of the draws; None (omitted) uses ``[train] seed``.
    """

    copies: int = 0
    gain_db: float = 0.0
    speed: float = 0.0
    noise: float = 0.0
    resonance_shift_hz: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        v = self.copies
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 32:
            raise ConfigError(f"[train.augment] copies={v!r}: must be an integer from 0 (off) to 32")
        limits = {"gain_db": 40.0, "speed": MAX_SPEED, "noise": 10.0, "resonance_shift_hz": 1e6}
        for name, hi in limits.items():
            v = getattr(self, name)
            ok = not isinstance(v, bool) and isinstance(v, (int, float)) and np.isfinite(v) and 0 <= v
            if not ok or v > hi or (name == "speed" and v >= hi):
                bound = f"< {hi}" if name == "speed" else f"<= {hi:g}"
                raise ConfigError(f"[train.augment] {name}={v!r}: must be a number >= 0 and {bound}")
            object.__setattr__(self, name, float(v))
        s = self.seed
        if s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 0):
            raise ConfigError(f"[train.augment] seed={s!r}: must be a non-negative integer")

    @property
    def enabled(self) -> bool:
        """True when copies are made."""
        return self.copies > 0

    @classmethod
    def from_value(cls, d: Any) -> AugmentConfig:
        """Build from the ``[train.augment]`` table (an AugmentConfig passes through); unknown keys are an error."""
        if isinstance(d, AugmentConfig):
            return d
        if not isinstance(d, dict):
            raise ConfigError(f"[train.augment] must be a table, got {d!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        for k in d:
            if k not in known:
                raise ConfigError(f"[train.augment]: unknown key {k!r}; known: {sorted(known)}")
        return cls(**d)


@dataclass(frozen=True)
class Draw:
    """The values one augmented copy used (``speed`` is the realised factor, not the drawn one)."""

    gain: float
    speed: float
    noise_rms: float
    shift_hz: float


def change_speed(x: npt.ArrayLike, factor: float) -> tuple[F32, float]:
    """The recording as if the machine ran ``factor`` times faster: frequencies times ``factor``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples at the feature rate.
    factor : float
        Speed factor (> 0), e.g. 1.05.

    Returns
    -------
    y : ndarray, float32, shape (about n / factor,)
    realised : float
        The factor actually applied (a ratio of integers with denominator <= :data:`SPEED_DENOMINATOR`).
    """
    from scipy.signal import resample_poly

    x = np.asarray(x, dtype=np.float32)
    r = Fraction(1.0 / factor).limit_denominator(SPEED_DENOMINATOR)
    if r == 1:
        return x.copy(), 1.0
    y = resample_poly(x.astype(np.float64), r.numerator, r.denominator)
    return y.astype(np.float32), float(r.denominator / r.numerator)


def shift_resonance(x: npt.ArrayLike, shift_hz: float, fs: float) -> F32:
    """Move every component above ``2 * |shift_hz|`` by ``shift_hz`` Hz (single sideband); lower ones stay.

    Parameters
    ----------
    x : array_like, shape (n,)
    shift_hz : float
        Shift in Hz (either sign), rounded to the recording's frequency resolution ``fs / n``.
    fs : float
        Sample rate in Hz.

    Returns
    -------
    ndarray, float32, shape (n,)
    """
    x = np.asarray(x, dtype=np.float32)
    n = x.size
    d = round(shift_hz * n / fs)
    if d == 0 or n < 4:
        return x.copy()
    X = np.fft.rfft(x.astype(np.float64))
    kc = min(X.size, int(np.ceil(2 * abs(shift_hz) * n / fs)))
    Y = X.copy()
    Y[kc:] = 0
    src = np.arange(kc, X.size)
    dst = src + d
    keep = (dst >= kc) & (dst < X.size)
    np.add.at(Y, dst[keep], X[src[keep]])
    return np.fft.irfft(Y, n).astype(np.float32)


def augment_signal(
    x: npt.ArrayLike, fs: float, cfg: AugmentConfig, rng: np.random.Generator
) -> tuple[F32, Draw]:
    """One augmented copy of ``x`` (float32 in, float32 out).

    The order is the physical one: the structure (resonance) and speed belong to the machine, gain to the
    sensor, noise to the measurement chain. Length changes only with ``speed``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples at ``fs`` Hz.
    fs : float
    cfg : AugmentConfig
    rng : numpy.random.Generator
        Source of the draws (four uniforms are always drawn, so the stream does not depend on which
        augmentations are on).

    Returns
    -------
    y : ndarray, float32
    draw : Draw
    """
    u = rng.uniform(-1.0, 1.0, size=4)
    y = np.asarray(x, dtype=np.float32)
    shift = float(u[0] * cfg.resonance_shift_hz)
    if cfg.resonance_shift_hz and 2 * cfg.resonance_shift_hz >= fs / 2:
        raise ConfigError(
            f"[train.augment] resonance_shift_hz={cfg.resonance_shift_hz:g}: must be below a quarter of the "
            f"sample rate ({fs / 4:g} Hz)"
        )
    y = shift_resonance(y, shift, fs) if shift else y
    speed = 1.0
    if cfg.speed:
        y, speed = change_speed(y, 1.0 + float(u[1]) * cfg.speed)
    gain = float(10 ** (u[2] * cfg.gain_db / 20))
    y = (y * np.float32(gain)).astype(np.float32)
    noise_rms = 0.0
    if cfg.noise:
        noise_rms = float((u[3] + 1) / 2 * cfg.noise * np.sqrt(np.mean(np.square(y, dtype=np.float64))))
        y = (y + rng.normal(0.0, 1.0, y.size).astype(np.float32) * np.float32(noise_rms)).astype(np.float32)
    return y, Draw(gain, speed, noise_rms, shift)


def augment_windows(
    w: Windows,
    rows: Sequence[ManifestRow],
    params: FeatureParams,
    cfg: AugmentConfig,
    *,
    seed: int,
    allow_resample: bool = True,
) -> tuple[Windows, dict[str, Any]]:
    """Add augmented training windows to ``w`` (val and test untouched).

    For every row with training frames, ``cfg.copies`` copies of its signal are augmented and their
    features computed; a copy's frame is kept when the samples it maps back to lie inside the row's
    training frames, so no augmented window carries val or test samples.

    Parameters
    ----------
    w : Windows
        From :func:`vibsentry.training.dataset.build_windows` on ``rows``.
    rows : sequence of ManifestRow
    params : FeatureParams
    cfg : AugmentConfig
    seed : int
        Used when ``cfg.seed`` is None.
    allow_resample : bool

    Returns
    -------
    windows : Windows
        ``w`` followed by the augmented windows (split ``"train"``, the source row's label, group, load).
    summary : dict
        ``{"copies", "windows_added", "config"}`` for the bundle metadata.
    """
    from vibsentry.dsp.features import extract_features

    summary: dict[str, Any] = {"copies": cfg.copies, "windows_added": 0, "config": dataclasses.asdict(cfg)}
    if not cfg.enabled:
        return w, summary
    base_seed = cfg.seed if cfg.seed is not None else seed
    L, hop, fs = params.frame_length, params.hop_length, params.sample_rate
    extra: list[Windows] = []
    for i, r in enumerate(rows):
        frames = w.frame[(w.row == i) & (w.split == "train")]
        if frames.size == 0:
            continue
        a, b = int(frames.min()) * hop, int(frames.max()) * hop + L
        x = load_signal(r, target_sr=fs, allow_resample=allow_resample)
        src = w.select(w.row == i)
        for c in range(cfg.copies):
            y, d = augment_signal(x, fs, cfg, np.random.default_rng([base_seed, i, c]))
            if y.size < L:
                continue
            X = extract_features(y, params=params)
            start = np.arange(X.shape[0]) * hop
            # Sample t of the copy holds original sample t * speed.
            keep = (start * d.speed >= a) & ((start + L) * d.speed <= b)
            if not keep.any():
                continue
            k = int(keep.sum())
            extra.append(
                Windows(
                    X=X[keep].astype(np.float32, copy=False),
                    label=np.repeat(src.label[:1], k),
                    group=np.repeat(src.group[:1], k),
                    split=np.full(k, "train", dtype=w.split.dtype),
                    row=np.full(k, i, dtype=np.int64),
                    frame=np.flatnonzero(keep).astype(np.int64),
                    load=np.repeat(src.load[:1], k),
                )
            )
    if not extra:
        return w, summary
    fields = ("X", "label", "group", "split", "row", "frame", "load")
    out = Windows(*(np.concatenate([getattr(p, f) for p in (w, *extra)]) for f in fields))
    summary["windows_added"] = len(out) - len(w)
    return out, summary


__all__ = ["AugmentConfig", "Draw", "augment_signal", "augment_windows", "change_speed", "shift_resonance"]
