"""The INT8 runtime on an emulated Cortex-M4F is bit-exact with TFLite too, on many inputs.

On the M4 the dense kernel takes its DSP path (SXTB16 + SMLAD), which the host never runs. This test builds a
bare-metal image for QEMU ``mps2-an386`` (startup and semihosting console of ``firmware_core/port/qemu_m4``)
with the generated model, the runtime and a few hundred inputs compiled in; the image prints every output in
hex and the test compares them with ``tf.lite.Interpreter`` (BUILTIN_REF).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.support import cqemu
from tests.support import tflite_models as tm

pytestmark = pytest.mark.needs_tf
pytest.importorskip("tensorflow")

N_INPUTS = 400

_MAIN = r"""
#include <stdint.h>

#include "vs/vs_platform_console.h"
#include "vs_model_data.h"
#include "nn_inputs.h"

int main(void);

static int32_t arena[VS_MODEL_ARENA_WORDS];

int main(void)
{
    static const char hex[] = "0123456789abcdef";
    static char line[2u * VS_MODEL_OUTPUT_BYTES + 2u];
    int8_t out[VS_MODEL_OUTPUT_BYTES];
    for (unsigned n = 0; n < VS_TEST_N; ++n) {
        if (vs_model_run_s8(&vs_model, arena, sizeof arena, vs_test_inputs[n], out) != VS_OK) {
            vs_platform_console_write("ERROR\n");
            return 1;
        }
        for (unsigned j = 0; j < VS_MODEL_OUTPUT_BYTES; ++j) {
            line[2u * j] = hex[(uint8_t)out[j] >> 4];
            line[2u * j + 1u] = hex[(uint8_t)out[j] & 15u];
        }
        line[2u * VS_MODEL_OUTPUT_BYTES] = '\n';
        line[2u * VS_MODEL_OUTPUT_BYTES + 1u] = '\0';
        vs_platform_console_write(line);
    }
    return 0;
}
"""


def _inputs_header(x: np.ndarray) -> str:
    rows = ",\n".join("    {" + ", ".join(str(int(v)) for v in row) + "}" for row in x)
    return (
        "#include <stdint.h>\n"
        f"#define VS_TEST_N {len(x)}u\n"
        f"static const int8_t vs_test_inputs[{len(x)}][{x.shape[1]}] = {{\n{rows}\n}};\n"
    )


@pytest.mark.parametrize("arch", ["autoencoder", "mlp_softmax", "add_logistic", "fc_per_tensor", "cnn2d"])
def test_runtime_on_cortex_m4_matches_reference(arch: str, tmp_path: Path) -> None:
    reason = cqemu.require_qemu(cqemu.M4)
    if reason:
        pytest.skip(reason)
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not found (./dev.sh setup installs it as root)")
    from vibsentry.codegen.export import export_c

    content = tm.convert(arch)
    src = tmp_path / f"{arch}.tflite"
    src.write_bytes(content)
    gen = export_c(src, tmp_path / "gen").out_dir
    rng = np.random.default_rng(21)
    x = rng.integers(-128, 128, size=(N_INPUTS, 40)).astype(np.int8)
    (gen / "nn_inputs.h").write_text(_inputs_header(x))
    (gen / "main.c").write_text(_MAIN)
    port = tm.FIRMWARE / "port" / "qemu_m4"
    arch_flags = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]
    srcs = [*(str(tm.FIRMWARE / "src" / s) for s in tm.RUNTIME_SOURCES), str(gen / "vs_model_data.c"),
            str(gen / "main.c"), *sorted(str(p) for p in port.glob("*.c"))]  # fmt: skip
    elf = tmp_path / "nn_test.elf"
    cmd = ["arm-none-eabi-gcc", *tm.CFLAGS, "-Os", *arch_flags, f"-I{tm.FIRMWARE / 'include'}", f"-I{gen}",
           "-ffunction-sections", "-fdata-sections", "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
           "-Wl,--gc-sections", "-T", str(port / "mps2_an386.ld"), *srcs, "-o", str(elf)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True, text=True).stdout
    assert "smlad" in dis and "sxtb16" in dis, "the dense kernel's DSP path was not compiled in"
    text = cqemu.run_image(elf, timeout=120)
    lines = [ln for ln in text.splitlines() if ln and all(c in "0123456789abcdef" for c in ln)]
    assert "ERROR" not in text and len(lines) == N_INPUTS, text[-500:]
    got = np.array([np.frombuffer(bytes.fromhex(ln), dtype=np.int8) for ln in lines])
    ref = tm.run_reference(tm.reference_interpreter(content), x)
    np.testing.assert_array_equal(got, ref)
