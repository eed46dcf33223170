"""FeatureParams: validation, canonical JSON, hash stability, TOML and environment loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vibsentry.dsp import FeatureParams
from vibsentry.errors import ConfigError, FileFormatError

# Pinned: a change here means every deployed bundle and node config changes. Update docs/features.md with it.
DEFAULT_HASH = "275c8cb501636838ef94d2c28853ac2fcc230955c323b9881b4772301c2d7ab4"


def test_default_hash_is_pinned_and_documented(repo_root: Path) -> None:
    p = FeatureParams()
    assert p.feature_hash == DEFAULT_HASH
    assert DEFAULT_HASH in (repo_root / "docs" / "features.md").read_text()
    assert p.n_features == 40  # the 40-32-16-32-40 autoencoder's input


def test_canonical_json_is_sorted_compact_and_complete() -> None:
    p = FeatureParams()
    text = p.canonical_json()
    doc = json.loads(text)
    assert list(doc) == sorted(doc)
    assert " " not in text
    assert doc["fmax"] == 6000.0 and doc["contract"] == "vibsentry.features/1"
    assert FeatureParams.from_dict(doc) == p


def test_equivalent_configs_hash_equal_and_different_ones_differ() -> None:
    a = FeatureParams(
        sample_rate=12000, features=["stats", "logmel", "velocity_rms"], velocity_band=[10, 1000]
    )
    b = FeatureParams(fmax=6000.0)
    assert a.feature_hash == b.feature_hash
    assert FeatureParams(n_mels=31).feature_hash != b.feature_hash


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"sample_rate": 0}, "sample_rate=0.0"),
        ({"sample_rate": -5.0}, "sample_rate=-5.0"),
        ({"sample_rate": "fast"}, "sample_rate='fast'"),
        ({"frame_length": 1000}, "frame_length=1000: must be a power of two"),
        ({"frame_length": 8192}, "frame_length=8192"),
        ({"hop_length": 0}, "hop_length=0"),
        ({"window": "kaiser"}, "window='kaiser'"),
        ({"accel_unit": "mm/s"}, "accel_unit='mm/s'"),
        ({"features": ["logmel", "wavelets"]}, "features='wavelets'"),
        ({"features": []}, "at least one"),
        ({"n_mels": 600}, "n_mels=600"),
        ({"n_mfcc": 40}, "n_mfcc=40"),
        ({"fmax": 9000.0}, "Nyquist"),
        ({"velocity_band": [1000, 10]}, "velocity_band"),
        ({"normalisation": "minmax"}, "normalisation='minmax'"),
        ({"n_mels": 100, "frame_length": 256, "fmin": 0.0}, "covers no FFT bin"),
    ],
)
def test_invalid_values_raise_config_error_quoting_them(kwargs: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        FeatureParams(**kwargs)


def test_toml_loading_with_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "features.toml"
    cfg.write_text('[features]\nsample_rate = 25600\nframe_length = 2048\nfeatures = ["mfcc", "stats"]\n')
    p = FeatureParams.from_toml(cfg)
    assert (p.sample_rate, p.frame_length, p.features) == (25600.0, 2048, ("mfcc", "stats"))
    monkeypatch.setenv("VIBSENTRY_FEATURES_FRAME_LENGTH", "512")
    assert FeatureParams.from_toml(cfg).frame_length == 512


def test_bad_toml_files_name_the_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[features]\nsample_rate = 12000\nframe_length = = 3\n")
    with pytest.raises(FileFormatError, match=r"bad\.toml: invalid TOML.*line 3"):
        FeatureParams.from_toml(cfg)
    cfg.write_text("[features]\nframe_lenght = 1024\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: unknown feature parameter 'frame_lenght'"):
        FeatureParams.from_toml(cfg)
    with pytest.raises(FileFormatError, match=r"missing\.toml"):
        FeatureParams.from_toml(tmp_path / "missing.toml")
