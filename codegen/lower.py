"""A parsed TFLite model -> the generated op list and its arena plan (:class:`ExportPlan`).

Only ops the graph output depends on through data inputs are lowered (shape arithmetic that feeds a
RESHAPE's shape operand is evaluated away); each live op goes through :func:`vibsentry.codegen.ops.lower_op`;
RESHAPE-like copies are aliased away; tensor lifetimes over the op list feed :func:`plan_arena`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vibsentry.codegen.arena import plan_arena
from vibsentry.codegen.ops import OP_CODES, STATIC_INPUTS, SUPPORTED_OPS, COp, lower_op, unsupported
from vibsentry.codegen.tflite_reader import TfliteModel, TfliteOp, TfliteTensor
from vibsentry.errors import ExportError


@dataclass
class ExportPlan:
    """Everything the C renderer needs, plus the memory report.

    Attributes
    ----------
    arena_bytes : int
        Size of the activation arena (RAM), bytes.
    const_bytes : int
        Weights, biases, per-channel multipliers/shifts and tables (flash), bytes.
    tensor_offsets : dict
        TFLite tensor index -> (arena offset, bytes).
    """

    source: str
    sha256: str
    ops: list[COp]
    tensor_offsets: dict[int, tuple[int, int]]
    arena_bytes: int
    input_tensor: TfliteTensor
    output_tensor: TfliteTensor
    const_bytes: int
    macs: int
    const_tensors: dict[int, list[int]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """RAM / flash / MACs summary (the arena is the model's whole RAM need besides its caller's buffers)."""
        return {
            "source": self.source,
            "sha256": self.sha256,
            "ops": [o.tflite_name for o in self.ops],
            "arena_bytes": self.arena_bytes,
            "const_bytes": self.const_bytes,
            "macs": self.macs,
            "input": {"shape": list(self.input_tensor.shape), "dtype": self.input_tensor.dtype},
            "output": {"shape": list(self.output_tensor.shape), "dtype": self.output_tensor.dtype},
            "layers": [
                {
                    "op": o.tflite_name,
                    "macs": o.macs,
                    "const_bytes": sum(len(v) * (4 if ct == "int32_t" else 1) for _, ct, v in o.arrays)
                    + sum(len(self.const_tensors.get(ti, ())) for ti in o.inputs),
                    "output_bytes": self.tensor_offsets[o.output][1],
                    "arena_offset": self.tensor_offsets[o.output][0],
                }
                for o in self.ops
            ],
        }


def _live_ops(model: TfliteModel) -> list[TfliteOp]:
    """Ops that the graph outputs depend on through data inputs (shape-only subgraphs are dropped)."""
    producer = {o: op for op in model.ops for o in op.outputs}
    needed: set[int] = set()
    stack = list(model.outputs)
    seen: set[int] = set()
    while stack:
        ti = stack.pop()
        if ti in seen or ti < 0:
            continue
        seen.add(ti)
        op = producer.get(ti)
        if op is None:
            continue
        needed.add(op.index)
        static = STATIC_INPUTS.get(op.name, ())
        for k, i in enumerate(op.inputs):
            if k not in static:
                stack.append(i)
    return [op for op in model.ops if op.index in needed]


def lower(model: TfliteModel) -> ExportPlan:
    """Lower a parsed model to the generated op list and arena plan.

    Raises
    ------
    ExportError
        An unsupported operator (named), a non-int8 tensor where int8 is required, several inputs/outputs,
        or a model whose tensors and operators contradict each other (a damaged file).
    """
    try:
        return _lower(model)
    except ExportError as exc:
        if model.path in str(exc):
            raise
        raise ExportError(f"{model.path}: {exc}") from exc
    except (
        IndexError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        OverflowError,
        ZeroDivisionError,
    ) as exc:
        raise ExportError(f"{model.path}: malformed model ({type(exc).__name__}: {exc})") from exc


def _lower(model: TfliteModel) -> ExportPlan:
    """Lower a parsed model to the generated op list and arena plan.

    Raises
    ------
    ExportError
        An unsupported operator (named), a non-int8 tensor where int8 is required, several inputs/outputs.
    """
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ExportError(
            f"{model.path}: the C runtime runs models with one input and one output, "
            f"this one has {len(model.inputs)} and {len(model.outputs)}"
        )
    live = _live_ops(model)
    bad = [op for op in live if op.name not in SUPPORTED_OPS]
    if bad:
        raise unsupported(model, bad[0])
    cops = [lower_op(model, op) for op in live]
    if not cops:
        raise ExportError(f"{model.path}: the model has no operator between its input and its output")
    in_t, out_t = model.tensors[model.inputs[0]], model.tensors[model.outputs[0]]
    for t, what in ((in_t, "input"), (out_t, "output")):
        if t.dtype not in ("int8", "float32"):
            raise ExportError(f"{model.path}: model {what} is {t.dtype}; the C runtime takes int8 or float32")
    const_tensors: dict[int, list[int]] = {}
    for c in cops:
        for ti in c.inputs:
            t = model.tensors[ti]
            if t.data is None:
                continue
            if c.code != OP_CODES["ADD"] or t.dtype != "int8":
                raise ExportError(
                    f"{model.path}: op {c.tflite_name}: constant data input {t.name!r} is not supported"
                )
            const_tensors[ti] = [int(v) for v in t.data.reshape(-1)]
    # RESHAPE / EXPAND_DIMS / SQUEEZE change no byte: their output is the same buffer as their input (every
    # tensor is written once, by its producer), so they cost neither an op nor RAM. Kept only in a model made
    # of nothing else, so that the op list is never empty.
    alias: dict[int, int] = {}

    def rep(ti: int) -> int:
        while ti in alias:
            ti = alias[ti]
        return ti

    if any(c.code != OP_CODES["COPY"] for c in cops):
        kept = []
        for c in cops:
            if c.code == OP_CODES["COPY"]:
                alias[c.output] = rep(c.inputs[0])
            else:
                kept.append(c)
        cops = kept
    # Lifetimes over the generated op list; the graph input is alive before op 0, the output after the last.
    life: dict[int, list[int]] = {}
    for i, c in enumerate(cops):
        for ti in c.inputs:
            if ti not in const_tensors:  # constants live in flash, not in the arena
                life.setdefault(rep(ti), [i, i])[1] = i
        span = life.setdefault(rep(c.output), [i, i])
        span[0], span[1] = min(span[0], i), max(span[1], i)
    life.setdefault(rep(in_t.index), [-1, -1])[0] = -1
    life.setdefault(rep(out_t.index), [len(cops), len(cops)])[1] = len(cops)
    offsets, arena = plan_arena({k: (v[0], v[1], model.tensors[k].nbytes) for k, v in life.items()})
    used = {in_t.index, out_t.index, *(ti for c in cops for ti in (*c.inputs, c.output))}
    const_bytes = sum(len(v) for v in const_tensors.values())
    for c in cops:
        for _, ctype, vals in c.arrays:
            const_bytes += len(vals) * (4 if ctype == "int32_t" else 1)
    return ExportPlan(
        source=model.path,
        sha256=model.sha256,
        ops=cops,
        tensor_offsets={k: (offsets.get(rep(k), 0), model.tensors[k].nbytes) for k in sorted(used)},
        const_tensors=const_tensors,
        arena_bytes=arena,
        input_tensor=in_t,
        output_tensor=out_t,
        const_bytes=const_bytes,
        macs=sum(c.macs for c in cops),
    )
