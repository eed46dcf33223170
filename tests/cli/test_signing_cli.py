"""``vibsentry keys new`` / ``sign`` / ``verify`` through the real CLI in a subprocess, and the firmware's C
verifier and image runner on what ``sign`` wrote.

One tiny bundle is trained once (the real training pipeline); each test signs or damages its own copy. Every
failure must be exit code 1 with one line on stderr naming the file, and must leave the bundle as it was.
The main paths run ``python -m vibsentry`` in a subprocess; the many damage variants call the same
``vibsentry.cli.main`` in-process (a CLI start costs seconds on the shared CI machine).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vibsentry", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def inproc(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``vibsentry.cli.main`` in this process, its output captured like :func:`cli`'s."""
    import contextlib
    import io

    from vibsentry.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            rc = int(exc.code or 0)
    return subprocess.CompletedProcess(list(map(str, args)), rc, out.getvalue(), err.getvalue())


def one_line_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support import training as T
    from vibsentry.training.api import train_bundle

    root = tmp_path_factory.mktemp("signing")
    m = T.write_toy_dataset(root / "data", n_normal=3, normal_seconds=5, fault_seconds=3, n_fault=2)
    return train_bundle(m, root / "pump7", kind="anomaly", config=T.write_config(root / "t.toml", epochs=5))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("keys")
    for name in ("plant", "other"):
        proc = cli("keys", "new", "--out", d / name, "--json")
        assert proc.returncode == 0, proc.stderr
    return d / "plant", d / "other"


@pytest.fixture
def bundle(trained: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained, tmp_path / "pump7"))


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}


def test_keys_new_writes_a_0600_pem_and_a_raw_public_key(keys: tuple[Path, Path]) -> None:
    plant, _ = keys
    priv, pub = plant / "private.pem", plant / "public.key"
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert priv.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert len(pub.read_bytes()) == 32
    before = priv.read_bytes()
    one_line_failure(cli("keys", "new", "--out", plant), "already exists", "private.pem")
    assert priv.read_bytes() == before
    proc = inproc("keys")
    assert proc.returncode == 2  # no action: usage error


