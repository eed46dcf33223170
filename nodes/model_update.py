"""Signed model updates on a ctypes node: the host flash simulator behind ``vs_model_update``.

``firmware_core/port/host/vs_flash_sim.[ch]`` models the NOR flash that holds a node's A/B model slots and the
two records of its update state, with a power cut at any chosen byte. :class:`FlashSim` owns one simulated
chip's flash (it outlives a :class:`~vibsentry.nodes.cnode.CNode`: a new CNode on the same FlashSim is the same
chip after a reset) and :func:`enable_model_update` attaches it to a node before its start, with the public
keys the firmware would embed. See ``docs/deploy.md``.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

from vibsentry.errors import ExportError
from vibsentry.nodes.cnode import CNode, NodeLibrary

#: Default slot size and erase sector of the simulator (two 16 KiB sectors per 32 KiB slot).
SLOT_BYTES, SECTOR_BYTES = 32 * 1024, 16 * 1024


def _bind(lib: Any) -> None:
    if getattr(lib, "_vs_update_bound", False):
        return
    vp, c_int = ctypes.c_void_p, ctypes.c_int
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "vs_flash_sim_size": (ctypes.c_size_t, []),
        "vs_flash_sim_init": (c_int, [vp, ctypes.c_uint32, ctypes.c_uint32]),
        "vs_flash_sim_cut_after": (None, [vp, ctypes.c_int64]),
        "vs_flash_sim_power_on": (None, [vp]),
        "vs_flash_sim_io": (vp, [vp]),
        "vs_flash_sim_units": (ctypes.c_uint64, [vp]),
        "vs_node_enable_model_update": (c_int, [vp, vp, vp, ctypes.c_uint8, ctypes.c_uint32]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    lib._vs_update_bound = True


class FlashSim:
    """One chip's simulated model flash (``vs_flash_sim_t``), blank at creation.

    Parameters
    ----------
    lib : NodeLibrary
    slot_bytes, sector_bytes : int
        Capacity of each model slot and its erase sector, bytes (slot a multiple of sector, <= 64 KiB).
    """

    def __init__(
        self, lib: NodeLibrary, *, slot_bytes: int = SLOT_BYTES, sector_bytes: int = SECTOR_BYTES
    ) -> None:
        _bind(lib.lib)
        self.lib = lib
        size = int(lib.lib.vs_flash_sim_size())
        self._mem = ctypes.create_string_buffer(size + 16)
        addr = ctypes.addressof(self._mem)
        self.ptr = ctypes.c_void_p(addr + (-addr % 16))
        rc = lib.lib.vs_flash_sim_init(self.ptr, slot_bytes, sector_bytes)
        if rc != 0:
            raise ExportError(
                f"flash simulator: slot {slot_bytes} B / sector {sector_bytes} B refused ({rc})"
            )

    def cut_after(self, units: int) -> None:
        """Cut the power after ``units`` more programmed bytes (or 256-byte erase steps); < 0: never."""
        self.lib.lib.vs_flash_sim_cut_after(self.ptr, units)

    @property
    def units(self) -> int:
        """Programmed bytes + 256-byte erase steps + record bytes spent since creation."""
        return int(self.lib.lib.vs_flash_sim_units(self.ptr))

    def power_on(self) -> None:
        """Power back: the flash keeps what the cut left."""
        self.lib.lib.vs_flash_sim_power_on(self.ptr)


def enable_model_update(
    node: CNode, flash: FlashSim, public_keys: Sequence[bytes], *, trial_frames: int = 8
) -> None:
    """Let ``node`` (not started yet) accept signed models into ``flash``'s slots.

    Parameters
    ----------
    node : CNode
    flash : FlashSim
    public_keys : sequence of bytes
        Raw 32-byte Ed25519 public keys the firmware embeds (1..255).
    trial_frames : int
        Healthy analysed frames that confirm a model on TRIAL.
    """
    if not 1 <= len(public_keys) <= 255 or any(len(k) != 32 for k in public_keys):
        raise ExportError("model update: 1..255 raw 32-byte public keys are needed")
    keys = ctypes.create_string_buffer(b"".join(public_keys), 32 * len(public_keys))
    with node.lib.lock:
        rc = node.lib.lib.vs_node_enable_model_update(
            node._ptr, flash.lib.lib.vs_flash_sim_io(flash.ptr), keys, len(public_keys), trial_frames
        )
    if rc != 0:
        raise ExportError(f"vs_node_enable_model_update refused (status {rc})")
    node._update_keys = keys  # type: ignore[attr-defined]  # the node keeps a pointer: keep the buffer alive
    node._update_flash = flash  # type: ignore[attr-defined]
