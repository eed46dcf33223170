"""Render an :class:`~vibsentry.codegen.lower.ExportPlan` as C: ``<name>_data.h`` and ``<name>_data.c``.

Constant arrays (weights, biases, per-channel multipliers and shifts, lookup tables), one parameter struct
per op, the op and tensor tables, and the ``vs_model_t`` the firmware's ``vs_model_run`` takes; all under the
GENERATED banner naming the source model and its sha256.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vibsentry.codegen.lower import ExportPlan
from vibsentry.codegen.ops import C_OP_NAMES
from vibsentry.codegen.tflite_reader import TfliteTensor
from vibsentry.errors import ExportError


def _c_float(x: float) -> str:
    s = f"{float(np.float32(x)):.9g}"
    if "e" not in s and "." not in s and "inf" not in s and "nan" not in s:
        s += ".0"
    return s + "f"


def _c_value(v: Any) -> str:
    if isinstance(v, float):
        return _c_float(v)
    return str(int(v))


def _c_struct(fields: dict[str, Any], indent: str = "    ") -> str:
    parts = []
    for k, v in fields.items():
        if isinstance(v, dict):
            inner = ", ".join(
                f".{k2} = {v2 if isinstance(v2, str) else _c_value(v2)}" for k2, v2 in v.items()
            )
            parts.append(f"{indent}.{k} = {{{inner}}},")
        elif isinstance(v, list):
            parts.append(f"{indent}.{k} = {{{', '.join(_c_value(x) for x in v)}}},")
        else:
            parts.append(f"{indent}.{k} = {v if isinstance(v, str) else _c_value(v)},")
    return "\n".join(parts)


def _c_array(ctype: str, name: str, values: Sequence[int]) -> str:
    per_line = 16
    rows = []
    vals = [str(int(v)) for v in values]
    for i in range(0, len(vals), per_line):
        rows.append("    " + ", ".join(vals[i : i + per_line]) + ",")
    return f"static const {ctype} {name}[{len(vals)}] = {{\n" + "\n".join(rows) + "\n};\n"


def _banner(source_name: str, sha256: str) -> str:
    return (
        "/*\n"
        " * GENERATED — do not edit.\n"
        f" * Source: {source_name} (sha256 {sha256})\n"
        " * Generator: vibsentry export --target c (vibsentry.codegen)\n"
        " */\n"
    )


def render(
    plan: ExportPlan,
    *,
    name: str = "vs_model",
    source_name: str | None = None,
    normalisation: tuple[Sequence[float], Sequence[float]] | None = None,
) -> tuple[str, str]:
    """Render ``(vs_model_data.h, vs_model_data.c)`` for ``plan``.

    Parameters
    ----------
    plan : ExportPlan
    name : str
        C identifier of the model object and prefix of every generated symbol; macros use ``name.upper()``.
    source_name : str, optional
        File name shown in the banner (default: the plan's source path's name).
    normalisation : (mean, std), optional
        Per-feature z-score parameters from the bundle, emitted as float arrays for the firmware.
    """
    if not name.isidentifier():
        raise ExportError(f"model name {name!r} is not a C identifier")
    src = source_name or Path(plan.source).name
    up = name.upper()
    ind = {ti: i for i, ti in enumerate(plan.tensor_offsets)}
    in_t, out_t = plan.input_tensor, plan.output_tensor

    def dtype_code(t: TfliteTensor) -> str:
        return "VS_NN_TYPE_S8" if t.dtype == "int8" else "VS_NN_TYPE_F32"

    h = [
        _banner(src, plan.sha256),
        f'#ifndef {up}_DATA_H\n#define {up}_DATA_H\n\n#include "vs/vs_model.h"\n\n',
    ]
    h.append(f'#define {up}_SOURCE_SHA256 "{plan.sha256}"\n')
    raw = ", ".join(f"0x{plan.sha256[i : i + 2]}" for i in range(0, 64, 2))
    h.append(
        f"/* The same 32 bytes, e.g. for a STATUS message: uint8_t h[32] = {up}_SOURCE_SHA256_BYTES; */\n"
    )
    h.append(f"#define {up}_SOURCE_SHA256_BYTES {{{raw}}}\n")
    h.append(
        f"#define {up}_ARENA_BYTES {plan.arena_bytes}u /* activation RAM, planned from tensor lifetimes */\n"
    )
    h.append(f"#define {up}_ARENA_WORDS {-(-plan.arena_bytes // 4)}u /* declare the arena as int32_t[] */\n")
    h.append(
        f"#define {up}_CONST_BYTES {plan.const_bytes}u /* weights, biases, multipliers, tables (flash) */\n"
    )
    h.append(f"#define {up}_MACS {plan.macs}u\n")
    h.append(f"#define {up}_INPUT_BYTES {in_t.nbytes}u\n#define {up}_INPUT_ELEMENTS {in_t.n_elements}u\n")
    h.append(f"#define {up}_OUTPUT_BYTES {out_t.nbytes}u\n#define {up}_OUTPUT_ELEMENTS {out_t.n_elements}u\n")
    if in_t.scales.size:
        h.append(
            f"#define {up}_INPUT_SCALE {_c_float(in_t.scale)}\n#define {up}_INPUT_ZERO_POINT ({in_t.zero_point})\n"
        )
    if out_t.scales.size:
        h.append(
            f"#define {up}_OUTPUT_SCALE {_c_float(out_t.scale)}\n#define {up}_OUTPUT_ZERO_POINT ({out_t.zero_point})\n"
        )
    h.append(f"\nextern const vs_model_t {name};\n")
    if normalisation is not None:
        n = len(normalisation[0])
        h.append(
            f"\n#define {up}_N_FEATURES {n}u\n/* Model input = (feature - mean) / std, then quantized. */\n"
        )
        h.append(f"extern const float {name}_norm_mean[{n}];\nextern const float {name}_norm_std[{n}];\n")
    h.append(f"\n#endif /* {up}_DATA_H */\n")

    c = [_banner(src, plan.sha256), f'#include <stddef.h>\n\n#include "{name}_data.h"\n\n']
    op_rows = []
    for i, op in enumerate(plan.ops):
        c.append(f"/* op {i}: {op.tflite_name} */\n")
        refs: dict[str, str] = {}
        for suffix, ctype, vals in op.arrays:
            arr = f"{name}_op{i}_{suffix}"
            c.append(_c_array(ctype, arr, vals))
            refs[suffix] = arr
        fields = dict(op.fields)
        if "q" in fields:
            q = dict(fields["q"])
            q["multiplier"] = refs["m"]
            q["shift"] = refs["s"]
            fields["q"] = q
        if op.params_type in ("vs_nn_fc_params_t",):
            fields["weights"] = refs["w"]
            fields["bias"] = refs.get("b", "NULL")
        if op.params_type == "vs_nn_conv_params_t":
            fields["filter"] = refs["w"]
            fields["bias"] = refs.get("b", "NULL")
        if op.params_type == "vs_nn_lut_params_t":
            fields["table"] = refs["t"]
        c.append(f"static const {op.params_type} {name}_op{i}_params = {{\n{_c_struct(fields)}\n}};\n\n")
        in2 = ind[op.inputs[1]] if len(op.inputs) > 1 else -1
        op_rows.append(
            f"    {{{op.code}u, {ind[op.inputs[0]]}, {in2}, {ind[op.output]}, &{name}_op{i}_params}}, "
            f"/* {C_OP_NAMES[op.code]} */"
        )
    c.append(
        f"static const vs_model_op_t {name}_ops[{len(plan.ops)}] = {{\n" + "\n".join(op_rows) + "\n};\n\n"
    )
    t_rows = []
    for ti, (off, nb) in plan.tensor_offsets.items():
        if ti in plan.const_tensors:
            c.append(_c_array("int8_t", f"{name}_const{ti}", plan.const_tensors[ti]))
            t_rows.append(f"    {{0u, {nb}u, {name}_const{ti}}}, /* constant */")
        else:
            t_rows.append(f"    {{{off}u, {nb}u, NULL}},")
    c.append("\n")
    c.append(
        f"static const vs_model_tensor_t {name}_tensors[{len(t_rows)}] = {{\n"
        + "\n".join(t_rows)
        + "\n};\n\n"
    )
    model_fields = {
        "name": f'"{name}"',
        "source_sha256": f"{up}_SOURCE_SHA256",
        "ops": f"{name}_ops",
        "n_ops": len(plan.ops),
        "tensors": f"{name}_tensors",
        "n_tensors": len(t_rows),
        "arena_bytes": f"{up}_ARENA_BYTES",
        "input_tensor": ind[in_t.index],
        "output_tensor": ind[out_t.index],
        "input_type": dtype_code(in_t),
        "output_type": dtype_code(out_t),
        "input_bytes": f"{up}_INPUT_BYTES",
        "output_bytes": f"{up}_OUTPUT_BYTES",
        "input_scale": float(in_t.scale) if in_t.scales.size else 0.0,
        "input_zero_point": in_t.zero_point,
        "output_scale": float(out_t.scale) if out_t.scales.size else 0.0,
        "output_zero_point": out_t.zero_point,
    }
    c.append(f"const vs_model_t {name} = {{\n{_c_struct(model_fields)}\n}};\n")
    if normalisation is not None:
        mean, std = normalisation
        for arr, fvals in ((f"{name}_norm_mean", mean), (f"{name}_norm_std", std)):
            body = ",\n".join("    " + _c_float(float(v)) for v in fvals)
            c.append(f"\nconst float {arr}[{len(fvals)}] = {{\n{body},\n}};\n")
    return "".join(h), "".join(c)
