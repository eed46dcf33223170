"""FeatureParams: the feature contract shared by Python, the C firmware and the model bundle.

Normative description: ``docs/features.md``. The canonical JSON of a FeatureParams (sorted keys, no spaces,
every field explicit) hashes to ``feature_hash`` (SHA-256, lower-case hex). A node reports that hash and the
gateway refuses scores whose hash differs from the deployed bundle's.

``arithmetic = "q31"`` selects the fixed-point path for cores without an FPU (``vibsentry.dsp.fixed``); the
default ``"f32"`` is left out of the canonical JSON, so every hash made before the field existed is unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vibsentry.errors import ConfigError

#: Version of the feature contract. Bump when a feature's definition changes (the hash changes with it).
CONTRACT = "vibsentry.features/1"

#: Feature groups, in the order they appear in the feature vector whatever order the config lists them.
FEATURE_GROUPS: tuple[str, ...] = ("logmel", "mfcc", "band_rms", "stats", "spectral_shape", "velocity_rms")

#: Names of the time-domain statistics, in vector order.
STAT_NAMES: tuple[str, ...] = ("mean", "rms", "peak", "peak_to_peak", "crest_factor", "skewness", "kurtosis")

#: Windows supported on both sides (C tables are generated from the same definition).
WINDOWS: tuple[str, ...] = ("hann", "hamming", "rect")

#: Units the accelerometer signal may be declared in.
ACCEL_UNITS: dict[str, float] = {"g": 9.80665, "m/s2": 1.0}

#: Frame lengths ``arm_rfft_fast_f32`` supports.
FRAME_LENGTHS: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048, 4096)

#: Feature arithmetic: CMSIS-DSP float32, or the fixed-point path (docs/features.md, "Fixed point").
ARITHMETICS: tuple[str, ...] = ("f32", "q31")
#: Feature groups the q31 path computes (band_rms, mfcc and spectral_shape have no fixed-point version yet).
Q31_GROUPS: tuple[str, ...] = ("logmel", "stats", "velocity_rms")

#: Added to mel energies before the natural log, as ``arm_mfcc_f32`` does.
LOG_OFFSET = 1.0e-6


def _fail(name: str, value: Any, why: str) -> ConfigError:
    return ConfigError(f"feature parameter {name}={value!r}: {why}")


@dataclass(frozen=True)
class FeatureParams:
    """How a frame of accelerometer samples becomes a feature vector.

    Parameters
    ----------
    sample_rate : float
        Sampling rate in Hz (> 0).
    frame_length : int
        Samples per frame; a power of two in 32..4096 (the sizes ``arm_rfft_fast_f32`` supports).
    hop_length : int
        Samples between frame starts (1..frame_length for overlap, larger to skip samples).
    window : str
        ``"hann"`` (periodic), ``"hamming"`` (periodic) or ``"rect"``.
    remove_dc : bool
        Subtract the frame mean before windowing (accelerometers carry gravity and bias offsets).
    accel_unit : str
        Unit of the input samples, ``"g"`` or ``"m/s2"``; used by ``velocity_rms``.
    features : tuple of str
        Feature groups to compute; the vector always follows :data:`FEATURE_GROUPS` order.
    n_mels, fmin, fmax : int, float, float
        Mel filterbank (``cmsisdsp.mfcc.melFilterMatrix`` construction). ``fmax`` defaults to Nyquist.
    n_mfcc : int
        DCT-II outputs for ``mfcc`` (``<= n_mels``).
    n_bands : int
        Equal-width linear bands between ``fmin`` and ``fmax`` for ``band_rms``.
    velocity_band : tuple of float
        Band in Hz for the velocity RMS (ISO 10816/20816 uses 10-1000 Hz).
    normalisation : str
        ``"zscore"``: the model input is ``(x - mean) / std`` with per-feature statistics stored in the
        bundle; ``"none"``: raw features go to the model.
    arithmetic : str
        ``"f32"`` (CMSIS-DSP float32, the reference) or ``"q31"`` (integer pipeline for cores without an FPU:
        q31 FFT, fixed-point magnitude, mel and log2; ``vibsentry.dsp.fixed``). Part of the feature_hash
        when ``"q31"``; ``"f32"`` is omitted from the canonical JSON (older bundles hash the same).
    """

    sample_rate: float = 12000.0
    frame_length: int = 1024
    hop_length: int = 1024
    window: str = "hann"
    remove_dc: bool = True
    accel_unit: str = "g"
    features: tuple[str, ...] = ("logmel", "stats", "velocity_rms")
    n_mels: int = 32
    fmin: float = 0.0
    fmax: float | None = None
    n_mfcc: int = 13
    n_bands: int = 8
    velocity_band: tuple[float, float] = (10.0, 1000.0)
    normalisation: str = "zscore"
    arithmetic: str = "f32"
    contract: str = field(default=CONTRACT)

    def __post_init__(self) -> None:
        # Coerce TOML/JSON-friendly types first (lists -> tuples, ints -> floats) so equal configs hash equal.
        set_ = object.__setattr__
        for name in ("sample_rate", "fmin"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _fail(name, v, "must be a number")
            set_(self, name, float(v))
        for name in ("frame_length", "hop_length", "n_mels", "n_mfcc", "n_bands"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise _fail(name, v, "must be an integer")
        if not isinstance(self.remove_dc, bool):
            raise _fail("remove_dc", self.remove_dc, "must be true or false")
        if isinstance(self.features, str) or not isinstance(self.features, (list, tuple)):
            raise _fail(
                "features", self.features, f"must be a list of feature groups from {list(FEATURE_GROUPS)}"
            )
        unknown = [f for f in self.features if f not in FEATURE_GROUPS]
        if unknown:
            raise _fail("features", unknown[0], f"unknown feature group; choose from {list(FEATURE_GROUPS)}")
        if not self.features:
            raise _fail("features", [], "at least one feature group is needed")
        set_(self, "features", tuple(g for g in FEATURE_GROUPS if g in self.features))
        vb = self.velocity_band
        if (
            not isinstance(vb, (list, tuple))
            or len(vb) != 2
            or not all(isinstance(x, (int, float)) for x in vb)
        ):
            raise _fail("velocity_band", vb, "must be two frequencies [low, high] in Hz")
        set_(self, "velocity_band", (float(vb[0]), float(vb[1])))

        fs = self.sample_rate
        if not math.isfinite(fs) or fs <= 0:
            raise _fail("sample_rate", fs, "must be a positive number of Hz")
        if self.frame_length not in FRAME_LENGTHS:
            raise _fail("frame_length", self.frame_length, f"must be a power of two in {list(FRAME_LENGTHS)}")
        if not 1 <= self.hop_length <= 1 << 20:
            raise _fail("hop_length", self.hop_length, "must be between 1 and 1048576 samples")
        if self.window not in WINDOWS:
            raise _fail("window", self.window, f"choose from {list(WINDOWS)}")
        if self.accel_unit not in ACCEL_UNITS:
            raise _fail("accel_unit", self.accel_unit, f"choose from {list(ACCEL_UNITS)}")
        if self.arithmetic not in ARITHMETICS:
            raise _fail("arithmetic", self.arithmetic, f"choose from {list(ARITHMETICS)}")
        no_q31 = [g for g in self.features if g not in Q31_GROUPS]
        if self.arithmetic == "q31" and no_q31:
            raise _fail(
                "features",
                no_q31[0],
                f"has no fixed-point version; arithmetic='q31' computes {list(Q31_GROUPS)}",
            )
        if self.normalisation not in ("zscore", "none"):
            raise _fail("normalisation", self.normalisation, "choose from ['zscore', 'none']")
        nyq = fs / 2.0
        fmax = nyq if self.fmax is None else self.fmax
        if isinstance(fmax, bool) or not isinstance(fmax, (int, float)):
            raise _fail("fmax", fmax, "must be a number")
        set_(self, "fmax", float(fmax))
        if not 0.0 <= self.fmin < float(fmax) <= nyq:
            raise _fail("fmin/fmax", (self.fmin, fmax), f"need 0 <= fmin < fmax <= Nyquist ({nyq:g} Hz)")
        n_bins = self.frame_length // 2 + 1
        if not 1 <= self.n_mels <= n_bins - 2:
            raise _fail(
                "n_mels",
                self.n_mels,
                f"must be between 1 and {n_bins - 2} for frame_length {self.frame_length}",
            )
        if not 1 <= self.n_mfcc <= self.n_mels:
            raise _fail("n_mfcc", self.n_mfcc, f"must be between 1 and n_mels ({self.n_mels})")
        if not 1 <= self.n_bands <= n_bins - 1:
            raise _fail("n_bands", self.n_bands, f"must be between 1 and {n_bins - 1}")
        lo, hi = self.velocity_band
        if not 0.0 < lo < hi <= nyq:
            raise _fail(
                "velocity_band", list(self.velocity_band), f"need 0 < low < high <= Nyquist ({nyq:g} Hz)"
            )
        if "logmel" in self.features or "mfcc" in self.features:
            # Every mel filter must cover at least one FFT bin, or CMSIS's filter table is undefined.
            from vibsentry.dsp.mel import mel_filter_table

            mel_filter_table(self)
        if self.contract != CONTRACT:
            raise _fail("contract", self.contract, f"this vibsentry implements {CONTRACT!r}")

    # -- derived quantities -------------------------------------------------------------------------------
    @property
    def frame_rate(self) -> float:
        """Frames per second of a continuously analysed stream (``sample_rate / hop_length``)."""
        return self.sample_rate / self.hop_length

    @property
    def n_bins(self) -> int:
        """One-sided spectrum bins (``frame_length // 2 + 1``)."""
        return self.frame_length // 2 + 1

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Name of each column of the feature matrix, in order."""
        names: list[str] = []
        for g in self.features:
            if g == "logmel":
                names += [f"logmel_{i:02d}" for i in range(self.n_mels)]
            elif g == "mfcc":
                names += [f"mfcc_{i:02d}" for i in range(self.n_mfcc)]
            elif g == "band_rms":
                names += [f"band_rms_{i:02d}" for i in range(self.n_bands)]
            elif g == "stats":
                names += list(STAT_NAMES)
            elif g == "spectral_shape":
                names += ["spectral_centroid_hz", "spectral_spread_hz"]
            elif g == "velocity_rms":
                names += ["velocity_rms_mm_s"]
        return tuple(names)

    @property
    def n_features(self) -> int:
        """Length of the feature vector."""
        return len(self.feature_names)

    # -- serialisation -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (tuples as lists); ``arithmetic`` only when it is not the default ``"f32"``."""
        d = dataclasses.asdict(self)
        if d["arithmetic"] == "f32":
            del d["arithmetic"]
        d["features"] = list(self.features)
        d["velocity_band"] = list(self.velocity_band)
        return d

    def canonical_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace, floats in Python ``repr`` form. Input of the hash."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @property
    def feature_hash(self) -> str:
        """SHA-256 (lower-case hex, 64 characters) of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "feature parameters") -> FeatureParams:
        """Build from a mapping (TOML ``[features]`` table, bundle JSON); unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"{source}: unknown feature parameter {key!r}; known: {sorted(known)}")
        kwargs = dict(data)
        for key in ("features", "velocity_band"):
            if isinstance(kwargs.get(key), list):
                kwargs[key] = tuple(kwargs[key])
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> FeatureParams:
        """Load the ``[features]`` table of a TOML file (``VIBSENTRY_FEATURES_*`` variables override it)."""
        from vibsentry.config import load_section

        return cls.from_dict(load_section("features", path), source=os.fspath(path))

    def replace(self, **changes: Any) -> FeatureParams:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
