"""The firmware_core build's supply chain and generator: pinned CMSIS-DSP sdist, vs_feature_config.h."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.cbuild import FIRMWARE, ROOT, make, require_tools
from vibsentry.dsp import FeatureParams

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
