"""HEALTH carries the node's stack figures, "used X of Y bytes": ``stack_high_water`` (vs_platform_stack_high_water,
the painted stack read back) and ``stack_size`` (vs_platform_stack_size, the port's stack region).

* host: vs_node copies whatever the platform reports (the host fake's figures, vs_host_set_stack) into HEALTH;
* QEMU: firmware_stm32 on netduinoplus2 and firmware_rv32 on virt report the stack size their linker gave the
  image (STM32: ``_stack_top - _stack_limit`` of stm32f405_budget.ld's .stack section; RV32: the Makefile's
  ``__stack_size``, the region below ``__stack``), and a high-water mark within it after analysing frames.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.test_c_node import NEVER, _decode, _need_c
from tests.support.cqemu import symbol_address
from vibsentry import protocol as vp


def _health(frames: list[vp.Frame]) -> list[vp.Health]:
    return [f.message for f in frames if isinstance(f.message, vp.Health)]


def test_host_node_reports_the_platform_stack_figures() -> None:
    from vibsentry.nodes.cnode import CNode, build_node_library

    _need_c()
    lib = build_node_library(None)
    set_stack = lib.lib.vs_host_set_stack
    set_stack.argtypes, set_stack.restype = [ctypes.c_uint32, ctypes.c_uint32], None
    node = CNode(lib, node_id=3, rule=NEVER, status_period_ms=1000, use_model=False)
    try:
        with lib.lock:
            set_stack(1234, 5678)  # a port's figures (the fakes are process-global: one chip)
        frames = _decode(node.start(0)) + _decode(node.poll(1_000_000))
    finally:
        with lib.lock:
            set_stack(0, 0)  # the fake's default: the host stack is the OS's
    (h,) = _health(frames)
    assert (h.stack_high_water, h.stack_size) == (1234, 5678)


def _linker_stack_size(elf: Path, target: str, nm: str) -> int:
    """The stack region the linker gave ``elf`` (bytes), read from its symbols."""
    if target == "stm32":
        return symbol_address(elf, "_stack_top", nm) - symbol_address(elf, "_stack_limit", nm)
    return symbol_address(elf, "__stack_size", nm)  # an absolute symbol: its "address" is the size


@pytest.mark.parametrize("target", ["stm32", "rv32"])
def test_qemu_node_reports_its_linker_stack_size(target: str, tmp_path: Path) -> None:
    from tests.support.dashboard import demo_bundle_dir
    from vibsentry.nodes import qemu
    from vibsentry.runtime.bundle import load_bundle

    t = qemu.TARGETS[target]
    reason = qemu.missing_tools(t)
    if reason:
        pytest.skip(reason)
    bundle_dir = demo_bundle_dir()
    params = load_bundle(bundle_dir).params
    image = qemu.build_image(t, bundle=bundle_dir)
    stack = _linker_stack_size(image, target, f"{t.toolchain}nm")
    assert stack >= 2048, f"{image}: implausible linker stack size {stack}"
    elf = qemu.provision(
        image, tmp_path / "node.elf", qemu.NodeIdent(6, "stack", status_period_ms=100), target=t
    )
    rng = np.random.default_rng(3)
    signal, _ = qemu.quantize_int16(rng.normal(0.0, 0.05, 3 * params.frame_length).astype(np.float32))
    with qemu.QemuNode(elf, target=t, workdir=tmp_path / "q") as node:
        assert node.wait_for(lambda fr: bool(_health(fr)), 30), "no HEALTH after boot"
        rp = qemu.Replayer(
            node, signal, sample_rate=params.sample_rate, frame_length=params.frame_length,
            hop_length=params.hop_length,
        )  # fmt: skip
        st = rp.run()
        rp.barrier()
        assert st.nacks == [] and any(isinstance(f.message, vp.Score) for f in node.frames), (
            "no frame analysed: the high-water mark would not cover features + model"
        )
        mark = len(node.frames)
        assert node.wait_for(lambda fr: bool(_health(fr[mark:])), 30), "no HEALTH after the replay"
        h = _health(node.frames[mark:])[-1]
    print(f"[{target}] HEALTH stack: used {h.stack_high_water} of {h.stack_size} bytes (linker: {stack})")
    assert h.stack_size == stack
    assert 0 < h.stack_high_water <= h.stack_size
