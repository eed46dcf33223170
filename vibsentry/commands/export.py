"""``vibsentry export``: turn a bundle's INT8 model into C for the firmware (vs_model_data.[ch])."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vibsentry.errors import UsageError

HELP = "generate C (vs_model_data.[ch], vs_feature_config.h) from a model bundle for the firmware"
DESCRIPTION = """\
Generate the C a sensor node needs to run a bundle's INT8 model with the firmware's vs_nn runtime:

  vs_model_data.h / .c   weights, biases, per-channel multipliers and shifts, the op list and the tensor
                         arena plan (VS_MODEL_ARENA_BYTES of RAM), input/output quantization, and the
                         bundle's feature normalisation (mean/std)
  vs_feature_config.h    the bundle's FeatureParams for the C feature pipeline, with its feature_hash

Every file starts with a "GENERATED - do not edit" banner naming the source model and its sha256. The C
runtime gives outputs identical, bit for bit, to TFLite's reference kernels. Supported operators:
FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MEAN, ADD, RELU, RELU6, RELU_N1_TO_1,
LOGISTIC, TANH, SOFTMAX, RESHAPE, EXPAND_DIMS, SQUEEZE, QUANTIZE, DEQUANTIZE; any other operator is refused
with its name. The output directory is written atomically (it never exists half-written).

BUNDLE may also be a bare .tflite file (then no vs_feature_config.h and no normalisation are written).
DIR may be the bundle itself: the generated files are then added to it (docs/bundle.md), nothing else
changes. --force replaces an existing DIR, never one that contains BUNDLE.

examples:
  vibsentry export bundles/pump7 --target c --out firmware_stm32/model
  vibsentry export bundles/pump7 --out bundles/pump7
  vibsentry export model.tflite --out gen/ --force --json
  vibsentry export bundles/pump7 --out gen/ --validate 2000
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry export``."""
    p.add_argument(
        "bundle", metavar="BUNDLE", help="bundle directory (from 'vibsentry train') or a .tflite file"
    )
    p.add_argument("--target", default="c", choices=["c"], help="what to generate (only 'c' for now)")
    p.add_argument(
        "--out", "-o", required=True, metavar="DIR", help="output directory (new, or the bundle itself)"
    )
    p.add_argument("--name", default="vs_model", help="C symbol of the model (default vs_model)")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    p.add_argument(
        "--validate",
        nargs="?",
        type=int,
        const=1000,
        metavar="N",
        help="compile the result on this machine and check it against TFLite's reference kernels on N random "
        "inputs (default 1000; needs a C compiler, a source checkout and ai-edge-litert or tensorflow)",
    )
    p.add_argument("--json", action="store_true", help="print the memory report as JSON on stdout")


#: C99 keywords (ISO/IEC 9899:1999 6.4.1) and C11's: a model named after one would not compile.
C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if inline int "
    "long register restrict return short signed sizeof static struct switch typedef union unsigned void "
    "volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert "
    "_Thread_local".split()
)


def check_c_name(name: str) -> None:
    """Refuse a ``--name`` that is not a usable C identifier: ASCII letters, digits and ``_`` not starting with
    a digit, not a keyword, not reserved for the implementation (C99 7.1.3: ``__x`` and ``_X``)."""
    reserved = name.startswith("__") or (len(name) > 1 and name[0] == "_" and name[1].isupper())
    if name in C_KEYWORDS:
        raise UsageError(f"--name {name!r}: a C keyword")
    if reserved:
        raise UsageError(f"--name {name!r}: reserved for the C implementation")
    if not (name.isascii() and name.isidentifier()):
        raise UsageError(
            f"--name {name!r}: not a C identifier (ASCII letters, digits, _; not starting with a digit)"
        )


def run(args: argparse.Namespace) -> int:
    """Export; prints the RAM (arena) and flash (constant data) the model needs."""
    from vibsentry.codegen.export import export_c
    from vibsentry.codegen.host import validate_c
    from vibsentry.errors import ExportError

    check_c_name(args.name)
    if args.validate is not None and args.validate < 1:
        raise UsageError(f"--validate {args.validate}: the number of inputs must be at least 1")
    res = export_c(Path(args.bundle), Path(args.out), name=args.name, force=args.force)
    rep = res.plan.report()
    rep["out_dir"] = str(res.out_dir)
    rep["files"] = list(res.files)
    if args.validate is not None:
        src = Path(args.bundle)
        content = (src / "model.tflite" if src.is_dir() else src).read_bytes()
        check = validate_c(res.out_dir, content, name=args.name, n=args.validate)
        rep["validation"] = check
        if check["identical"] != check["inputs"]:
            raise ExportError(
                f"{res.out_dir}: the generated C differs from TFLite's reference kernels on "
                f"{check['inputs'] - check['identical']} of {check['inputs']} inputs (first: input "
                f"{check['first_difference']}); please report this model"
            )
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(f"wrote {', '.join(res.files)} to {res.out_dir}")
        print(f"{'#':>3}  {'op':<18} {'MACs':>7} {'flash B':>8} {'out B':>6} {'arena @':>7}")
        for i, layer in enumerate(rep["layers"]):
            print(
                f"{i:>3}  {layer['op']:<18} {layer['macs']:>7} {layer['const_bytes']:>8} "
                f"{layer['output_bytes']:>6} {layer['arena_offset']:>7}"
            )
        print(
            f"{len(rep['ops'])} ops ({', '.join(dict.fromkeys(rep['ops']))}); "
            f"RAM: arena {rep['arena_bytes']} B; flash: {rep['const_bytes']} B of weights and tables; "
            f"{rep['macs']} MACs per inference"
        )
        if args.validate is not None:
            print(
                f"validated: {rep['validation']['identical']}/{rep['validation']['inputs']} random inputs give "
                "outputs identical to TFLite's reference kernels"
            )
    return 0
