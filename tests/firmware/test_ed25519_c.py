"""firmware_core's Ed25519 verifier (vs_ed25519_verify, C via ctypes) against the ``cryptography`` package.

The C binary test (firmware_core/tests/test_ed25519.c, run here under ASan/UBSan) covers the RFC 8032 7.1
vectors and the strict rules; this module checks agreement with OpenSSL (through ``cryptography``) on 2,000
seeded random keys and messages, a third of them with one mutated bit in the signature, message or key, and the
one place where the two deliberately differ (a small-order R that OpenSSL's cofactorless check accepts).
"""

from __future__ import annotations

import ctypes
import hashlib
import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.cbuild import build_host, run_c_test

VS_OK = 0
BAD_SIG, BAD_KEY = -150, -151
L = 2**252 + 27742317777372353535851937790883648493
IDENTITY = bytes([1]) + bytes(31)


@pytest.fixture(scope="module")
def verify() -> ctypes._CFuncPtr:
    lib = ctypes.CDLL(str(build_host().lib_so))
    fn = lib.vs_ed25519_verify
    fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
    fn.restype = ctypes.c_int
    return fn


def _openssl_ok(pk: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg)
    except (InvalidSignature, ValueError):
        return False
    return True


def _flip(b: bytes, bit: int) -> bytes:
    out = bytearray(b)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_c_binary_rfc8032_vectors_and_strict_rules() -> None:
    proc = run_c_test("test_ed25519")
    assert "0 failures" in proc.stdout


def test_agrees_with_cryptography_on_random_keys_and_mutations(verify: ctypes._CFuncPtr) -> None:
    rng = random.Random(8032)
    counts = {"valid": 0, "sig": 0, "msg": 0, "key": 0, "other_key": 0}
    for i in range(2000):
        key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        pk = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        msg = rng.randbytes(rng.choice((0, 1, 31, 64, 111, 112, 128, rng.randrange(300))))
        sig = key.sign(msg)
        kind = ("valid", "valid", "valid", "sig", "msg", "key", "other_key")[i % 7]
        if kind == "sig":
            sig = _flip(sig, rng.randrange(512))
        elif kind == "msg":
            msg = _flip(msg, rng.randrange(8 * len(msg))) if msg else b"\x00"
        elif kind == "key":
            pk = _flip(pk, rng.randrange(256))
        elif kind == "other_key":
            pk = (
                Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
                .public_key()
                .public_bytes(Encoding.Raw, PublicFormat.Raw)
            )
        want = _openssl_ok(pk, sig, msg)
        got = verify(sig, msg, len(msg), pk)
        assert got in (VS_OK, BAD_SIG, BAD_KEY), f"case {i} ({kind}): unexpected status {got}"
        assert (got == VS_OK) == want, f"case {i} ({kind}): C says {got}, cryptography says {want}"
        assert want == (kind == "valid"), f"case {i} ({kind}): a mutation that still verifies?"
        counts[kind] += 1
    assert min(counts.values()) > 250


def _secret_scalar(seed: bytes) -> int:
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return int.from_bytes(h, "little")


def test_non_canonical_s_is_refused_by_both(verify: ctypes._CFuncPtr) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pk = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    sig = key.sign(b"model")
    s = int.from_bytes(sig[32:], "little")
    forged = sig[:32] + (s + L).to_bytes(32, "little")  # same group element, second encoding
    assert verify(sig, b"model", 5, pk) == VS_OK
    assert verify(forged, b"model", 5, pk) == BAD_SIG
    assert not _openssl_ok(pk, forged, b"model")


def test_small_order_r_is_refused_where_openssl_accepts(verify: ctypes._CFuncPtr) -> None:
    """R = identity, S = k a mod L satisfies [S]B = R + [k]A exactly; the strict rule 3 refuses it."""
    seed = bytes(range(1, 33))
    key = Ed25519PrivateKey.from_private_bytes(seed)
    pk = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    msg = b"small-order R"
    k = int.from_bytes(hashlib.sha512(IDENTITY + pk + msg).digest(), "little") % L
    forged = IDENTITY + (k * _secret_scalar(seed) % L).to_bytes(32, "little")
    assert verify(forged, msg, len(msg), pk) == BAD_SIG
    # OpenSSL checks only the equation: the forged signature (made WITH the private key) passes there.
    assert _openssl_ok(pk, forged, msg)


def test_identity_key_forgery_is_refused(verify: ctypes._CFuncPtr) -> None:
    """Under the identity key, (R = identity, S = 0) satisfies the equation for every message."""
    sig = IDENTITY + bytes(32)
    for msg in (b"", b"anything", b"\xff" * 100):
        assert verify(sig, msg, len(msg), IDENTITY) == BAD_KEY
