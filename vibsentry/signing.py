"""Ed25519 keys and signed model manifests (docs/signing.md).

A plant keeps one private key on the training server; nodes embed the public key(s) at build time. ``sign``
adds to a bundle:

- ``model.vsm``: the model image the node runs (docs/model_image.md), built from the bundle;
- ``signed_manifest.json``: model id, version, monotonic counter, image size and SHA-256, feature_hash, the
  bundle's ``bundle_sha256`` and the signing key's id, as canonical JSON (sorted keys, 2-space indent, LF);
- ``signed_manifest.sig``: the raw 64-byte Ed25519 signature (RFC 8032) over the exact bytes of that file.

The firmware checks the same signature with its own verifier (firmware_core vs_ed25519.h), then the image's
SHA-256 and size, the counter (never older than the running model's) and the feature_hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vibsentry._protocol_spec import MAX_MANIFEST
from vibsentry.errors import KeyFileError, SignatureError
from vibsentry.fileio import atomic_open, write_atomic

PRIVATE_KEY_FILE = "private.pem"
PUBLIC_KEY_FILE = "public.key"
MANIFEST_FILE = "signed_manifest.json"
SIGNATURE_FILE = "signed_manifest.sig"
MANIFEST_FORMAT = "vibsentry.signed_manifest"
MANIFEST_VERSION = 1
MAX_COUNTER = 2**32 - 1  # the node stores and compares it as uint32


@dataclass(frozen=True)
class KeyPair:
    """Paths written by :func:`new_keypair` and the key id (first 16 hex digits of SHA-256(public key))."""

    private: Path
    public: Path
    key_id: str


@dataclass(frozen=True)
class Manifest:
    """A verified signed manifest.

    Attributes
    ----------
    doc : dict
        The parsed ``signed_manifest.json``.
    raw : bytes
        Its exact bytes (what the signature covers).
    signature : bytes
        64 bytes.
    """

    doc: dict[str, Any]
    raw: bytes
    signature: bytes

    @property
    def counter(self) -> int:
        return int(self.doc["counter"])


def key_id(public_raw: bytes) -> str:
    """Short id of a raw 32-byte public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def new_keypair(out_dir: str | os.PathLike[str]) -> KeyPair:
    """Create ``private.pem`` (PKCS#8 PEM, mode 0600) and ``public.key`` (raw 32 bytes) in ``out_dir``.

    Raises
    ------
    KeyFileError
        If either file already exists (a key is never overwritten: nodes may already trust it).
    """
    out = Path(out_dir)
    priv, pub = out / PRIVATE_KEY_FILE, out / PUBLIC_KEY_FILE
    for f in (priv, pub):
        if f.exists() or f.is_symlink():
            raise KeyFileError(f"{f}: already exists; refusing to overwrite a key (choose another --out)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = _public_raw(key.public_key())
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_open(priv, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)  # before a single key byte is written
            fh.write(pem)
        write_atomic(pub, raw)
    except BaseException:
        # Both files or neither: a lone private.pem would make every retry refuse ('already exists').
        with contextlib.suppress(OSError):
            priv.unlink(missing_ok=True)
            if created:
                out.rmdir()
        raise
    return KeyPair(priv, pub, key_id(raw))


def _read_key(path: str | os.PathLike[str], which: str) -> tuple[Path, bytes]:
    p = Path(path)
    try:
        return p, p.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{p}: cannot read the {which} key ({exc.strerror or exc})") from None


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Read an unencrypted PEM Ed25519 private key (as :func:`new_keypair` writes)."""
    p, data = _read_key(path, "private")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{p}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{p}: a {type(key).__name__.lstrip('_')}, not an Ed25519 private key")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Read a raw 32-byte Ed25519 public key file."""
    p, data = _read_key(path, "public")
    if len(data) != 32:
        raise KeyFileError(f"{p}: a public key file holds 32 raw bytes, this one has {len(data)}")
    try:
        return Ed25519PublicKey.from_public_bytes(data)
    except ValueError as exc:
        raise KeyFileError(f"{p}: not an Ed25519 public key ({exc})") from None


def canonical_manifest(doc: dict[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, 2-space indent, ASCII, one trailing LF."""
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode("ascii")


def _read_signed(bundle: Path) -> tuple[bytes, bytes]:
    mpath, spath = bundle / MANIFEST_FILE, bundle / SIGNATURE_FILE
    try:
        raw = mpath.read_bytes()
        sig = spath.read_bytes()
    except FileNotFoundError as exc:
        raise SignatureError(f"{exc.filename}: missing; the bundle is not signed (vibsentry sign)") from None
    except OSError as exc:
        raise SignatureError(f"{exc.filename}: unreadable ({exc.strerror or exc})") from None
    if len(sig) != 64:
        raise SignatureError(f"{spath}: an Ed25519 signature is 64 bytes, this file has {len(sig)}")
    return raw, sig


def previous_counter(bundle: str | os.PathLike[str]) -> int | None:
    """Counter of the bundle's current manifest (not verified; None when unsigned or unreadable)."""
    try:
        doc = json.loads((Path(bundle) / MANIFEST_FILE).read_text(encoding="utf-8"))
        return int(doc["counter"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def selftest_sha256(bundle: Any) -> str:
    """SHA-256 (hex) of the INT8 model's raw output for the all-zero-point input (one row), computed with
    TFLite's reference kernels, which the C runtime matches bit for bit: a node runs the same input after an
    update and compares (a self-test that the image computes what was trained, not only that it runs)."""
    import numpy as np

    m = bundle.model("int8")
    x = np.full((1, m.n_inputs), m.input_quant[1], dtype=m.input_dtype)
    return hashlib.sha256(np.ascontiguousarray(m.run(x)[0]).tobytes()).hexdigest()


def sign_bundle(
    bundle: str | os.PathLike[str],
    key_path: str | os.PathLike[str],
    *,
    counter: int | None = None,
    model_id: str | None = None,
    version: str | None = None,
) -> Manifest:
    """Write ``model.vsm``, ``signed_manifest.json`` and ``signed_manifest.sig`` into a verified bundle.

    Parameters
    ----------
    bundle : path-like
        Bundle directory (checked with :func:`vibsentry.runtime.bundle.load_bundle` first).
    key_path : path-like
        PEM Ed25519 private key.
    counter : int, optional
        Monotonic version counter, 1 .. 2^32 - 1; must exceed the bundle's previous manifest's counter.
        Default: the current Unix time in seconds, or previous + 1 if that is not larger.
    model_id : str, optional
        Stable name of the model line (default: the bundle directory's name).
    version : str, optional
        Human version label (default: the bundle's ``created_at``).

    Each file is replaced atomically (temp + rename), the image first; until the signature is written a
    reader sees a pair that does not verify, never a wrong one that does.
    """
    from vibsentry.codegen.model_image import IMAGE_FILE, image_from_bundle
    from vibsentry.runtime.bundle import load_bundle

    b = Path(bundle)
    loaded = load_bundle(b)
    meta = loaded.meta
    key = load_private_key(key_path)
    prev = previous_counter(b)
    if counter is None:
        counter = max(int(time.time()), (prev or 0) + 1)
    if not 1 <= counter <= MAX_COUNTER:
        raise SignatureError(f"counter {counter} is outside 1 .. {MAX_COUNTER}")
    if prev is not None and counter <= prev:
        raise SignatureError(
            f"{b / MANIFEST_FILE}: counter {counter} is not above the bundle's current {prev}; "
            "nodes refuse a model whose counter does not increase"
        )
    image = image_from_bundle(b)
    doc = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "model_id": model_id or b.resolve().name,
        "version": version or str(meta.get("created_at", "")),
        "counter": counter,
        "image": {"file": IMAGE_FILE, "size": len(image), "sha256": hashlib.sha256(image).hexdigest()},
        "feature_hash": str(meta["feature_hash"]),
        "bundle_sha256": str(meta["bundle_sha256"]),
        "selftest_sha256": selftest_sha256(loaded),
        "key_id": key_id(_public_raw(key.public_key())),
        "signed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    raw = canonical_manifest(doc)
    if len(raw) > MAX_MANIFEST:
        raise SignatureError(
            f"{b / MANIFEST_FILE}: the manifest would be {len(raw)} bytes, more than the {MAX_MANIFEST} a "
            "MODEL_MANIFEST message carries; use a shorter --model-id / --version"
        )
    sig = key.sign(raw)
    write_atomic(b / IMAGE_FILE, image)
    write_atomic(b / MANIFEST_FILE, raw)
    write_atomic(b / SIGNATURE_FILE, sig)
    return Manifest(doc, raw, sig)


def verify_bundle(bundle: str | os.PathLike[str], public_key_path: str | os.PathLike[str]) -> Manifest:
    """Check a signed bundle the way a node does, plus the bundle's own checksums.

    The signature over the manifest's exact bytes under the given public key, the manifest's fields, the
    image's size and SHA-256, the feature_hash and bundle_sha256 against ``bundle.json`` (which
    :func:`~vibsentry.runtime.bundle.load_bundle` verifies in turn).

    Raises
    ------
    SignatureError
        Naming the file and what does not match.
    """
    from vibsentry.codegen.model_image import read_header
    from vibsentry.errors import ExportError
    from vibsentry.runtime.bundle import load_bundle

    b = Path(bundle)
    pub = load_public_key(public_key_path)
    raw, sig = _read_signed(b)
    mpath = b / MANIFEST_FILE
    try:
        pub.verify(sig, raw)
    except InvalidSignature:
        raise SignatureError(
            f"{b / SIGNATURE_FILE}: signature over {MANIFEST_FILE} does not verify with {public_key_path} "
            f"(key id {key_id(_public_raw(pub))}); signed by another key, or the manifest or signature changed"
        ) from None
    try:
        doc = json.loads(raw.decode("ascii"))
        if doc["format"] != MANIFEST_FORMAT or doc["format_version"] != MANIFEST_VERSION:
            raise SignatureError(
                f"{mpath}: format {doc['format']!r} version {doc['format_version']!r} unsupported"
            )
        image_doc = doc["image"]
        name, size, digest = str(image_doc["file"]), int(image_doc["size"]), str(image_doc["sha256"])
        counter = int(doc["counter"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise SignatureError(f"{mpath}: signed but malformed ({type(exc).__name__}: {exc})") from None
    if not 1 <= counter <= MAX_COUNTER:
        raise SignatureError(f"{mpath}: counter {counter} is outside 1 .. {MAX_COUNTER}")
    if "/" in name or name in ("", ".", ".."):
        raise SignatureError(f"{mpath}: image file name {name!r} is not a plain file of the bundle")
    try:
        image = (b / name).read_bytes()
    except OSError as exc:
        raise SignatureError(
            f"{b / name}: the signed image is missing or unreadable ({exc.strerror})"
        ) from None
    if len(image) != size or hashlib.sha256(image).hexdigest() != digest:
        raise SignatureError(
            f"{b / name}: {len(image)} bytes, sha256 {hashlib.sha256(image).hexdigest()[:16]}…; the manifest "
            f"signed {size} bytes, sha256 {digest[:16]}…"
        )
    try:
        info = read_header(image, where=str(b / name))
    except ExportError as exc:
        raise SignatureError(str(exc)) from None
    loaded = load_bundle(b)
    meta = loaded.meta
    if "selftest_sha256" in doc and doc["selftest_sha256"] != selftest_sha256(loaded):
        raise SignatureError(
            f"{mpath}: selftest_sha256 differs from the bundle model's output on the self-test input"
        )
    for field, have in (("feature_hash", meta["feature_hash"]), ("bundle_sha256", meta["bundle_sha256"])):
        if doc.get(field) != have:
            raise SignatureError(f"{mpath}: {field} {str(doc.get(field))[:16]}… does not match bundle.json's")
    if info.feature_hash != doc["feature_hash"]:
        raise SignatureError(f"{b / name}: image feature_hash differs from the manifest's")
    return Manifest(doc, raw, sig)
