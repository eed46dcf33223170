"""The C int8 runtime gives exactly the outputs of TFLite's reference kernels.

For every architecture in ``tests/support/tflite_models.py`` (the detector and classifiers training produces,
plus models exercising each supported operator) the ``.tflite`` is exported with ``vibsentry export``'s code
generator, compiled with the vs_nn runtime into a host shared library, and run on >= 1000 random inputs plus the
real feature vectors of the sample recordings. Every output byte must equal ``tf.lite.Interpreter`` with the
BUILTIN_REF op resolver. A sanitized (ASan + UBSan) build runs a subset with an exactly sized arena.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.support import tflite_models as tm

pytestmark = pytest.mark.needs_tf
pytest.importorskip("tensorflow")

N_RANDOM = 1200
ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "build" / "nn_bitexact.json"


@pytest.fixture(scope="session")
def real_features() -> np.ndarray:
    """Z-scored feature vectors (n, 40) of every sample recording (real CWRU excerpts and synthetic)."""
    from vibsentry.dsp import FeatureParams, extract_features
    from vibsentry.dsp.io import read_recording

    params = FeatureParams()
    rows = []
    for wav in sorted((ROOT / "sample_data").rglob("*.wav")):
        rec = read_recording(wav)
        rows.append(extract_features(rec.data[:, 0], params=params))
    if not rows:
        pytest.skip("sample_data/ has no recordings")
    x = np.concatenate(rows).astype(np.float32)
    return ((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)).astype(np.float32)


def _quantize(x: np.ndarray, scale: float, zp: int) -> np.ndarray:
    return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)


def _inputs(interp: object, real: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
    """Random inputs over the whole int8 range (and the extremes), then the real features; returns
    (inputs, number of real rows)."""
    det = interp.get_input_details()[0]  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    n = int(np.prod(det["shape"]))
    if det["dtype"] == np.int8:
        scale, zp = det["quantization"]
        rnd = rng.integers(-128, 128, size=(N_RANDOM, n)).astype(np.int8)
        extremes = np.stack([np.full(n, -128), np.full(n, 127), np.full(n, zp)]).astype(np.int8)
        return np.concatenate([rnd, extremes, _quantize(real, scale, zp)]), len(real)
    rnd = (rng.standard_normal((N_RANDOM, n)) * rng.choice([0.5, 2.0, 8.0], size=(N_RANDOM, 1))).astype(
        np.float32
    )
    return np.concatenate([rnd, real.astype(np.float32)]), len(real)


@pytest.mark.parametrize("arch", tm.ARCHITECTURES)
def test_c_runtime_matches_tflite_reference(arch: str, tmp_path: Path, real_features: np.ndarray) -> None:
    from vibsentry.codegen.export import export_c

    content = tm.convert(arch)
    src = tmp_path / f"{arch}.tflite"
    src.write_bytes(content)
    res = export_c(src, tmp_path / "gen")
    so = tm.compile_model(res.out_dir)
    interp = tm.reference_interpreter(content)
    x, n_real = _inputs(interp, real_features, seed=len(arch))
    ref = tm.run_reference(interp, x)
    lib = tm.ModelLibrary(so, x.dtype, ref.dtype, x.shape[1], ref.shape[1])
    got = lib.run(x)
    if ref.dtype == np.float32:
        same = ref.view(np.int32) == got.view(np.int32)  # bit-exact, not merely close
    else:
        same = ref == got
    bad = np.flatnonzero(~same.all(axis=1))
    assert bad.size == 0, (
        f"{arch}: {bad.size}/{len(x)} inputs give different outputs; first input {bad[0]}: "
        f"C {got[bad[0]].tolist()} vs TFLite {ref[bad[0]].tolist()}"
    )
    # The outputs must actually vary, or "identical" would prove little.
    assert len(np.unique(ref)) >= 16
    plan = res.plan
    assert lib.arena_bytes == plan.arena_bytes
    _record(arch, {"inputs": len(x), "random": len(x) - n_real, "real": n_real, "identical": len(x),
                   **{k: plan.report()[k] for k in ("arena_bytes", "const_bytes", "macs", "ops")}})  # fmt: skip


def _record(arch: str, row: dict[str, object]) -> None:
    """Keep the latest numbers per architecture for the README / benchmark (build/ is not committed)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[arch] = row
    RESULTS.write_text(json.dumps(data, indent=1))


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not found")
@pytest.mark.parametrize("arch", ["cnn1d", "add_logistic"])
def test_sanitized_runtime_matches_reference(arch: str, tmp_path: Path, real_features: np.ndarray) -> None:
    """ASan/UBSan build, arena malloc'ed to exactly the planned size: no overflow, no UB, same outputs."""
    from vibsentry.codegen.export import export_c

    content = tm.convert(arch)
    src = tmp_path / "m.tflite"
    src.write_bytes(content)
    res = export_c(src, tmp_path / "gen")
    exe = tm.compile_sanitized(res.out_dir)
    interp = tm.reference_interpreter(content)
    x, _ = _inputs(interp, real_features, seed=7)
    x = x[:300]
    proc = subprocess.run([str(exe)], input=x.tobytes(), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    ref = tm.run_reference(interp, x)
    got = np.frombuffer(proc.stdout, dtype=ref.dtype).reshape(ref.shape)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.needs_datasets
@pytest.mark.parametrize("arch", ["autoencoder", "mlp_softmax", "cnn1d"])
def test_c_runtime_matches_reference_on_cwru_features(arch: str, tmp_path: Path, datasets_dir: Path) -> None:
    """Real data beyond sample_data: drive-end features of every CWRU-10 file at 0 hp load."""
    import scipy.io

    from vibsentry.codegen.export import export_c
    from vibsentry.dsp import FeatureParams, extract_features

    params = FeatureParams()
    rows = []
    for mat in sorted((datasets_dir / "cwru").glob("*_0_*.mat")):
        doc = scipy.io.loadmat(mat)
        key = next((k for k in doc if k.endswith("_DE_time")), None)
        if key is not None:
            rows.append(extract_features(doc[key].reshape(-1).astype(np.float32), params=params))
    if not rows:
        pytest.skip(f"no CWRU 0 hp drive-end files under {datasets_dir / 'cwru'}")
    feats = np.concatenate(rows)
    z = (feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1e-6)
    content = tm.convert(arch)
    src = tmp_path / f"{arch}.tflite"
    src.write_bytes(content)
    res = export_c(src, tmp_path / "gen")
    interp = tm.reference_interpreter(content)
    scale, zp = interp.get_input_details()[0]["quantization"]
    x = _quantize(z, scale, zp)
    assert len(x) >= 1000
    ref = tm.run_reference(interp, x)
    lib = tm.ModelLibrary(tm.compile_model(res.out_dir), np.int8, ref.dtype, x.shape[1], ref.shape[1])
    np.testing.assert_array_equal(lib.run(x), ref)


@pytest.mark.parametrize(
    ("arch", "op_name"), [("logistic_lut", "LOGISTIC"), ("add_logistic", "LOGISTIC"), ("tanh", "TANH")]
)
def test_lut_tables_equal_interpreter_on_every_input(arch: str, op_name: str) -> None:
    """The exporter's LOGISTIC / TANH tables (float32 arithmetic as TFLite's LUTPopulate) against what the
    interpreter outputs, entry by entry, for every int8 value that reaches the op."""
    import tensorflow as tf

    from vibsentry.codegen.quant import logistic_table, tanh_table
    from vibsentry.codegen.tflite_reader import read_tflite

    content = tm.convert(arch)
    m = read_tflite(content=content)
    op = next(o for o in m.ops if o.name == op_name)
    tin, tout = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    make = logistic_table if op_name == "LOGISTIC" else tanh_table
    table = make(tin.scale, tin.zero_point, tout.scale, tout.zero_point)
    it = tf.lite.Interpreter(
        model_content=content,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    it.allocate_tensors()
    idx = it.get_input_details()[0]["index"]
    rng = np.random.default_rng(3)
    seen: dict[int, int] = {}
    for _ in range(1500):
        it.set_tensor(idx, rng.integers(-128, 128, size=(1, 40)).astype(np.int8))
        it.invoke()
        for a, b in zip(
            it.get_tensor(tin.index).reshape(-1), it.get_tensor(tout.index).reshape(-1), strict=True
        ):
            seen[int(a)] = int(b)
    assert len(seen) >= 200, f"only {len(seen)} distinct {op_name} inputs reached"
    wrong = {a: (table[a & 0xFF], b) for a, b in seen.items() if table[a & 0xFF] != b}
    assert not wrong, f"table entries differ (input: (ours, TFLite)): {dict(list(wrong.items())[:8])}"


@pytest.mark.parametrize(("factor", "shift"), [(1.7, 9), (0.37, -20), (3.1, 0)])
def test_int8_requantize_op_matches_reference(factor: float, shift: int, tmp_path: Path) -> None:
    """QUANTIZE int8 -> int8 (Keras never emits it; tflite_models puts one in front of the autoencoder)."""
    from vibsentry.codegen.export import export_c

    content = tm.with_requantized_input(
        tm.convert("autoencoder"), scale_factor=factor, zero_point_shift=shift
    )
    src = tmp_path / "requant.tflite"
    src.write_bytes(content)
    res = export_c(src, tmp_path / "gen")
    assert res.plan.ops[0].tflite_name == "QUANTIZE"
    x = np.concatenate([np.arange(-128, 128, dtype=np.int8).reshape(-1, 1).repeat(40, axis=1),
                        np.random.default_rng(1).integers(-128, 128, size=(1000, 40)).astype(np.int8)])  # fmt: skip
    ref = tm.run_reference(tm.reference_interpreter(content), x)
    lib = tm.ModelLibrary(tm.compile_model(res.out_dir), np.int8, np.int8, 40, 40)
    np.testing.assert_array_equal(lib.run(x), ref)


@pytest.mark.parametrize("arch", tm.ARCHITECTURES)
def test_litert_reference_kernels_agree(arch: str, tmp_path: Path) -> None:
    """The gateway scores with ai-edge-litert (no TensorFlow): its reference kernels must give the node's
    bytes too, or a node's score and the gateway's re-score of the same features would differ."""
    li = pytest.importorskip("ai_edge_litert.interpreter")
    from vibsentry.codegen.export import export_c

    content = tm.convert(arch)
    src = tmp_path / "m.tflite"
    src.write_bytes(content)
    res = export_c(src, tmp_path / "gen")
    it = li.Interpreter(model_content=content, experimental_op_resolver_type=li.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    det = it.get_input_details()[0]
    rng = np.random.default_rng(17)
    if det["dtype"] == np.int8:
        x = rng.integers(-128, 128, size=(1000, 40)).astype(np.int8)
    else:
        x = (rng.standard_normal((1000, 40)) * 3).astype(np.float32)
    want = tm.run_reference(it, x)
    lib = tm.ModelLibrary(tm.compile_model(res.out_dir), x.dtype, want.dtype, 40, want.shape[1])
    np.testing.assert_array_equal(lib.run(x).view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize(
    ("relu_to", "fc_activation"), [("RELU_N1_TO_1", None), (None, 2), (None, 3), ("RELU_N1_TO_1", 1)]
)
def test_activation_variants_match_reference(
    relu_to: str | None, fc_activation: int | None, tmp_path: Path
) -> None:
    """RELU_N1_TO_1 standalone and fused, RELU6 and RELU fused in dense layers (edited into the ADD model)."""
    from vibsentry.codegen.export import export_c

    content = tm.with_edits(tm.convert("add_logistic"), relu_to=relu_to, fc_activation=fc_activation)
    src = tmp_path / "edited.tflite"
    src.write_bytes(content)
    res = export_c(src, tmp_path / "gen")
    x = np.random.default_rng(2).integers(-128, 128, size=(1500, 40)).astype(np.int8)
    ref = tm.run_reference(tm.reference_interpreter(content), x)
    lib = tm.ModelLibrary(tm.compile_model(res.out_dir), np.int8, np.int8, 40, ref.shape[1])
    np.testing.assert_array_equal(lib.run(x), ref)
    assert len(np.unique(ref)) > 8


@pytest.mark.parametrize(
    ("const_shape", "first"), [((1, 40), False), ((40,), True), ((1,), False), ((1, 1), True)]
)
def test_add_with_constant_and_broadcast_matches_reference(
    const_shape: tuple[int, ...], first: bool, tmp_path: Path
) -> None:
    """ADD with a constant operand in flash, same shape or broadcast (scalar, [1, 1]) on either side."""
    from vibsentry.codegen.export import export_c

    content = tm.with_const_add(tm.convert("autoencoder"), const_shape=const_shape, first=first)
    src = tmp_path / "const_add.tflite"
    src.write_bytes(content)
    res = export_c(src, tmp_path / "gen")
    assert res.plan.ops[-1].tflite_name == "ADD" and res.plan.const_tensors
    x = np.random.default_rng(4).integers(-128, 128, size=(1500, 40)).astype(np.int8)
    ref = tm.run_reference(tm.reference_interpreter(content), x)
    lib = tm.ModelLibrary(tm.compile_model(res.out_dir), np.int8, np.int8, 40, ref.shape[1])
    np.testing.assert_array_equal(lib.run(x), ref)
