"""The firmware_core build's supply chain and generator: pinned CMSIS-DSP sdist, vs_feature_config.h (its half
window tables included)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support.cbuild import FIRMWARE, ROOT, make, require_tools
from vibsentry.codegen import feature_config
from vibsentry.codegen.feature_config import render_feature_config
from vibsentry.dsp import FeatureParams
from vibsentry.dsp.features import FeatureTables, feature_tables
from vibsentry.dsp.fixed import q31_tables
from vibsentry.errors import ExportError

TARBALL = ROOT / "build" / "cmsis-sdist" / "cmsisdsp-1.10.3.tar.gz"


def test_tampered_cmsis_sdist_is_refused_and_removed(tmp_path: Path) -> None:
    require_tools("make")
    make("lib")  # makes sure the pinned tarball has been fetched once
    cache = tmp_path / "cache"
    cache.mkdir()
    bad = cache / TARBALL.name
    data = bytearray(TARBALL.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    proc = subprocess.run(
        [
            "make",
            "-C",
            str(FIRMWARE),
            "cmsis",
            f"BUILD={tmp_path / 'b'}",
            f"CMSIS_CACHE={cache}",
            f"PYTHON={sys.executable}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "sha256 mismatch" in proc.stdout + proc.stderr
    assert not bad.exists()  # the next build downloads it again instead of trusting it
    assert not (tmp_path / "b" / "cmsis").exists() or not any((tmp_path / "b" / "cmsis").iterdir())


def test_generator_cli_writes_the_header_atomically(tmp_path: Path) -> None:
    toml = tmp_path / "node.toml"
    toml.write_text('[features]\nframe_length = 512\nfeatures = ["logmel", "band_rms"]\nn_mels = 20\n')
    out = tmp_path / "gen" / "vs" / "vs_feature_config.h"
    proc = subprocess.run(
        [sys.executable, "-m", "vibsentry.codegen.feature_config", "--config", str(toml), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    p = FeatureParams.from_toml(toml)
    assert f'#define VS_FEATURE_HASH_HEX "{p.feature_hash}"' in text
    assert "#define VS_FEAT_FRAME_LENGTH 512\n" in text and "arm_rfft_fast_init_512_f32" in text
    assert f"#define VS_FEAT_N_FEATURES {p.n_features}\n" in text
    assert [f.name for f in out.parent.iterdir()] == ["vs_feature_config.h"]  # no temp file left


def test_generator_cli_rejects_a_bad_config_without_writing(tmp_path: Path) -> None:
    toml = tmp_path / "bad.toml"
    toml.write_text("[features]\nframe_length = 1000\n")
    out = tmp_path / "vs_feature_config.h"
    proc = subprocess.run(
        [sys.executable, "-m", "vibsentry.codegen.feature_config", "--config", str(toml), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "frame_length=1000" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_generated_header_compiles_standalone(tmp_path: Path) -> None:
    # Files other than vs_features.c include the header for its macros only (no tables, no warnings).
    require_tools("gcc")
    hdr = make("lib").feature_config
    src = tmp_path / "use.c"
    src.write_text(
        '#include "vs/vs_feature_config.h"\nint vs_n(void);\nint vs_n(void) { return VS_FEAT_N_FEATURES; }\n'
    )
    gcc = shutil.which("gcc")
    assert gcc is not None
    subprocess.run(
        [
            gcc,
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-c",
            str(src),
            "-o",
            str(tmp_path / "u.o"),
            f"-I{hdr.parent.parent}",
        ],
        check=True,
    )


def _header_array(text: str, ctype: str, name: str) -> list[str]:
    m = re.search(rf"static const {ctype} {name}\[(\d+)\] = \{{(.*?)\}};", text, re.S)
    assert m is not None, name
    vals = [v.strip() for v in m.group(2).split(",")]
    assert len(vals) == int(m.group(1))
    return vals


@pytest.mark.parametrize("window", ["hann", "hamming", "rect"])
@pytest.mark.parametrize("n", [32, 1024, 4096])
def test_header_window_tables_hold_the_first_half_and_rebuild_the_window_bit_for_bit(
    window: str, n: int
) -> None:
    # The C code reads w[i] for i > N/2 as table[N - i]; that mirror of the stored half must give back every bit
    # of the reference window, float32 and Q31.
    p = FeatureParams(
        frame_length=n,
        hop_length=n,
        window=window,
        n_mels=8,
        n_mfcc=4,
        arithmetic="q31",
        features=("logmel",),
    )
    text = render_feature_config(p)
    half = np.array(
        [float(v.rstrip("f")) for v in _header_array(text, "float", "vs_feat_window")], np.float32
    )
    q_vals = _header_array(text, "int32_t", "vs_q31_window")
    q_half = np.array([-(2**31) if v == "(-2147483647 - 1)" else int(v) for v in q_vals], np.int64)
    assert len(half) == len(q_half) == n // 2 + 1
    i = np.arange(n)
    mirror = np.where(i <= n // 2, i, n - i)
    ref = feature_tables(p).window
    assert np.array_equal(half[mirror].view(np.uint32), ref.view(np.uint32))
    assert np.array_equal(q_half[mirror], q31_tables(p).window_q31.astype(np.int64))


def test_generator_refuses_a_window_that_is_not_symmetric_bit_for_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One ulp off in one coefficient: the half table could not reproduce it, so generation must fail, not write.
    real = feature_config.feature_tables

    def skewed(params: FeatureParams) -> FeatureTables:
        t = real(params)
        w = t.window.copy()
        w[3] = np.nextafter(w[3], np.float32(1.0))
        return dataclasses.replace(t, window=w)

    monkeypatch.setattr(feature_config, "feature_tables", skewed)
    with pytest.raises(ExportError, match=r"w\[3\] = .* != w\[1021\]"):
        render_feature_config(FeatureParams())
    out = tmp_path / "vs_feature_config.h"
    assert feature_config.main(["--out", str(out)]) == 1
    assert not out.exists()
