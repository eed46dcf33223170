"""The node's signed-manifest check (firmware_core vs_model_manifest.c) and SHA-256 (vs_sha256.c), via ctypes.

Manifests are made with vibsentry.signing's canonical form and signed with ``cryptography``; the C side must
accept them under the right embedded key (reporting which), refuse other keys and any changed byte, refuse
every malformed variant, and, for random byte mutations, either refuse or agree field by field with Python's
JSON parser.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.cbuild import build_host, run_c_test
from vibsentry.signing import canonical_manifest

OK, ERR_SIGNATURE, ERR_MANIFEST = 0, -164, -165


class Manifest(ctypes.Structure):
    _fields_ = [
        ("counter", ctypes.c_uint32),
        ("image_size", ctypes.c_uint32),
        ("image_sha256", ctypes.c_uint8 * 32),
        ("feature_hash", ctypes.c_uint8 * 32),
        ("key_index", ctypes.c_uint8),
        ("has_selftest", ctypes.c_uint8),
        ("selftest_sha256", ctypes.c_uint8 * 32),
    ]


@pytest.fixture(scope="module")
def lib() -> ctypes.CDLL:
    so = ctypes.CDLL(str(build_host().lib_so))
    so.vs_model_manifest_parse.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(Manifest)]
    so.vs_model_manifest_check.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
        ctypes.POINTER(Manifest),
    ]  # fmt: skip
    so.vs_sha256.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
    return so


def _doc(**over: object) -> dict:
    doc: dict = {
        "format": "vibsentry.signed_manifest",
        "format_version": 1,
        "model_id": 'pump "7" \\ \u00e9',  # escapes in a value the node skips
        "version": "2026-12-06T02:00:00Z",
        "counter": 42,
        "image": {"file": "model.vsm", "size": 2204, "sha256": hashlib.sha256(b"img").hexdigest()},
        "feature_hash": hashlib.sha256(b"features").hexdigest(),
        "bundle_sha256": hashlib.sha256(b"bundle").hexdigest(),
        "key_id": "0123456789abcdef",
        "signed_at": "2026-12-06T02:00:00Z",
    }
    doc.update(over)
    return doc


def _parse(lib: ctypes.CDLL, raw: bytes) -> tuple[int, Manifest]:
    m = Manifest()
    return lib.vs_model_manifest_parse(raw, len(raw), ctypes.byref(m)), m


def _pub(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_c_binary_truncations_and_mutations_under_sanitizers() -> None:
    """firmware_core/tests/test_model_manifest.c: exact-size heap copies, so a read past the end is an error."""
    assert "0 failures" in run_c_test("test_model_manifest").stdout


def test_sha256_matches_hashlib(lib: ctypes.CDLL) -> None:
    rng = random.Random(256)
    for n in [*range(0, 140), 1000, 4096, 65537]:
        data = rng.randbytes(n)
        out = ctypes.create_string_buffer(32)
        lib.vs_sha256(data, n, out)
        assert out.raw == hashlib.sha256(data).digest(), n


def test_signed_manifest_is_accepted_under_the_right_key(lib: ctypes.CDLL) -> None:
    keys = [Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in (1, 2, 3)]
    raw = canonical_manifest(_doc())
    sig = keys[1].sign(raw)
    table = b"".join(_pub(k) for k in keys)
    m = Manifest()
    assert lib.vs_model_manifest_check(raw, len(raw), sig, table, 3, ctypes.byref(m)) == OK
    assert m.key_index == 1 and m.counter == 42 and m.image_size == 2204
    assert bytes(m.image_sha256) == hashlib.sha256(b"img").digest()
    assert bytes(m.feature_hash) == hashlib.sha256(b"features").digest()
    assert m.has_selftest == 0
    with_selftest = canonical_manifest(_doc(selftest_sha256="5e" * 32))
    assert _parse(lib, with_selftest)[0] == OK and _parse(lib, with_selftest)[1].has_selftest == 1
    assert bytes(_parse(lib, with_selftest)[1].selftest_sha256) == b"\x5e" * 32
    only_others = _pub(keys[0]) + _pub(keys[2])
    assert lib.vs_model_manifest_check(raw, len(raw), sig, only_others, 2, ctypes.byref(m)) == ERR_SIGNATURE
    changed = raw.replace(b'"counter": 42', b'"counter": 43')
    assert lib.vs_model_manifest_check(changed, len(changed), sig, table, 3, ctypes.byref(m)) == ERR_SIGNATURE
    # signed but malformed: the signature does not make a bad manifest acceptable
    bad = canonical_manifest(_doc(format_version=2))
    assert (
        lib.vs_model_manifest_check(bad, len(bad), keys[0].sign(bad), table, 3, ctypes.byref(m))
        == ERR_MANIFEST
    )


@pytest.mark.parametrize(
    "raw",
    [
        canonical_manifest(_doc(format="other")),
        canonical_manifest(_doc(format_version=2)),
        canonical_manifest(_doc(counter=0)),
        canonical_manifest(_doc(counter=2**32)),
        canonical_manifest(_doc(counter=-1)),
        canonical_manifest(_doc(counter=1.5)),
        canonical_manifest(_doc(counter=True)),
        canonical_manifest(_doc(feature_hash="AB" * 32)),
        canonical_manifest(_doc(feature_hash="ab" * 31)),
        canonical_manifest(_doc(image={"file": "model.vsm", "size": 0, "sha256": "00" * 32})),
        canonical_manifest(_doc(image={"file": "model.vsm", "sha256": "00" * 32})),
        canonical_manifest(_doc(selftest_sha256="5E" * 32)),
        canonical_manifest(_doc(selftest_sha256=1)),
        canonical_manifest(_doc(extra=[1, 2])),
        canonical_manifest(_doc(extra={"nested": 1})),
        canonical_manifest(_doc(extra=None)),
        canonical_manifest({k: v for k, v in _doc().items() if k != "counter"}),
        json.dumps(_doc(), indent=2).encode(),  # keys not sorted
        canonical_manifest(_doc()).replace(b'"counter": 42', b'"counter": 042'),
        canonical_manifest(_doc()).replace(b'"counter": 42,', b'"counter": 42,\n  "counter": 43,'),
        canonical_manifest(_doc()) + b"x",
        canonical_manifest(_doc()) + b"{}",
        b"",
        b"[]",
    ],
)
def test_malformed_manifests_are_refused(lib: ctypes.CDLL, raw: bytes) -> None:
    assert _parse(lib, raw)[0] == ERR_MANIFEST


def test_every_truncation_and_random_mutation(lib: ctypes.CDLL) -> None:
    raw = canonical_manifest(_doc())
    assert _parse(lib, raw)[0] == OK
    for n in range(len(raw) - 1):  # the final LF is optional whitespace
        assert _parse(lib, raw[:n])[0] == ERR_MANIFEST, n
    rng = random.Random(9)
    accepted = 0
    for _ in range(3000):
        b = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(len(b))] = rng.choice(b'0123456789abcdef"{},: \n\\x')
        rc, m = _parse(lib, bytes(b))
        assert rc in (OK, ERR_MANIFEST)
        if rc == OK:  # then Python must read the same fields from the same bytes
            accepted += 1
            doc = json.loads(bytes(b))
            assert (m.counter, m.image_size) == (doc["counter"], doc["image"]["size"])
            assert bytes(m.feature_hash).hex() == doc["feature_hash"]
            assert bytes(m.image_sha256).hex() == doc["image"]["sha256"]
    assert accepted > 0
