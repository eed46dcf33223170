"""The analyst's three plots of a :class:`~vibsentry.diagnostics.analysis.Diagnosis` (matplotlib, Agg).

Spectrum in Hz with 1x/2x/3x cursors, the kurtogram with the chosen band, and the squared-envelope spectrum
with BPFO/BPFI/2xBSF/FTF markers. Written atomically as PNG.
"""

from __future__ import annotations

import os

import numpy as np

from vibsentry.diagnostics.analysis import Diagnosis
from vibsentry.errors import UsageError
from vibsentry.fileio import atomic_open

__all__ = ["plot_diagnosis"]

_MARKERS = (("bpfo", "BPFO", "tab:red"), ("bpfi", "BPFI", "tab:blue"), ("2bsf", "2xBSF", "tab:green"),
            ("ftf", "FTF", "tab:purple"))  # fmt: skip


def plot_diagnosis(d: Diagnosis, path: str | os.PathLike[str], *, title: str = "") -> None:
    """Draw spectrum, kurtogram and envelope spectrum of ``d`` into the PNG file ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib (pip install 'vibsentry[train]')") from None
    shaft = d.speed.shaft_hz
    fig, axes = plt.subplots(3, 1, figsize=(10, 10), constrained_layout=True)
    ax = axes[0]
    f, a = d.spectrum
    keep = f <= 12 * shaft
    ax.semilogy(f[keep], np.maximum(a[keep], 1e-9), lw=0.7, color="0.2")
    for k in (1, 2, 3):
        ax.axvline(k * shaft, color="tab:orange", ls="--", lw=0.9)
        ax.text(k * shaft, 1.0, f" {k}x", color="tab:orange", transform=ax.get_xaxis_transform(), va="top")
    ax.set(xlabel="frequency (Hz)", ylabel="amplitude (g)",
           title=f"spectrum, shaft {d.speed.rpm:.0f} rpm ({shaft:.2f} Hz, {d.speed.source})")  # fmt: skip

    ax = axes[1]
    kg = d.kurtogram
    lo, hi = kg.best_band
    img = kg.as_image(512)
    # Narrow deep-level bands can reach huge kurtosis on a single click; clip so the chosen band shows.
    vmax = max(1.5 * kg.best_kurtosis, float(np.percentile(img, 95)), 1e-3)
    im = ax.imshow(img, aspect="auto", origin="upper", cmap="viridis", vmin=min(0.0, float(img.min())),
                   vmax=vmax, extent=(0.0, kg.sample_rate / 2, len(kg.levels) - 0.5, -0.5))  # fmt: skip
    ax.add_patch(plt.Rectangle((lo, kg.levels.index(kg.best_level) - 0.5), hi - lo, 1.0, fill=False,
                               edgecolor="red", lw=1.5))  # fmt: skip
    ax.set_yticks(range(len(kg.levels)), [f"{lv:g}" for lv in kg.levels])
    ax.set(xlabel="frequency (Hz)", ylabel="level",
           title=f"fast kurtogram: band {lo:.0f}-{hi:.0f} Hz, level {kg.best_level:g}, "
                 f"kurtosis {kg.best_kurtosis:.1f}")  # fmt: skip
    fig.colorbar(im, ax=ax, label="spectral kurtosis")

    ax = axes[2]
    ef, ea = d.envelope
    lines = {**d.defect_hz, "2bsf": 2 * d.defect_hz["bsf"]}
    top = 5.5 * max(lines["bpfi"], lines["2bsf"])
    keep = ef <= top
    ax.plot(ef[keep], ea[keep], lw=0.7, color="0.2")
    for key, label, colour in _MARKERS:
        for h in range(1, 6):
            f_h = h * lines[key]
            if f_h <= top:
                ax.axvline(f_h, color=colour, ls=":", lw=0.9, label=label if h == 1 else None)
    ax.legend(loc="upper right")
    ax.set(xlabel="frequency (Hz)", ylabel="squared envelope (g²)",
           title=f"squared-envelope spectrum, band {d.band[0]:.0f}-{d.band[1]:.0f} Hz")  # fmt: skip
    ax.text(0.01, 0.97, "\n".join(f"{f.summary} [{f.confidence:.2f}]" for f in d.findings[:3]),
            transform=ax.transAxes, va="top", fontsize=8, bbox={"facecolor": "white", "alpha": 0.8})  # fmt: skip
    if title:
        fig.suptitle(title)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=100)
    plt.close(fig)
