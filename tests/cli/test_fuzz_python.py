"""Coverage-guided fuzzing of the Python readers (issue K, part 6): atheris (libFuzzer) on the wire-protocol
decoder, the bundle loader, the manifest reader and the recording readers (``tests/support/fuzz_targets.py``).

Each target starts from a seed corpus (the protocol vectors, a valid bundle.json, a manifest, one file of each
recording format) plus the inputs that once crashed (``tests/vectors/fuzz/<target>/``), runs a fixed number of
seeded iterations and must end without a crash: every input either parses or gives a ``VibsentryError``.
Longer runs: ``python tests/support/fuzz_targets.py TARGET -max_total_time=600 CORPUS``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fuzzing import runs_done

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "support" / "fuzz_targets.py"
#: One process runs every target (``all``: the first byte picks one): one start-up instead of four.
RUNS = {"all": 3000}
TARGETS = ("protocol", "bundle", "manifest", "recording")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("atheris", reason="atheris (dev extra) is not installed")
    out = tmp_path_factory.mktemp("corpus")  # the harness adds the seed corpus itself
    (out / "all").mkdir()
    for i, target in enumerate(TARGETS):  # inputs that once crashed, as 'all' inputs for their target
        for f in (ROOT / "tests" / "vectors" / "fuzz" / target).glob("*"):
            (out / "all" / f"vector-{f.name}").write_bytes(bytes([i]) + f.read_bytes())
    return out


@pytest.mark.parametrize("target", list(RUNS))
def test_fuzz_target_never_crashes(corpus: Path, tmp_path: Path, target: str) -> None:
    res = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            target,
            f"-runs={RUNS[target]}",
            "-seed=1",
            "-max_len=4096",
            "-rss_limit_mb=2048",
            "-timeout=20",
            f"-artifact_prefix={tmp_path}/",
            str(corpus / target),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    crashes = sorted(p.name for p in tmp_path.glob("crash-*")) + sorted(
        p.name for p in tmp_path.glob("timeout-*")
    )
    log = "\n".join(ln for ln in res.stderr.splitlines() if not ln.startswith("INFO: Instrumenting"))
    assert res.returncode == 0 and not crashes, f"{crashes}\n{log[-4000:]}"
    # -runs is a lower bound, not an exact count (tests.support.fuzzing)
    assert runs_done(res.stderr) >= RUNS[target], log[-4000:]
