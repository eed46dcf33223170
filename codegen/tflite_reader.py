"""Read a ``.tflite`` flatbuffer into plain Python objects (tensors, operators, buffers) for the C exporter.

The parsing code is the flatbuffer schema module that TensorFlow and ai-edge-litert ship
(``schema_py_generated.py``, generated from TFLite's ``schema.fbs``). It is loaded straight from its file so
that reading a model does not import TensorFlow (seconds, gigabytes); only the ``flatbuffers`` package is
needed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.errors import ExportError, FileFormatError

#: TFLite TensorType code -> numpy dtype (only the types an int8 model uses).
_DTYPES: dict[int, Any] = {
    0: np.float32,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    7: np.int16,
    9: np.int8,
}
_DTYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}

_schema: ModuleType | None = None


def _schema_module() -> ModuleType:
    """Load ``schema_py_generated`` from TensorFlow or ai-edge-litert without importing either package."""
    global _schema
    if _schema is not None:
        return _schema
    for pkg, rel in (
        ("ai_edge_litert", "schema_py_generated.py"),
        ("tensorflow", "lite/python/schema_py_generated.py"),
    ):
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            continue
        for loc in spec.submodule_search_locations:
            path = Path(loc) / rel
            if path.is_file():
                mspec = importlib.util.spec_from_file_location("_vibsentry_tflite_schema", path)
                assert mspec is not None and mspec.loader is not None
                mod = importlib.util.module_from_spec(mspec)
                sys.modules.setdefault("_vibsentry_tflite_schema", mod)
                mspec.loader.exec_module(mod)
                _schema = mod
                return mod
    raise ExportError(
        "cannot read .tflite files: neither ai-edge-litert nor tensorflow is installed "
        "(pip install 'vibsentry[dashboard]' or 'vibsentry[train]')"
    )


@dataclass(frozen=True)
class TfliteTensor:
    """One tensor of the graph.

    Attributes
    ----------
    index : int
        Position in the subgraph's tensor list.
    name : str
    shape : tuple of int
    dtype : str
        ``"int8"``, ``"float32"``, ``"int32"``, ...
    data : ndarray or None
        Constant contents (weights, biases, axis lists) reshaped to ``shape``; None for activations.
    scales : ndarray of float32
        Quantization scales (one, or one per channel along ``quantized_dimension``); empty if unquantized.
    zero_points : ndarray of int64
    quantized_dimension : int
    """

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    data: npt.NDArray[Any] | None
    scales: npt.NDArray[np.float32]
    zero_points: npt.NDArray[np.int64]
    quantized_dimension: int

    @property
    def scale(self) -> float:
        """The per-tensor scale (first scale) as a Python float (exactly the stored float32)."""
        return float(self.scales[0]) if self.scales.size else 0.0

    @property
    def zero_point(self) -> int:
        """The per-tensor zero point (first one)."""
        return int(self.zero_points[0]) if self.zero_points.size else 0

    @property
    def n_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def itemsize(self) -> int:
        return 4 if self.dtype in ("float32", "int32") else (2 if self.dtype == "int16" else 1)

    @property
    def nbytes(self) -> int:
        return self.n_elements * self.itemsize


@dataclass(frozen=True)
class TfliteOp:
    """One operator: its builtin name (``"FULLY_CONNECTED"``), tensor indices (-1 = optional input absent) and
    its builtin options object (fields as in TFLite's schema, e.g. ``fusedActivationFunction``)."""

    index: int
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: Any


@dataclass(frozen=True)
class TfliteModel:
    """A parsed single-subgraph ``.tflite`` model."""

    path: str
    sha256: str
    tensors: tuple[TfliteTensor, ...]
    ops: tuple[TfliteOp, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str = ""
    op_names: tuple[str, ...] = field(default=())


def _op_name(schema: ModuleType, code: int) -> str:
    for k, v in vars(schema.BuiltinOperator).items():
        if not k.startswith("_") and v == code:
            return str(k)
    return f"BUILTIN_{code}"


def read_tflite(path: str | os.PathLike[str] | None = None, *, content: bytes | None = None) -> TfliteModel:
    """Parse a ``.tflite`` file (or its bytes).

    Parameters
    ----------
    path : path-like, optional
        The model file. Used in error messages when ``content`` is also given.
    content : bytes, optional
        The flatbuffer itself.

    Returns
    -------
    TfliteModel

    Raises
    ------
    FileFormatError
        The file is missing, not a TFLite flatbuffer, or has more than one subgraph.
    """
    where = os.fspath(path) if path is not None else "<bytes>"
    if content is None:
        if path is None:
            raise ValueError("read_tflite needs a path or content")
        try:
            content = Path(path).read_bytes()
        except OSError as exc:
            raise FileFormatError(where, f"cannot read: {exc.strerror or exc}") from exc
    if len(content) < 8 or content[4:8] != b"TFL3":
        raise FileFormatError(
            where, f"not a TFLite flatbuffer (file identifier {content[4:8]!r}, expected b'TFL3')"
        )
    schema = _schema_module()
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(content), 0)
    except Exception as exc:  # the generated parser raises anything from struct.error to IndexError
        raise FileFormatError(where, f"corrupt TFLite flatbuffer ({type(exc).__name__}: {exc})") from exc
    try:
        return _from_object(model, where, content)
    except FileFormatError:
        raise
    except Exception as exc:  # a flatbuffer that parses but whose fields contradict each other
        raise FileFormatError(where, f"malformed TFLite model ({type(exc).__name__}: {exc})") from exc


def _from_object(model: Any, where: str, content: bytes) -> TfliteModel:
    schema = _schema_module()
    subgraphs = model.subgraphs or []
    if len(subgraphs) != 1:
        raise FileFormatError(where, f"expected exactly one subgraph, found {len(subgraphs)}")
    sg = subgraphs[0]
    buffers = model.buffers or []
    tensors = []
    for i, t in enumerate(sg.tensors or []):
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        dtype = _DTYPE_NAMES.get(int(t.type), f"type{t.type}")
        data = None
        buf = buffers[t.buffer] if 0 <= t.buffer < len(buffers) else None
        if buf is not None and buf.data is not None and len(buf.data) > 0:
            if int(t.type) not in _DTYPES:
                raise FileFormatError(
                    where, f"tensor {i} ({t.name!r}) has constant data of unsupported type {dtype}"
                )
            raw = np.asarray(buf.data, dtype=np.uint8).tobytes()
            data = np.frombuffer(raw, dtype=np.dtype(_DTYPES[int(t.type)]).newbyteorder("<")).copy()
            data = data.reshape(shape) if shape else data.reshape(())
        q = t.quantization
        scales = np.asarray(q.scale if q is not None and q.scale is not None else [], dtype=np.float32)
        zps = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], dtype=np.int64)
        qdim = int(q.quantizedDimension) if q is not None else 0
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name or "")
        tensors.append(TfliteTensor(i, name, shape, dtype, data, scales, zps, qdim))
    ops = []
    codes = model.operatorCodes or []
    for i, op in enumerate(sg.operators or []):
        oc = codes[op.opcodeIndex]
        code = max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))
        name = _op_name(schema, code)
        if name == "CUSTOM":
            cname = oc.customCode.decode() if isinstance(oc.customCode, bytes) else str(oc.customCode)
            name = f"CUSTOM({cname})"
        ops.append(
            TfliteOp(
                i,
                name,
                tuple(int(x) for x in (op.inputs if op.inputs is not None else ())),
                tuple(int(x) for x in (op.outputs if op.outputs is not None else ())),
                op.builtinOptions,
            )
        )
    desc = (
        model.description.decode() if isinstance(model.description, bytes) else str(model.description or "")
    )
    return TfliteModel(
        path=where,
        sha256=hashlib.sha256(content).hexdigest(),
        tensors=tuple(tensors),
        ops=tuple(ops),
        inputs=tuple(int(x) for x in sg.inputs),
        outputs=tuple(int(x) for x in sg.outputs),
        description=desc,
        op_names=tuple(o.name for o in ops),
    )
