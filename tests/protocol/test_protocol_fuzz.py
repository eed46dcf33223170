"""libFuzzer run of the C protocol decoder (ASan + UBSan) from the committed seed corpus.

Deterministic and bounded: a fixed seed and a fixed number of runs (not wall time), and ASan's quarantine held
to 16 MB. With ASan's default 256 MB quarantine the fuzzer's RSS grew past 450 MB in 600k runs (measured:
452 MB, `/usr/bin/time -v`), and a busy machine pushed it to libFuzzer's OOM limit (issue K finding 10); with
16 MB it stays at about 75 MB, well below the 512 MB limit set here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.fuzzing import runs_done
from tests.support.protocol import FW, build_fuzzer

CORPUS = FW / "fuzz" / "corpus"
SEED = 1
RUNS = 300_000  # about 25 s at the ~12k execs/s measured on the 2-core CI machine


def test_seed_corpus_is_small_and_present() -> None:
    files = list(CORPUS.iterdir())
    assert len(files) >= 20
    assert sum(f.stat().st_size for f in files) < 1_000_000


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("clang-14") is None and shutil.which("clang") is None,
    reason="clang not installed (dev.sh installs clang + libclang-rt-14-dev)",
)
def test_fuzz_decoder_fixed_runs_without_crash(tmp_path: Path) -> None:
    exe = build_fuzzer()
    assert exe is not None
    env = {**os.environ, "ASAN_OPTIONS": "quarantine_size_mb=16:" + os.environ.get("ASAN_OPTIONS", "")}
    # New inputs go to the temporary first corpus dir; the committed corpus is only read.
    proc = subprocess.run(
        [str(exe), f"-seed={SEED}", f"-runs={RUNS}", "-max_len=4096", "-timeout=10", "-rss_limit_mb=4096", "-malloc_limit_mb=256",
         f"-artifact_prefix={tmp_path}/", str(tmp_path), str(CORPUS)],
        capture_output=True, text=True, timeout=600, check=False, env=env,
    )  # fmt: skip
    tail = proc.stderr[-3000:]
    assert proc.returncode == 0, tail
    assert runs_done(tail) >= RUNS and not list(tmp_path.glob("crash-*")), tail  # tests.support.fuzzing
