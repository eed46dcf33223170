"""The flat model image (codegen/model_image.py -> firmware_core vs_model_image.c) against TFLite's reference.

Every architecture of tests/support/tflite_models.py (the same models as test_nn_bitexact.py) is written as a
model image, opened and run by the C runner through ctypes (libvscore.so), and compared bit for bit with the
TFLite interpreter's reference kernels on random inputs over the whole int8 range. Then the runner's guards:
every truncation, a flipped byte (CRC), a wrong version, a record whose sizes do not fit (CRC recomputed, so
only the structural checks stand between it and a kernel), misaligned data.
"""

from __future__ import annotations

import ctypes
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.support import tflite_models as tm
from tests.support.cbuild import build_host

IMG_STRUCT_BYTES = 256  # >= sizeof(vs_model_image_t) on any host ABI
OK, ERR_ARG, ERR_SIZE = 0, -1, -2
E_MAGIC, E_VERSION, E_FORMAT, E_CRC = -160, -161, -162, -163
N_INPUTS = 400


class CImage:
    """An image opened by the C runner (owning its aligned copy of the bytes)."""

    def __init__(self, lib: ctypes.CDLL, data: bytes, *, offset: int = 0) -> None:
        self.lib = lib
        words = (len(data) + offset + 3) // 4 + 1
        self.buf = (ctypes.c_uint32 * words)()
        ctypes.memmove(ctypes.addressof(self.buf) + offset, data, len(data))
        self.img = ctypes.create_string_buffer(IMG_STRUCT_BYTES)
        self.rc = lib.vs_model_image_open(self.img, ctypes.addressof(self.buf) + offset, len(data))

    def run(self, x: np.ndarray, out_dtype: np.dtype, n_out: int, arena_bytes: int) -> np.ndarray:
        arena = (ctypes.c_uint32 * (arena_bytes // 4 + 1))()
        out = np.zeros((len(x), n_out), dtype=out_dtype)
        xc = np.ascontiguousarray(x)
        for i in range(len(x)):
            rc = self.lib.vs_model_image_run(
                self.img, arena, ctypes.sizeof(arena), xc[i].ctypes.data, out[i].ctypes.data
            )
            assert rc == OK, f"vs_model_image_run: {rc}"
        return out


@pytest.fixture(scope="module")
def lib() -> ctypes.CDLL:
    so = ctypes.CDLL(str(build_host().lib_so))
    so.vs_model_image_open.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    so.vs_model_image_run.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_size_t] + [ctypes.c_void_p] * 2
    return so


def _inputs(interp: object, seed: int) -> np.ndarray:
    det = interp.get_input_details()[0]  # type: ignore[attr-defined]
    n = int(np.prod(det["shape"]))
    rng = np.random.default_rng(seed)
    if det["dtype"] == np.int8:
        x = rng.integers(-128, 128, size=(N_INPUTS, n)).astype(np.int8)
        return np.concatenate([x, np.full((1, n), -128, np.int8), np.full((1, n), 127, np.int8)])
    scale = rng.choice([0.5, 2.0, 8.0], size=(N_INPUTS, 1))
    return (rng.standard_normal((N_INPUTS, n)) * scale).astype(np.float32)


def _check_bitexact(lib: ctypes.CDLL, content: bytes, tmp_path, seed: int) -> None:
    from vibsentry.codegen.model_image import image_from_tflite, read_header

    src = tmp_path / "m.tflite"
    src.write_bytes(content)
    image = image_from_tflite(src)
    info = read_header(image)
    c = CImage(lib, image)
    assert c.rc == OK
    interp = tm.reference_interpreter(content)
    x = _inputs(interp, seed)
    ref = tm.run_reference(interp, x)
    got = c.run(x, ref.dtype, ref.shape[1], info.arena_bytes)
    same = ref.view(np.int32) == got.view(np.int32) if ref.dtype == np.float32 else ref == got
    bad = np.flatnonzero(~same.all(axis=1))
    assert bad.size == 0, f"{bad.size}/{len(x)} differ; first {bad[0]}: C {got[bad[0]]} vs {ref[bad[0]]}"
    assert len(np.unique(ref)) >= 8  # outputs vary, so "identical" proves something


@pytest.mark.parametrize("arch", tm.ARCHITECTURES)
def test_image_runner_matches_tflite_reference(arch: str, lib: ctypes.CDLL, tmp_path) -> None:
    _check_bitexact(lib, tm.convert(arch), tmp_path, seed=len(arch))


@pytest.mark.parametrize(("const_shape", "first"), [((1, 40), False), ((1,), True)])
def test_image_with_constant_and_broadcast_add(const_shape, first, lib: ctypes.CDLL, tmp_path) -> None:
    content = tm.with_const_add(tm.convert("autoencoder"), const_shape=const_shape, first=first)
    _check_bitexact(lib, content, tmp_path, seed=7)


def test_image_with_requantized_input(lib: ctypes.CDLL, tmp_path) -> None:
    _check_bitexact(lib, tm.with_requantized_input(tm.convert("autoencoder")), tmp_path, seed=9)


def _recrc(data: bytearray) -> bytes:
    data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
    return bytes(data)


def test_damaged_images_are_refused(lib: ctypes.CDLL, tmp_path) -> None:
    from vibsentry.codegen.model_image import image_from_tflite

    src = tmp_path / "m.tflite"
    src.write_bytes(tm.convert("cnn1d"))
    image = image_from_tflite(src)
    assert CImage(lib, image).rc == OK
    # every truncation: the declared size no longer fits (or the magic is gone)
    for n in range(0, len(image), 7):
        assert CImage(lib, image[:n]).rc in (E_MAGIC, E_FORMAT), n
    # any flipped byte: magic, version, or CRC
    rng = np.random.default_rng(3)
    for pos in rng.choice(len(image), size=200, replace=False):
        bad = bytearray(image)
        bad[pos] ^= 0x5A
        assert CImage(lib, bytes(bad)).rc in (E_MAGIC, E_VERSION, E_FORMAT, E_CRC), pos
    bad = bytearray(image)
    bad[4] = 2
    assert CImage(lib, _recrc(bad)).rc == E_VERSION
    # structural checks with a valid CRC: an op's output size larger than its tensor, an offset past the end,
    # an unknown op code, a tensor outside the arena
    ops_off = struct.unpack_from("<I", image, 56)[0]
    t_off = struct.unpack_from("<I", image, 52)[0]
    rec = struct.unpack_from("<I", image, ops_off + 8)[0]  # op 0's record
    assert image[ops_off] == 2  # CONV_2D (the Conv1D's EXPAND_DIMS is aliased away)
    for patch in (
        (rec + 4 * 11, 60000),  # op 0 (CONV_2D): batches, so the op would read past its tensors
        (ops_off + 8, len(image) + 64),  # record offset past the end
        (t_off + 4, 1 << 30),  # tensor 0 bytes beyond the arena
        (16, 4),  # arena of 4 bytes
    ):
        bad = bytearray(image)
        struct.pack_into("<I", bad, *patch)
        assert CImage(lib, _recrc(bad)).rc == E_FORMAT, patch
    bad = bytearray(image)
    bad[ops_off] = 99
    assert CImage(lib, _recrc(bad)).rc == E_FORMAT
    assert CImage(lib, image, offset=2).rc == ERR_ARG  # misaligned


def test_python_header_reader(tmp_path) -> None:
    from vibsentry.codegen.model_image import image_from_tflite, read_header
    from vibsentry.errors import ExportError

    src = tmp_path / "m.tflite"
    src.write_bytes(tm.convert("autoencoder"))
    image = image_from_tflite(src, feature_hash="ab" * 32)
    info = read_header(image)
    assert info.size == len(image) and info.feature_hash == "ab" * 32 and not info.has_alarm
    with pytest.raises(ExportError, match="CRC"):
        read_header(image[:-1] + bytes([image[-1] ^ 1]))


_SAN_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "vs/vs_model_image.h"

/* argv[1]: image file. Without argv[2]: run the model on raw input rows from stdin, outputs to stdout.
 * With argv[2] = "open": print vs_model_image_open's status only. Image and arena are malloc'ed to their exact
 * sizes, so any access outside them is an ASan error. */
int main(int argc, char **argv)
{
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
        return 2;
    }
    long n = ftell(f);
    rewind(f);
    unsigned char *data = malloc(n > 0 ? (size_t)n : 1u);
    if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
        return 2;
    }
    fclose(f);
    vs_model_image_t img;
    int rc = vs_model_image_open(&img, data, (size_t)n);
    if (argc > 2) {
        printf("%d\n", rc);
        free(data);
        return 0;
    }
    if (rc != VS_OK) {
        return 3;
    }
    void *arena = malloc(img.arena_bytes ? img.arena_bytes : 4u);
    unsigned char *in = malloc(img.input_bytes), *out = malloc(img.output_bytes);
    while (fread(in, 1, img.input_bytes, stdin) == img.input_bytes) {
        if (vs_model_image_run(&img, arena, img.arena_bytes, in, out) != VS_OK) {
            return 4;
        }
        fwrite(out, 1, img.output_bytes, stdout);
    }
    free(arena);
    free(in);
    free(out);
    free(data);
    return 0;
}
"""


@pytest.fixture(scope="module")
def sanitized_runner(tmp_path_factory) -> Path:
    import shutil
    import subprocess

    from vibsentry.codegen import host as cg

    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    d = tmp_path_factory.mktemp("san")
    (d / "main.c").write_text(_SAN_MAIN)
    fw = cg.firmware_core_dir() / "src"
    srcs = [fw / s for s in (*cg.RUNTIME_SOURCES, "vs_model_image.c", "vs_crc.c")]
    exe = d / "image_san"
    flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    proc = subprocess.run(
        [
            "gcc",
            *cg.host_cflags(),
            *flags,
            f"-I{fw.parent / 'include'}",
            *map(str, srcs),
            str(d / "main.c"),
            "-o",
            str(exe),
            "-lm",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return exe


@pytest.mark.parametrize("arch", ["cnn2d", "add_logistic", "float_io"])
def test_sanitized_image_runner_matches_reference(arch: str, sanitized_runner: Path, tmp_path) -> None:
    import subprocess

    from vibsentry.codegen.model_image import image_from_tflite

    content = tm.convert(arch)
    (tmp_path / "m.tflite").write_bytes(content)
    (tmp_path / "m.vsm").write_bytes(image_from_tflite(tmp_path / "m.tflite"))
    interp = tm.reference_interpreter(content)
    x = _inputs(interp, seed=11)[:150]
    ref = tm.run_reference(interp, x)
    proc = subprocess.run([str(sanitized_runner), str(tmp_path / "m.vsm")], input=x.tobytes(),
                          capture_output=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    got = np.frombuffer(proc.stdout, dtype=ref.dtype).reshape(ref.shape)
    assert ref.tobytes() == got.tobytes()


def test_sanitized_open_survives_damage(sanitized_runner: Path, tmp_path) -> None:
    """Truncations and random byte flips with the CRC recomputed: only the structural checks stand in the way."""
    import subprocess

    from vibsentry.codegen.model_image import image_from_tflite

    (tmp_path / "m.tflite").write_bytes(tm.convert("add_logistic"))
    image = image_from_tflite(tmp_path / "m.tflite")
    rng = np.random.default_rng(5)
    seen = set()
    for i in range(30):
        bad = bytearray(image[: len(image) - 4 * int(rng.integers(0, 3))])
        for pos in rng.choice(len(bad) - 4, size=int(rng.integers(1, 4)), replace=False):
            bad[pos] = int(rng.integers(0, 256))
        if len(bad) >= 148:
            if i % 2:  # the declared size follows the truncation
                struct.pack_into("<I", bad, 8, len(bad))
            bad = bytearray(_recrc(bad))
        p = tmp_path / f"bad{i}.vsm"
        p.write_bytes(bytes(bad))
        proc = subprocess.run([str(sanitized_runner), str(p), "open"], capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        seen.add(int(proc.stdout))
    assert seen - {OK}, "no damage was detected at all?"
