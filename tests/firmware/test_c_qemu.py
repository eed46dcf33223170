"""Boot the benchmark image on QEMU - Cortex-M4F (mps2-an386) and RV32IMC (virt) - and check what it computed.

Proves the cross builds run: the features each image prints (float32 bit patterns) must match vibsentry.dsp on
the same real frame within the parity tolerances, CMSIS-DSP's arm_mfcc_f32 on the emulated core must match the
host cmsisdsp package on that frame, and the SCORE frame the C encoder produced must decode in Python.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support import cqemu
from tests.support.cbuild import ROOT, make
from tests.support.cfeatures import assert_parity
from vibsentry.dsp import FeatureParams
from vibsentry.dsp.features import features_from_frames


def _f32(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", bits))[0])


@pytest.fixture(scope="module", params=[cqemu.M4, cqemu.RV32], ids=lambda t: t.name)
def image_output(request: pytest.FixtureRequest) -> dict[str, dict[int, int] | int | str]:
    target: cqemu.Target = request.param
    reason = cqemu.require_qemu(target)
    if reason:
        pytest.skip(reason)
    elf = make(target.name).build_dir / target.image / "vs_bench.elf"
    out = cqemu.parse_output(cqemu.run_image(elf, target=target))
    out["TARGET"] = target.name
    return out


def _bench_frame() -> np.ndarray:
    sys.path.insert(0, str(ROOT / "benchmarks" / "qemu"))
    try:
        from gen_bench_data import bench_frame  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return np.asarray(bench_frame(), dtype=np.float32)


def test_image_reports_hash_and_pipeline_events(image_output: dict) -> None:
    assert image_output["HASH"] == FeatureParams().feature_hash
    assert image_output["TRIGGER"] == 8  # heartbeat of one frame
    assert image_output["EVENT"] == 0
    if image_output["TARGET"] == "cortex-m4":  # only the M4 start-up paints its stack
        assert 0 < int(image_output["STACK"]) < 4096


def test_features_on_the_m4_match_python(image_output: dict) -> None:
    p = FeatureParams()
    feats = image_output["FEAT"]
    assert sorted(feats) == list(range(p.n_features))
    c = np.array([[_f32(feats[i]) for i in range(p.n_features)]], dtype=np.float32)
    frame = _bench_frame()[None, :]
    assert_parity(c, features_from_frames(frame, params=p), frame, p)


def test_cmsis_mfcc_on_the_m4_matches_host_cmsisdsp(image_output: dict) -> None:
    cmsisdsp = pytest.importorskip("cmsisdsp")
    from vibsentry.dsp.mel import dct_matrix, mel_filter_table
    from vibsentry.dsp.spectral import window_coefs

    p = FeatureParams(frame_length=1024, n_mels=20, n_mfcc=13, features=("mfcc",))
    mel = mel_filter_table(p)
    inst = cmsisdsp.arm_mfcc_instance_f32()
    status = cmsisdsp.arm_mfcc_init_f32(
        inst, 1024, 20, 13, dct_matrix(13, 20).ravel(), mel.pos, mel.lengths, mel.coefs, window_coefs(p)
    )
    assert status == 0
    tmp = np.zeros(2 * 1024 + 2, dtype=np.float32)
    want = np.asarray(cmsisdsp.arm_mfcc_f32(inst, _bench_frame().copy(), tmp), dtype=np.float64)
    got = np.array([_f32(image_output["MFCC"][i]) for i in range(13)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * np.abs(want).max())


def test_trace_counts_every_region() -> None:
    reason = cqemu.require_qemu()
    if reason:
        pytest.skip(reason)
    elf = make("cortex-m4").build_dir / cqemu.M4.image / "vs_bench.elf"
    counts = cqemu.count_regions(elf)
    assert len(counts) == len(cqemu.REGIONS)
    assert 0 < counts[0] < 20  # the empty region: just the marker call
    assert counts[2] > counts[6] > 10_000  # features include an rfft; the rfft alone is tens of thousands
    assert counts[3] == 0 or counts[3] < 5  # no model in this image: the region is empty
    # Deterministic: a second run counts the same instructions.
    assert cqemu.count_regions(elf) == counts


def test_score_frame_from_the_m4_decodes_in_python(image_output: dict) -> None:
    from vibsentry.protocol import Score, decode_frame

    p = FeatureParams()
    frame = decode_frame(bytes.fromhex(str(image_output["WIRE"])))
    assert frame.header.node_id == 7 and frame.header.seq == 1 and frame.header.timestamp_us == 85333
    msg = frame.message
    assert isinstance(msg, Score)
    feats = image_output["FEAT"]
    stats = p.feature_names.index("rms")
    # Same float32 bits: the C encoder carried the features to the wire unchanged.
    assert msg.rms_g == _f32(feats[stats]) and msg.peak_g == _f32(feats[stats + 1])
    assert msg.velocity_rms_mm_s == _f32(feats[p.n_features - 1])
    assert (msg.class_index, msg.threshold, msg.frame_index) == (-1, 1.0, 0)


@pytest.mark.slow
@pytest.mark.needs_tf
@pytest.mark.parametrize("target", [cqemu.M4, cqemu.RV32], ids=lambda t: t.name)
def test_int8_autoencoder_on_target_matches_tflite_reference(target: cqemu.Target, tmp_path: Path) -> None:
    """The node pipeline with an exported INT8 40-32-16-32-40 autoencoder, run on the emulated core: its int8
    output equals tf.lite.Interpreter's reference kernels on the same int8 input, and its score is the float32
    reconstruction MSE of those outputs."""
    reason = cqemu.require_qemu(target)
    if reason:
        pytest.skip(reason)
    pytest.importorskip("tensorflow")
    from tests.support import tflite_models
    from vibsentry.codegen.lower import lower
    from vibsentry.codegen.render import render
    from vibsentry.codegen.tflite_reader import read_tflite
    from vibsentry.dsp import extract_features
    from vibsentry.dsp.io import read_recording

    content = tflite_models.convert("autoencoder")
    tfl = tmp_path / "ae.tflite"
    tfl.write_bytes(content)
    p = FeatureParams()
    wav = sorted((ROOT / "sample_data" / "synthetic").glob("*normal*.wav"))[0]
    x = extract_features(read_recording(wav).data[:, 0], params=p)
    mean, std = x.mean(axis=0), x.std(axis=0) + np.float32(1e-3)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    h, c = render(
        lower(read_tflite(tfl)),
        name="vs_model",
        source_name=tfl.name,
        normalisation=([float(v) for v in mean], [float(v) for v in std]),
    )
    (model_dir / "vs_model_data.h").write_text(h)
    (model_dir / "vs_model_data.c").write_text(c)
    # A build directory of its own: the model is compiled into the image.
    bdir = ROOT / "firmware_core" / "build" / "variant_qemu_model"
    make_target = "qemu-m4" if target is cqemu.M4 else "rv32imc-probe"
    b = make(make_target, build_dir=bdir, extra=(f"MODEL_DIR={model_dir}",))
    elf = b.build_dir / (target.image + "-model") / "vs_bench.elf"
    out: dict = cqemu.parse_output(cqemu.run_image(elf, target=target))  # type: ignore[type-arg]

    feats = np.array([_f32(out["FEAT"][i]) for i in range(p.n_features)], dtype=np.float32)
    q_in = np.array([out["IN"][i] for i in range(40)], dtype=np.uint8).view(np.int8)
    q_out = np.array([out["OUT"][i] for i in range(40)], dtype=np.uint8).view(np.int8)
    interp = tflite_models.reference_interpreter(content)
    want = tflite_models.run_reference(interp, q_in[None, :])[0]
    np.testing.assert_array_equal(q_out, want)  # bit-exact on the target

    din, dout = interp.get_input_details()[0], interp.get_output_details()[0]
    z = (feats - mean.astype(np.float32)) / std.astype(np.float32)
    s_in, zp_in = din["quantization"]
    ref_q = np.clip(np.round(z / np.float32(s_in)) + zp_in, -128, 127)
    assert np.abs(ref_q - q_in).max() <= 1  # input quantization (C rounds half away from zero)
    s_out, zp_out = dout["quantization"]
    acc = np.float32(0)
    for i in range(40):
        d = np.float32(s_out) * np.float32(int(q_out[i]) - zp_out) - z[i]
        acc = np.float32(acc + d * d)
    assert _f32(int(out["SCORE"])) == pytest.approx(float(acc / np.float32(40)), rel=1e-6)


def test_raw_int16_trigger_on_target_gives_the_exact_levels(image_output: dict) -> None:
    """The image's last vs_trigger_push_i16 block (256 counts, 4096 per g; the DSP path on the M4) measures the
    levels of the float64 truth within float32 rounding."""
    f = _bench_frame() * np.float32(4096)
    f = np.clip(f, np.float32(-32768), np.float32(32767))
    counts = np.trunc(np.where(f >= 0, f + np.float32(0.5), f - np.float32(0.5))).astype(np.int64)
    last = counts[-256:].astype(np.float64) / 4096.0
    assert image_output["TRIGGER_I16"] == 8  # heartbeat, as the float trigger
    assert _f32(int(image_output["RMS_I16"])) == pytest.approx(last.std(), rel=1e-6)
    peak = max(last.max() - last.mean(), last.mean() - last.min())
    assert _f32(int(image_output["PEAK_I16"])) == pytest.approx(peak, rel=1e-6)
