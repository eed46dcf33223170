"""Write tests/vectors/model_update/: signed model images for the node's update state machine tests.

firmware_core/tests/test_model_update.c (ASan/UBSan) reads these files; tests/firmware/test_model_update.py checks that
they are what this script makes now (staleness) and uses the same helpers to sign its own variants.

Two int8 autoencoders of the default FeatureParams (40 features; tests/support/tflite_models "autoencoder" and
"fc_per_tensor") become model images v1 and v2, with an all-zero normalisation mean and unit std. Keys come from
fixed seeds (Ed25519 signatures are deterministic), so the files are reproducible. Each manifest carries
"selftest_sha256": SHA-256 of the image's output bytes for the input "every int8 input at the zero point",
computed with TFLite's reference kernels (the node's self-test, firmware_core/include/vs/vs_model_update.h).

Usage: .venv/bin/python scripts/gen_model_update_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "vectors" / "model_update"
DEFAULT_FEATURE_HASH = "275c8cb501636838ef94d2c28853ac2fcc230955c323b9881b4772301c2d7ab4"
KEY_SEEDS = {"a": bytes(range(32)), "b": bytes(range(100, 132))}


def private_key(which: str):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(KEY_SEEDS[which])


def public_raw(which: str) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key(which).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def selftest_sha256(tflite: bytes) -> str:
    """SHA-256 (hex) of the model's int8 output for the all-zero-point input, TFLite reference kernels."""
    import numpy as np

    from tests.support import tflite_models as tm

    interp = tm.reference_interpreter(tflite)
    din = interp.get_input_details()[0]
    zp = int(din["quantization"][1])
    x = np.full((1, int(np.prod(din["shape"]))), zp, dtype=din["dtype"])
    return hashlib.sha256(tm.run_reference(interp, x)[0].astype(np.int8).tobytes()).hexdigest()


def manifest(image: bytes, *, counter: int, feature_hash: str = DEFAULT_FEATURE_HASH,
             selftest: str | None = None, model_id: str = "test-model") -> bytes:  # fmt: skip
    """Canonical signed-manifest bytes (vibsentry.signing's form) for ``image``."""
    from vibsentry.signing import MANIFEST_FORMAT, MANIFEST_VERSION, canonical_manifest

    doc: dict = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "model_id": model_id,
        "version": f"v{counter}",
        "counter": counter,
        "image": {"file": "model.vsm", "size": len(image), "sha256": hashlib.sha256(image).hexdigest()},
        "feature_hash": feature_hash,
    }
    if selftest is not None:
        doc["selftest_sha256"] = selftest
    return canonical_manifest(doc)


def sign(raw: bytes, which: str = "a") -> bytes:
    return private_key(which).sign(raw)


def images() -> dict[str, tuple[bytes, bytes]]:
    """{'v1': (image, tflite), 'v2': (image, tflite)}."""
    from tests.support import tflite_models as tm
    from vibsentry.codegen.model_image import image_from_tflite

    out = {}
    for name, arch in (("v1", "autoencoder"), ("v2", "fc_per_tensor")):
        content = tm.convert(arch)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.tflite"
            path.write_bytes(content)
            image = image_from_tflite(
                path,
                normalisation=([0.0] * tm.N_FEATURES, [1.0] * tm.N_FEATURES),
                feature_hash=DEFAULT_FEATURE_HASH,
            )
        out[name] = (image, content)
    return out


def render() -> dict[str, bytes]:
    """Every file of the vector directory, by name."""
    files: dict[str, bytes] = {
        "key_a.pub": public_raw("a"),
        "key_b.pub": public_raw("b"),
        "feature_hash.bin": bytes.fromhex(DEFAULT_FEATURE_HASH),
    }
    imgs = images()
    for name, counter in (("v1", 1), ("v2", 2)):
        image, tfl = imgs[name]
        files[f"{name}.vsm"] = image
        files[f"{name}.tflite"] = tfl  # tests build small bundles from it without TensorFlow
        raw = manifest(image, counter=counter, selftest=selftest_sha256(tfl))
        files[f"{name}.json"] = raw
        files[f"{name}.sig"] = sign(raw)
    image2 = imgs["v2"][0]
    files["v2_key_b.sig"] = sign(files["v2.json"], "b")  # a key the node does not embed
    bad_self = manifest(image2, counter=2, selftest="00" * 32)  # image fine, expected output wrong
    files["v2_badself.json"], files["v2_badself.sig"] = bad_self, sign(bad_self)
    other_fh = manifest(image2, counter=2, feature_hash="11" * 32)
    files["v2_feature.json"], files["v2_feature.sig"] = other_fh, sign(other_fh)
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed files differ")
    args = ap.parse_args(argv)
    files = render()
    stale = [n for n, b in files.items() if not (OUT / n).is_file() or (OUT / n).read_bytes() != b]
    if args.check:
        for n in stale:
            print(f"stale: {OUT / n}", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for n in stale:
        (OUT / n).write_bytes(files[n])
    print(f"{len(stale)} of {len(files)} files written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
