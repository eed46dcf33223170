"""Streaming feature extraction: hours-long recordings in chunks with bounded memory, same frames as batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt

from vibsentry.dsp.features import as_samples, features_from_frames
from vibsentry.dsp.params import FeatureParams


class FeatureStream:
    """Push sample chunks of any size; get features of every frame completed so far.

    Frames are exactly those :func:`~vibsentry.dsp.extract_features` would produce on the concatenated
    chunks (frame ``i`` starts at sample ``i * hop_length``). Memory held between pushes is at most
    ``frame_length - 1`` samples (plus the chunk being processed).

    Examples
    --------
    >>> stream = FeatureStream(FeatureParams())
    >>> for block in blocks:            # doctest: +SKIP
    ...     feats = stream.push(block)  # (k, n_features), k >= 0
    """

    def __init__(self, params: FeatureParams) -> None:
        self.params = params
        self._buf = np.zeros(0, dtype=np.float32)
        self._next = 0  # offset of the next frame start relative to _buf[0] (may exceed len when hop > N)
        self.samples_seen = 0
        self.frames_emitted = 0

    def push(self, chunk: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Add samples; return features of the frames they complete, shape (k, n_features), float32."""
        c32 = as_samples(chunk, name="chunk", first_index=self.samples_seen)
        self.samples_seen += c32.size
        buf = np.concatenate([self._buf, c32]) if self._buf.size else c32
        p = self.params
        n, hop = p.frame_length, p.hop_length
        avail = buf.size - self._next
        k = 0 if avail < n else (avail - n) // hop + 1
        if k:
            view = np.lib.stride_tricks.sliding_window_view(buf[self._next :], n)[::hop][:k]
            out = features_from_frames(view, params=p)
        else:
            out = np.zeros((0, p.n_features), dtype=np.float32)
        self._next += k * hop
        drop = min(self._next, buf.size)
        self._buf = buf[drop:].copy()
        self._next -= drop
        self.frames_emitted += k
        return out

    def reset(self) -> None:
        """Discard buffered samples and counters (start of a new recording)."""
        self.__init__(self.params)  # type: ignore[misc]


def stream_features(
    chunks: Iterable[npt.ArrayLike], *, params: FeatureParams
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield the feature rows each chunk completes (see :class:`FeatureStream`)."""
    s = FeatureStream(params)
    for c in chunks:
        f = s.push(c)
        if f.shape[0]:
            yield f
