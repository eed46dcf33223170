"""ctypes binding of the C features (libvscore.so) for parity tests and benchmarks."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import numpy.typing as npt

_F32P = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")


class CFeatures:
    """``vs_features_compute_f32`` of one built libvscore.so, callable on frames.

    Parameters
    ----------
    lib_so : Path
        A host ``libvscore.so`` built for the FeatureParams under test.
    """

    def __init__(self, lib_so: Path) -> None:
        self.lib = ctypes.CDLL(str(lib_so))
        L = self.lib
        L.vs_features_instance_size.restype = ctypes.c_size_t
        L.vs_features_hash_hex.restype = ctypes.c_char_p
        L.vs_features_init.argtypes = [ctypes.c_void_p]
        L.vs_features_compute_f32.argtypes = [ctypes.c_void_p, _F32P, _F32P, _F32P]
        self.frame_length = int(L.vs_features_frame_length())
        self.n_features = int(L.vs_features_count())
        self.hash_hex = L.vs_features_hash_hex().decode()
        self._inst = ctypes.create_string_buffer(int(L.vs_features_instance_size()))
        self._scratch = np.zeros(int(L.vs_features_scratch_len()), dtype=np.float32)
        rc = L.vs_features_init(self._inst)
        if rc != 0:
            raise RuntimeError(f"vs_features_init returned {rc}")

    def __call__(self, frames: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Features of each row: (n_frames, frame_length) float32 -> (n_frames, n_features) float32."""
        x = np.ascontiguousarray(np.atleast_2d(frames), dtype=np.float32)
        out = np.zeros((x.shape[0], self.n_features), dtype=np.float32)
        row = np.zeros(self.n_features, dtype=np.float32)
        for i in range(x.shape[0]):
            rc = self.lib.vs_features_compute_f32(self._inst, x[i], self._scratch, row)
            if rc != 0:
                raise RuntimeError(f"vs_features_compute_f32 returned {rc}")
            out[i] = row
        return out
