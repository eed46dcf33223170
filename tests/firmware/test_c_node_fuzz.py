"""libFuzzer on vs_node's command path (``firmware_core/fuzz/fuzz_node_cmd.c``): bounded, seeded, ASan + UBSan.

The target checks that every valid command gets exactly one ACK/NACK, that the node only sends well-formed
frames, and that it still streams SCOREs from a fresh REPLAY stream after any input. The run is bounded by
``-runs`` with a fixed ``-seed`` (deterministic, no time limit to flake on a busy machine); seeds are valid
commands encoded by the Python codec plus a few damaged ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cbuild import make
from vibsentry import protocol as vp

FW = Path(__file__).resolve().parents[2] / "firmware_core"
TARGET = FW / "fuzz" / "fuzz_node_cmd.c"


def _make_var(name: str) -> str:
    proc = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(FW), f"print-{name}"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return proc.stdout.strip()


def _build_fuzzer(clang: str) -> Path:
    """Compile the target with the node sources and the Makefile's CMSIS-DSP list (cached by mtime)."""
    b = make("lib")  # unpacks CMSIS-DSP and generates vs_feature_config.h in the default build dir
    cmsis = Path(_make_var("CMSIS_DIR"))
    srcs = [TARGET, *sorted((FW / "src").glob("*.c")), *sorted((FW / "port" / "host").glob("*.c"))]
    srcs += [cmsis / "Source" / s for s in _make_var("CMSIS_SRCS").split()]
    headers = [*(FW / "include").rglob("*.h"), *(FW / "port" / "host").glob("*.h")]
    exe = b.build_dir / "fuzz_node" / "fuzz_node_cmd"
    if exe.is_file() and exe.stat().st_mtime > max(p.stat().st_mtime for p in [*srcs, *headers]):
        return exe
    exe.parent.mkdir(parents=True, exist_ok=True)
    cmd = [clang, "-std=c99", "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
           "-w", "-D__GNUC_PYTHON__", "-DARM_MATH_LOOPUNROLL", f"-I{FW / 'include'}", f"-I{b.build_dir / 'gen'}",
           f"-isystem{cmsis / 'Include'}", f"-isystem{cmsis / 'PrivateInclude'}", *map(str, srcs),
           "-lm", "-o", str(exe)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return exe


def _seeds(d: Path) -> None:
    rate = 12000.0
    cmds: list[vp.Message] = [
        vp.SetThreshold(0.1, 0.05, 1, 2),
        vp.SetThreshold(1.0, 2.0, 40, 3),
        vp.RequestRaw(1, 600, 0),
        vp.RequestRaw(2, 10**6, 1),
        vp.ReplaySamples(0, rate, 1, 1.0, tuple(float(i % 7) * 0.1 for i in range(250))),
        vp.ReplaySamples(5, rate, 0, 1e-3, tuple(range(-250, 250))),
        vp.ModelBegin(100, bytes(32), 10),
        vp.ModelChunk(0, bytes(10)),
        vp.ModelCommit(bytes(32)),
        vp.BaselineLearn(1, 64, 0.0),
        vp.BaselineLearn(1, 63, 2.5),
        vp.BaselineLearn(2, 0, 0.0),
        vp.BaselineLearn(3, 0, 0.0),
    ]
    frames = [vp.encode(c, node_id=7, seq=i, timestamp_us=0) for i, c in enumerate(cmds)]
    for i, f in enumerate(frames):
        (d / f"cmd{i}").write_bytes(bytes([255]) + f + f)  # the retry of the same frame too
    (d / "all").write_bytes(bytes([63]) + b"".join(frames))
    (d / "cut").write_bytes(bytes([7]) + b"".join(f[: len(f) // 2] for f in frames))
    (d / "other_node").write_bytes(bytes([255]) + vp.encode(cmds[0], node_id=8, seq=1, timestamp_us=0))


def test_fuzz_node_commands_bounded(tmp_path: Path) -> None:
    clang = shutil.which("clang-14") or shutil.which("clang")
    if clang is None:
        pytest.skip("clang not installed (dev.sh installs clang + libclang-rt-14-dev)")
    exe = _build_fuzzer(clang)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _seeds(corpus)
    env = dict(os.environ, ASAN_OPTIONS="quarantine_size_mb=16:detect_leaks=0")
    proc = subprocess.run(
        [str(exe), "-seed=1", "-runs=1500", "-max_len=6000", "-timeout=20", "-rss_limit_mb=4096", "-malloc_limit_mb=256",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=600, check=False, env=env,
    )  # fmt: skip
    tail = proc.stderr[-3000:]
    assert proc.returncode == 0, tail
    assert "Done 1500 runs" in tail and not list(tmp_path.glob("crash-*")), tail
