"""INT8 C runtime vs TFLite, side by side, per test architecture: memory plan and host speed.

    .venv/bin/python benchmarks/bench_nn_runtime.py [--n 2000]

For each architecture of tests/support/tflite_models.py: the exporter's RAM (arena) and flash (constant data)
figures, MACs per inference, and host inferences per second of the generated C (gcc -O2, one call per input
through ctypes' batch entry point) against ``tf.lite.Interpreter`` with the reference kernels (BUILTIN_REF, what
the C is bit-exact with) and with the default optimized kernels, on the same inputs in the same run. The
outputs are compared too (C vs BUILTIN_REF: identical bytes expected).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import tflite_models as tm  # noqa: E402


def _timed(fn: Any, *args: Any) -> tuple[np.ndarray, float]:
    """Run ``fn(*args)`` once; returns (its result, inputs per second for ``args[-1]``)."""
    t0 = time.perf_counter()
    y = fn(*args)
    return y, len(args[-1]) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="inputs per architecture")
    args = ap.parse_args(argv)
    import tensorflow as tf

    from vibsentry.codegen.export import export_c

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in tm.ARCHITECTURES:
            content = tm.convert(arch)
            src = Path(tmp) / f"{arch}.tflite"
            src.write_bytes(content)
            res = export_c(src, Path(tmp) / arch)
            ref = tm.reference_interpreter(content)
            det = ref.get_input_details()[0]
            rng = np.random.default_rng(0)
            shape = (args.n, int(np.prod(det["shape"])))
            if det["dtype"] == np.int8:
                x = rng.integers(-128, 128, size=shape).astype(np.int8)
            else:
                x = rng.standard_normal(shape).astype(np.float32)
            opt = tf.lite.Interpreter(model_content=content)
            opt.allocate_tensors()
            y_ref, r_ref = _timed(tm.run_reference, ref, x)
            y_opt, r_opt = _timed(tm.run_reference, opt, x)
            so = tm.compile_model(res.out_dir)
            lib = tm.ModelLibrary(so, x.dtype, y_ref.dtype, shape[1], y_ref.shape[1])
            y_c, r_c = _timed(lib.run, x)
            same = bool(np.array_equal(y_c.view(np.uint8), y_ref.view(np.uint8)))
            opt_diff = float(np.mean(y_opt != y_ref))
            p = res.plan
            rows.append(
                (arch, len(p.ops), p.macs, p.arena_bytes, p.const_bytes, r_c, r_ref, r_opt, same, opt_diff)
            )
    print(f"{'architecture':<14} {'ops':>3} {'MACs':>6} {'arena B':>7} {'const B':>7} {'C inf/s':>9} "
          f"{'REF inf/s':>9} {'C/REF':>6} {'OPT inf/s':>9} {'C==REF':>6} {'OPT!=REF':>8}")  # fmt: skip
    for arch, nops, macs, arena, const, rc, rr, ro, same, od in rows:
        print(f"{arch:<14} {nops:>3} {macs:>6} {arena:>7} {const:>7} {rc:>9.0f} {rr:>9.0f} {rc / rr:>5.1f}x "
              f"{ro:>9.0f} {'yes' if same else 'NO':>6} {od:>8.2%}")  # fmt: skip
    print("\nC/REF: host speed of the generated C over the reference interpreter (per-call Python overhead "
          "included for the interpreter, which is how the gateway would call it).\nOPT!=REF: share of output "
          "bytes where TFLite's optimized kernels differ from its own reference kernels.")  # fmt: skip
    return 0 if all(r[8] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
