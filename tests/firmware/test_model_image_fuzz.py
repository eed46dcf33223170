"""libFuzzer on the node's model-update decoders (``firmware_core/fuzz/fuzz_model_image.c``): the model image
reader and runner (also with the CRC recomputed, so the structural checks behind it are reached) and the
signed-manifest parser. Bounded and seeded (fixed ``-seed`` and ``-runs``), ASan + UBSan; seeds are real
images of five test architectures and a canonical manifest.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import tflite_models as tm
from tests.support.cbuild import DEFAULT_BUILD, FIRMWARE
from tests.support.fuzzing import runs_done

SOURCES = ("vs_model_image.c", "vs_nn.c", "vs_nn_softmax.c", "vs_nn_model.c", "vs_crc.c", "vs_model_manifest.c",
           "vs_ed25519_verify.c", "vs_ge25519.c", "vs_fe25519.c", "vs_sha512.c")  # fmt: skip
RUNS, SEED = 40_000, 1


def _clang() -> str:
    for c in ("clang-14", "clang"):
        if shutil.which(c):
            return c
    pytest.skip("clang not installed (dev.sh installs clang + libclang-rt-14-dev)")


def test_fuzz_image_and_manifest_decoders(tmp_path: Path) -> None:
    from vibsentry.codegen.model_image import image_from_tflite
    from vibsentry.signing import canonical_manifest

    exe = DEFAULT_BUILD / "fuzz_image" / "fuzz_model_image"
    exe.parent.mkdir(parents=True, exist_ok=True)
    srcs = [FIRMWARE / "fuzz" / "fuzz_model_image.c", *(FIRMWARE / "src" / s for s in SOURCES)]
    cmd = [_clang(), "-std=c99", "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
           f"-I{FIRMWARE / 'include'}", *map(str, srcs), "-lm", "-o", str(exe)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for arch in ("autoencoder", "cnn1d", "add_logistic", "float_io", "cnn2d"):
        src = tmp_path / f"{arch}.tflite"
        src.write_bytes(tm.convert(arch))
        image = image_from_tflite(src)
        (corpus / f"img0_{arch}").write_bytes(b"\x00" + image)
        (corpus / f"img1_{arch}").write_bytes(b"\x01" + image)
    doc = {"format": "vibsentry.signed_manifest", "format_version": 1, "counter": 5, "feature_hash": "ab" * 32,
           "image": {"file": "model.vsm", "size": 100, "sha256": "cd" * 32}, "model_id": "m"}  # fmt: skip
    (corpus / "manifest").write_bytes(b"\x02" + canonical_manifest(doc))
    run = subprocess.run(
        # libFuzzer reads its RSS from getrusage's ru_maxrss, which Linux carries over fork + exec: started from
        # a pytest that has imported TensorFlow it reports ~750 MB before the first input. So the RSS limit is
        # generous and each allocation is capped separately.
        [str(exe), f"-seed={SEED}", f"-runs={RUNS}", "-max_len=12000", "-timeout=10", "-rss_limit_mb=4096",
         "-malloc_limit_mb=64", str(corpus)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env={"ASAN_OPTIONS": "quarantine_size_mb=16", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    tail = run.stderr[-3000:]
    assert run.returncode == 0, tail
    assert runs_done(tail) >= RUNS and not list(tmp_path.glob("crash-*")), tail  # tests.support.fuzzing
