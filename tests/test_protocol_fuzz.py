"""libFuzzer run of the C protocol decoder (60 s, ASan + UBSan) from the committed seed corpus."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.protocol import FW, build_fuzzer

CORPUS = FW / "fuzz" / "corpus"


def test_seed_corpus_is_small_and_present() -> None:
    files = list(CORPUS.iterdir())
    assert len(files) >= 20
    assert sum(f.stat().st_size for f in files) < 1_000_000


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("clang-14") is None and shutil.which("clang") is None,
    reason="clang not installed (dev.sh installs clang + libclang-rt-14-dev)",
)
def test_fuzz_decoder_60s_without_crash(tmp_path: Path) -> None:
    exe = build_fuzzer()
    assert exe is not None
    # New inputs go to the temporary first corpus dir; the committed corpus is only read.
    proc = subprocess.run(
        [str(exe), "-max_total_time=60", "-max_len=4096", "-timeout=10", "-rss_limit_mb=1024",
         f"-artifact_prefix={tmp_path}/", str(tmp_path), str(CORPUS)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    tail = proc.stderr[-3000:]
    assert proc.returncode == 0, tail
    assert "Done" in tail and not list(tmp_path.glob("crash-*")), tail