def test_sign_then_verify(bundle: Path, keys: tuple[Path, Path]) -> None:
    plant, _ = keys
    proc = cli("sign", bundle, "--key", plant / "private.pem", "--counter", "7", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["counter"] == 7 and doc["model_id"] == "pump7"
    raw = (bundle / "signed_manifest.json").read_bytes()
    assert json.loads(raw) == doc and len((bundle / "signed_manifest.sig").read_bytes()) == 64
    assert doc["image"]["size"] == (bundle / "model.vsm").stat().st_size
    assert doc["feature_hash"] == json.loads((bundle / "bundle.json").read_text())["feature_hash"]
    proc = cli("verify", bundle, "--pub", plant / "public.key")
    assert proc.returncode == 0 and proc.stdout.startswith("verified"), proc.stderr
    assert not [p for p in bundle.iterdir() if p.name.endswith(".tmp")]


def test_wrong_key_and_tampering_are_refused(bundle: Path, keys: tuple[Path, Path]) -> None:
    plant, other = keys
    assert cli("sign", bundle, "--key", plant / "private.pem", "--counter", "5").returncode == 0
    one_line_failure(cli("verify", bundle, "--pub", other / "public.key"), "does not verify")
    good = _snapshot(bundle)

    def damaged(name: str, data: bytes, *needles: str) -> None:
        (bundle / name).write_bytes(data)
        one_line_failure(inproc("verify", bundle, "--pub", plant / "public.key"), name, *needles)
        (bundle / name).write_bytes(good[name])

    raw = good["signed_manifest.json"]
    damaged("signed_manifest.json", raw.replace(b'"counter": 5', b'"counter": 6'), "does not verify")
    damaged("signed_manifest.json", raw + b" ", "does not verify")  # one byte more than was signed
    sig = bytearray(good["signed_manifest.sig"])
    sig[3] ^= 1
    damaged("signed_manifest.sig", bytes(sig), "does not verify")
    damaged("signed_manifest.sig", bytes(sig[:63]), "64 bytes")
    img = bytearray(good["model.vsm"])
    img[len(img) // 2] ^= 0x10
    damaged("model.vsm", bytes(img), "sha256")
    (bundle / "model.vsm").unlink()
    one_line_failure(inproc("verify", bundle, "--pub", plant / "public.key"), "model.vsm", "missing")
    (bundle / "model.vsm").write_bytes(good["model.vsm"])
    # the bundle's own metadata changed after signing (bundle.json checksum, then the manifest's copy of it)
    meta = json.loads(good["bundle.json"])
    meta["created_at"] = "2000-01-01T00:00:00Z"
    (bundle / "bundle.json").write_text(json.dumps(meta))
    one_line_failure(inproc("verify", bundle, "--pub", plant / "public.key"), "bundle.json")
    (bundle / "bundle.json").write_bytes(good["bundle.json"])
    assert inproc("verify", bundle, "--pub", plant / "public.key").returncode == 0


def test_sign_refusals_leave_the_bundle_untouched(bundle: Path, keys: tuple[Path, Path]) -> None:
    plant, _ = keys
    one_line_failure(inproc("verify", bundle, "--pub", plant / "public.key"), "signed_manifest", "missing")
    assert cli("sign", bundle, "--key", plant / "private.pem", "--counter", "10").returncode == 0
    before = _snapshot(bundle)
    one_line_failure(cli("sign", bundle, "--key", plant / "private.pem", "--counter", "10"), "not above")
    one_line_failure(inproc("sign", bundle, "--key", plant / "private.pem", "--counter", "0"), "outside")
    one_line_failure(inproc("sign", bundle, "--key", plant / "public.key"), "public.key", "PEM")
    one_line_failure(inproc("sign", bundle, "--key", bundle / "nope.pem"), "nope.pem")
    one_line_failure(inproc("verify", bundle, "--pub", plant / "private.pem"), "32 raw bytes")
    one_line_failure(inproc("sign", bundle, "--key", plant / "private.pem", "--model-id", "x" * 300), "768")
    assert _snapshot(bundle) == before
    proc = inproc("sign", bundle, "--key", plant / "private.pem")  # default counter: above the previous one
    assert proc.returncode == 0, proc.stderr
    assert json.loads((bundle / "signed_manifest.json").read_text())["counter"] > 10


def test_firmware_verifier_and_image_runner_accept_what_sign_wrote(
    bundle: Path, keys: tuple[Path, Path]
) -> None:
    """The node's side: vs_ed25519_verify on the manifest bytes, vs_model_image_open on model.vsm."""
    from tests.support.cbuild import build_host

    plant, other = keys
    assert cli("sign", bundle, "--key", plant / "private.pem", "--counter", "3").returncode == 0
    lib = ctypes.CDLL(str(build_host().lib_so))
    lib.vs_ed25519_verify.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
    raw = (bundle / "signed_manifest.json").read_bytes()
    sig = (bundle / "signed_manifest.sig").read_bytes()
    assert lib.vs_ed25519_verify(sig, raw, len(raw), (plant / "public.key").read_bytes()) == 0
    assert lib.vs_ed25519_verify(sig, raw, len(raw), (other / "public.key").read_bytes()) != 0
    image = (bundle / "model.vsm").read_bytes()
    buf = (ctypes.c_uint32 * (len(image) // 4 + 1))()
    ctypes.memmove(buf, image, len(image))
    img = ctypes.create_string_buffer(256)
    lib.vs_model_image_open.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    assert lib.vs_model_image_open(img, buf, len(image)) == 0
    # the self-test the node runs after an update: the C output for the all-zero-point input hashes to the
    # manifest's selftest_sha256 (computed by sign with TFLite's reference kernels)
    n_in, n_out = struct.unpack_from("<II", image, 28)
    (zp,) = struct.unpack_from("<i", image, 40)
    (arena_bytes,) = struct.unpack_from("<I", image, 16)
    arena = (ctypes.c_uint32 * (arena_bytes // 4 + 1))()
    x = struct.pack(f"<{n_in}b", *([zp] * n_in))
    y = ctypes.create_string_buffer(n_out)
    lib.vs_model_image_run.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_size_t] + [ctypes.c_void_p] * 2
    assert lib.vs_model_image_run(img, arena, ctypes.sizeof(arena), x, y) == 0
    doc = json.loads(raw)
    assert hashlib.sha256(y.raw).hexdigest() == doc["selftest_sha256"]
