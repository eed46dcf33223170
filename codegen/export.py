"""``vibsentry export --target c``: a bundle (or a bare ``.tflite``) -> generated C, written atomically.

The pipeline: :func:`~vibsentry.codegen.tflite_reader.read_tflite` -> :func:`~vibsentry.codegen.lower.lower`
(operator lowering and arena plan) -> :func:`~vibsentry.codegen.render.render` (``vs_model_data.[ch]``), plus
``vs_feature_config.h`` from the bundle's FeatureParams (:mod:`vibsentry.codegen.feature_config`).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vibsentry.codegen.feature_config import render_feature_config
from vibsentry.codegen.lower import ExportPlan, lower
from vibsentry.codegen.render import render
from vibsentry.codegen.tflite_reader import read_tflite
from vibsentry.errors import ExportError
from vibsentry.fileio import write_atomic


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_c` wrote."""

    out_dir: Path
    files: tuple[str, ...]
    plan: ExportPlan


def export_c(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    name: str = "vs_model",
    force: bool = False,
) -> ExportResult:
    """Export a bundle directory (or a bare ``.tflite``) to C, atomically.

    Parameters
    ----------
    source : path-like
        A bundle directory (verified with :func:`vibsentry.runtime.bundle.load_bundle`; its
        ``model.tflite`` is exported, plus ``vs_feature_config.h`` from its FeatureParams and the normalisation
        arrays) or a ``.tflite`` file.
    out_dir : path-like
        Output directory; written as a temp sibling and renamed into place, so it is never half-written. The
        bundle directory itself is allowed too (``docs/bundle.md``: the generated C may live in the bundle):
        then only the generated files are added or replaced, each atomically, and nothing else is touched.
    name : str
        Model symbol name (files are ``<name>_data.h`` / ``<name>_data.c``).
    force : bool
        Replace an existing ``out_dir`` (never one that contains the source).

    Returns
    -------
    ExportResult
    """
    src = Path(source)
    out = Path(out_dir)
    into_bundle = src.is_dir() and out.exists() and out.resolve() == src.resolve()
    if out.exists() and not into_bundle:
        if not force:
            raise ExportError(f"{out}: already exists (use --force to replace it)")
        if out.resolve() == src.resolve() or out.resolve() in src.resolve().parents:
            raise ExportError(f"{out}: contains the source {src}; --force would delete it")
    params = None
    normalisation = None
    if src.is_dir():
        from vibsentry.runtime.bundle import MODEL_FILE, load_bundle

        bundle = load_bundle(src)
        tfl = src / MODEL_FILE
        params = bundle.params
        normalisation = ([float(v) for v in bundle.mean], [float(v) for v in bundle.std])
    elif src.is_file():
        tfl = src
    else:
        raise ExportError(f"{src}: no such bundle directory or .tflite file")
    model = read_tflite(tfl)
    plan = lower(model)
    if src.is_dir():  # a model that passes its hash but not the bundle's declared shapes: refuse (K8)
        bundle.check_io(
            math.prod(plan.input_tensor.shape[1:]), math.prod(plan.output_tensor.shape[1:]), where=str(tfl)
        )
    h_text, c_text = render(plan, name=name, source_name=tfl.name, normalisation=normalisation)
    files = {f"{name}_data.h": h_text, f"{name}_data.c": c_text}
    if params is not None:
        files["vs_feature_config.h"] = render_feature_config(params, source=str(src / "bundle.json"))
    if into_bundle:
        for fname, text in files.items():
            write_atomic(out / fname, text)
        return ExportResult(out, tuple(sorted(files)), plan)
    # Everything goes to a temp sibling first; the rename is the only step the output name ever sees.
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for fname, text in files.items():
            (staging / fname).write_text(text, encoding="utf-8")
        if force and out.is_dir():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(out, tuple(sorted(files)), plan)
