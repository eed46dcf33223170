"""Compile generated model C on this machine with the vs_nn runtime and compare it with TFLite's reference.

Used by ``vibsentry export --validate`` and the bit-exactness tests. The compiler flags are the ones
``firmware_core/Makefile`` builds our C with (``make -s -C firmware_core print-HOST_MODEL_CFLAGS``), so they
are written once; the ctypes entry points are ``host_shim.c`` next to this module.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vibsentry.errors import ExportError

RUNTIME_SOURCES: tuple[str, ...] = ("vs_nn.c", "vs_nn_softmax.c", "vs_nn_model.c")
#: The ctypes shim: ``vs_host_run_batch``, ``vs_host_arena_bytes``, ``vs_host_quantize_input``.
HOST_SHIM = Path(__file__).resolve().with_name("host_shim.c")


def firmware_core_dir() -> Path:
    """The ``firmware_core`` folder of the source tree this package runs from (the runtime's C sources)."""
    root = Path(__file__).resolve().parents[1] / "firmware_core"
    if not (root / "src" / RUNTIME_SOURCES[0]).is_file():
        raise ExportError(
            f"the vs_nn runtime sources are not at {root / 'src'}: checking the generated C needs a vibsentry "
            "source checkout (an installed wheel carries no C)"
        )
    return root


@functools.lru_cache(maxsize=1)
def host_cflags() -> tuple[str, ...]:
    """C standard, optimisation and warning flags for host builds of generated code, from
    ``firmware_core/Makefile`` (one place for them).

    Raises
    ------
    ExportError
        When ``make`` is missing or the Makefile does not print them.
    """
    fw = firmware_core_dir()
    make = shutil.which("make")
    if make is None:
        raise ExportError("'make' not found: the host compiler flags come from firmware_core/Makefile")
    proc = subprocess.run(
        [make, "-s", "--no-print-directory", "-C", str(fw), "print-HOST_MODEL_CFLAGS"],
        capture_output=True,
        text=True,
    )
    flags = tuple(proc.stdout.split())
    if proc.returncode != 0 or not flags:
        raise ExportError(
            f"{fw / 'Makefile'}: 'make print-HOST_MODEL_CFLAGS' failed: {proc.stderr.strip()[-500:]}"
        )
    return flags


def compile_host(
    gen_dir: str | os.PathLike[str],
    *,
    name: str = "vs_model",
    main_source: str | None = None,
    flags: Sequence[str] = ("-fPIC", "-shared"),
    output: str | os.PathLike[str] | None = None,
    cc: str | None = None,
) -> Path:
    """Compile ``<name>_data.c`` in ``gen_dir`` with the vs_nn runtime for this machine.

    Parameters
    ----------
    gen_dir : path-like
        An export directory.
    name : str
        The model name given at export.
    main_source : str, optional
        C source to link instead of the ctypes shim (e.g. a test ``main``).
    flags : sequence of str
        Extra compiler flags (default: a shared library).
    output : path-like, optional
        Output file (default ``gen_dir/<name>.so``).
    cc : str, optional
        Compiler (default ``$CC`` or ``cc``).

    Returns
    -------
    pathlib.Path
        The library or executable.
    """
    gen = Path(gen_dir)
    fw = firmware_core_dir()
    compiler = cc or os.environ.get("CC") or "cc"
    if shutil.which(compiler) is None:
        raise ExportError(f"C compiler {compiler!r} not found (set CC)")
    up = name.upper()
    shim = gen / (f"{name}_host_main.c" if main_source else f"{name}_host_shim.c")
    text = main_source if main_source is not None else HOST_SHIM.read_text(encoding="utf-8")
    shim.write_text(text.replace("@H@", f"{name}_data.h").replace("@M@", name).replace("@P@", up))
    target = Path(output) if output is not None else gen / f"{name}.so"
    srcs = [str(fw / "src" / s) for s in RUNTIME_SOURCES]
    cmd = [compiler, *host_cflags(), *flags, f"-I{fw / 'include'}", f"-I{gen}", *srcs, str(gen / f"{name}_data.c"),
           str(shim), "-o", str(target)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ExportError(f"compiling the generated C failed: {' '.join(cmd)}: {proc.stderr.strip()[-2000:]}")
    return target


class HostModel:
    """A generated model compiled by :func:`compile_host` (default shim), called through ctypes.

    Parameters
    ----------
    so_path : path-like
    in_dtype, out_dtype : dtype
        The model's input and output element types (int8 or float32).
    in_elems, out_elems : int
        Elements per input and per output.
    """

    def __init__(
        self, so_path: str | os.PathLike[str], in_dtype: Any, out_dtype: Any, in_elems: int, out_elems: int
    ) -> None:
        import ctypes

        self._ctypes = ctypes
        self.path = Path(so_path)
        self.lib = ctypes.CDLL(str(self.path))
        self.lib.vs_host_run_batch.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self.lib.vs_host_run_batch.restype = ctypes.c_int
        self.in_dtype, self.out_dtype = np.dtype(in_dtype), np.dtype(out_dtype)
        self.in_elems, self.out_elems = in_elems, out_elems

    @property
    def arena_bytes(self) -> int:
        """``<NAME>_ARENA_BYTES`` as compiled."""
        return int(self.lib.vs_host_arena_bytes())

    def quantize_input(self, x: Any) -> np.ndarray:
        """``vs_model_quantize_input`` on every value of ``x`` (float32, any shape) -> int8, same shape."""
        c = self._ctypes
        xs = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
        q = np.zeros(xs.shape, dtype=np.int8)
        self.lib.vs_host_quantize_input(xs.ctypes.data_as(c.c_void_p), q.ctypes.data_as(c.c_void_p), len(xs))
        return q.reshape(np.shape(x))

    def run(self, inputs: Any) -> np.ndarray:
        """Run each row of ``inputs`` (n, in_elems) through the C model; returns (n, out_elems)."""
        x = np.ascontiguousarray(inputs, dtype=self.in_dtype).reshape(len(inputs), self.in_elems)
        y = np.zeros((len(x), self.out_elems), dtype=self.out_dtype)
        rc = self.lib.vs_host_run_batch(x.ctypes.data, y.ctypes.data, len(x))
        if rc != 0:
            raise ExportError(f"{self.path}: vs_model_run returned {rc}")
        return y


def _reference_interpreter(content: bytes) -> Any:
    """TFLite's reference kernels: ai-edge-litert when installed (the gateway's runtime), else TensorFlow."""
    try:
        from ai_edge_litert import interpreter as lite

        it = lite.Interpreter(
            model_content=content, experimental_op_resolver_type=lite.OpResolverType.BUILTIN_REF
        )
    except ImportError:
        try:
            import tensorflow as tf
        except ImportError:
            raise ExportError("--validate needs ai-edge-litert or tensorflow to run the reference") from None
        it = tf.lite.Interpreter(
            model_content=content,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        )
    it.allocate_tensors()
    return it


def validate_c(
    gen_dir: str | os.PathLike[str], content: bytes, *, name: str = "vs_model", n: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Compile an export on this machine and compare it with TFLite's reference kernels on ``n`` inputs.

    Inputs are uniform over the whole int8 range (or standard normal x 3 for a float input), seeded.

    Returns
    -------
    dict
        ``inputs``, ``identical`` (inputs whose output bytes all match), ``first_difference`` (index or None).
    """
    it = _reference_interpreter(content)
    din, dout = it.get_input_details()[0], it.get_output_details()[0]
    n_in, n_out = int(np.prod(din["shape"])), int(np.prod(dout["shape"]))
    rng = np.random.default_rng(seed)
    if np.dtype(din["dtype"]) == np.int8:
        x = rng.integers(-128, 128, size=(n, n_in)).astype(np.int8)
    else:
        x = (rng.standard_normal((n, n_in)) * 3).astype(np.float32)
    ref = np.zeros((n, n_out), dtype=dout["dtype"])
    for i, row in enumerate(x):
        it.set_tensor(din["index"], row.reshape(din["shape"]))
        it.invoke()
        ref[i] = it.get_tensor(dout["index"]).reshape(-1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for f in Path(gen_dir).iterdir():
            if f.suffix in (".c", ".h"):
                shutil.copy2(f, work / f.name)
        lib = HostModel(compile_host(work, name=name), x.dtype, ref.dtype, n_in, n_out)
        got = lib.run(x)
    same = (got.view(np.uint8).reshape(n, -1) == ref.view(np.uint8).reshape(n, -1)).all(axis=1)
    bad = np.flatnonzero(~same)
    return {"inputs": n, "identical": int(same.sum()), "first_difference": int(bad[0]) if bad.size else None}
