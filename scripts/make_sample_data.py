"""Regenerate ``sample_data/``: synthetic recordings, short real CWRU excerpts, manifest, README, SHA256SUMS.

Run from the repository root::

    .venv/bin/python scripts/make_sample_data.py                 # rewrite sample_data/ in place
    .venv/bin/python scripts/make_sample_data.py --out /tmp/sd   # somewhere else (tests compare hashes)

The synthetic part depends only on ``vibsentry.synth`` and fixed seeds, so it is bit-identical on every run.
The CWRU part needs ``../shared/datasets/cwru`` (or ``--datasets`` / ``VIBSENTRY_DATASETS``); without it the
script says so and keeps whatever CWRU excerpts the output folder already holds. Everything is written to a
temporary folder first and moved into place only when complete.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import scipy.io.wavfile
import scipy.signal

from vibsentry import synth

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 12000
MAX_BYTES = 5_000_000
COLUMNS = ("path", "label", "fs", "channel", "group", "split", "rpm", "load", "start_s", "end_s")


@dataclass(frozen=True)
class Synthetic:
    """One synthetic recording and the manifest row(s) describing it."""

    file: str
    machine: str
    split: str
    duration_s: float
    load: float
    seed: int
    fault: str | None = None
    severity: float = 1.0
    load_changes: tuple[tuple[float, float], ...] = ()
    fault_onset_s: float | None = None
    growth_s: float = 0.0

    def kwargs(self) -> dict[str, object]:
        return {
            **synth.MACHINES[self.machine].kwargs(),
            "duration_s": self.duration_s,
            "sample_rate": float(SAMPLE_RATE),
            "load": self.load,
            "load_changes": self.load_changes,
            "fault": self.fault,
            "severity": self.severity,
            "fault_onset_s": self.fault_onset_s,
            "growth_s": self.growth_s,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class CwruExcerpt:
    """A slice of one CWRU drive-end record, written at 12 kHz."""

    file: str
    source: str
    label: str
    fs: int
    start_s: float
    duration_s: float


# 60 s of healthy data over three machines (about 700 frames of 1024 for training and calibration), each
# machine at several loads, one recording per machine with load steps (a detector must not alarm on them).
# Faults at two severities: the stronger one trains a classifier, the milder one tests early detection.
SYNTHETIC: tuple[Synthetic, ...] = (
    Synthetic("synthetic/m1_normal_a.wav", "m1", "train", 12.0, 0.0, 101),
    Synthetic("synthetic/m1_normal_b.wav", "m1", "val", 4.0, 0.5, 102),
    Synthetic("synthetic/m1_normal_c.wav", "m1", "test", 4.0, 1.0, 103, load_changes=((2.0, 0.3),)),
    Synthetic("synthetic/m2_normal_a.wav", "m2", "train", 12.0, 0.3, 201, load_changes=((6.0, 0.8),)),
    Synthetic("synthetic/m2_normal_b.wav", "m2", "val", 4.0, 0.6, 202),
    Synthetic("synthetic/m2_normal_c.wav", "m2", "test", 4.0, 0.1, 203, load_changes=((2.0, 0.9),)),
    Synthetic("synthetic/m3_normal_a.wav", "m3", "train", 12.0, 0.7, 301, load_changes=((4.0, 0.2), (8.0, 1.0))),
    Synthetic("synthetic/m3_normal_b.wav", "m3", "val", 4.0, 0.4, 302),
    Synthetic("synthetic/m3_normal_c.wav", "m3", "test", 4.0, 0.9, 303),
    Synthetic("synthetic/m1_outer_race_sev100.wav", "m1", "train", 4.0, 0.5, 111, "outer", 1.0),
    Synthetic("synthetic/m1_outer_race_sev050.wav", "m1", "test", 4.0, 0.2, 112, "outer", 0.5),
    Synthetic("synthetic/m1_inner_race_sev100.wav", "m1", "train", 4.0, 0.5, 121, "inner", 1.0),
    Synthetic("synthetic/m1_inner_race_sev050.wav", "m1", "test", 4.0, 0.2, 122, "inner", 0.5),
    Synthetic("synthetic/m1_ball_sev100.wav", "m1", "train", 4.0, 0.5, 131, "ball", 1.0),
    Synthetic("synthetic/m1_ball_sev050.wav", "m1", "test", 4.0, 0.2, 132, "ball", 0.5),
    # Healthy, then an outer-race defect appears at 4 s and grows to full size by 6 s.
    Synthetic("synthetic/m2_run_to_outer_race.wav", "m2", "test", 10.0, 0.5, 241, "outer", 1.0,
              fault_onset_s=4.0, growth_s=2.0),
)  # fmt: skip

# 1.5 s of each condition at 0 hp, 1797 rpm nominal, from 1.0 s into the record (past any start transient).
CWRU: tuple[CwruExcerpt, ...] = (
    CwruExcerpt("cwru/normal_0_97_excerpt.wav", "normal_0_97.mat", "normal", 48000, 1.0, 1.5),
    CwruExcerpt(
        "cwru/ir007_0_105_excerpt.wav", "12k_Drive_End_IR007_0_105.mat", "inner_race", 12000, 1.0, 1.5
    ),
    CwruExcerpt("cwru/b007_0_118_excerpt.wav", "12k_Drive_End_B007_0_118.mat", "ball", 12000, 1.0, 1.5),
    CwruExcerpt(
        "cwru/or007_6_0_130_excerpt.wav", "12k_Drive_End_OR007@6_0_130.mat", "outer_race", 12000, 1.0, 1.5
    ),
)


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def _write_wav(path: Path, x: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.wavfile.write(path, SAMPLE_RATE, np.ascontiguousarray(x, dtype=np.float32))


def synthetic_rows(spec: Synthetic) -> list[dict[str, str]]:
    """Manifest rows for a synthetic recording (two slices when the fault starts partway)."""
    label = "normal" if spec.fault is None else synth.FAULTS[spec.fault]
    base = {
        "path": spec.file, "fs": "", "channel": "0", "group": Path(spec.file).stem, "split": spec.split,
        "rpm": _fmt(synth.MACHINES[spec.machine].rpm), "load": _fmt(spec.load),
    }  # fmt: skip
    if spec.fault_onset_s is None:
        return [{**base, "label": label, "start_s": "", "end_s": ""}]
    # The growth period is left out: frames there are neither clearly healthy nor a fully grown fault.
    return [
        {**base, "label": "normal", "start_s": "", "end_s": _fmt(spec.fault_onset_s)},
        {**base, "label": label, "start_s": _fmt(spec.fault_onset_s + spec.growth_s), "end_s": ""},
    ]


def _cwru_signal(path: Path, ex: CwruExcerpt) -> tuple[np.ndarray, float]:
    """The excerpt's DE samples at 12 kHz (float32) and the rpm CWRU recorded."""
    m = scipy.io.loadmat(path)
    # By suffix: some CWRU files hold variables numbered differently from the file name.
    keys = [k for k in m if k.endswith("_DE_time")]
    if len(keys) != 1:
        raise SystemExit(f"{path}: expected exactly one *_DE_time variable, found {keys}")
    rpm_keys = [k for k in m if k.endswith("RPM")]
    rpm = float(np.ravel(m[rpm_keys[0]])[0]) if rpm_keys else 1797.0
    x = np.asarray(m[keys[0]], dtype=np.float64).ravel()
    if ex.fs != SAMPLE_RATE:
        # The whole record is resampled, then sliced, so the filter's edge transients stay out of the excerpt.
        x = scipy.signal.resample_poly(x, SAMPLE_RATE, ex.fs)
    a = round(ex.start_s * SAMPLE_RATE)
    return x[a : a + round(ex.duration_s * SAMPLE_RATE)].astype(np.float32), rpm


def cwru_row(ex: CwruExcerpt, rpm: float) -> dict[str, str]:
    # No split: the trainer cuts each excerpt into leak-free time blocks (docs/datasets.md), so real data
    # appears in training and in the reported metrics.
    return {
        "path": ex.file, "label": ex.label, "fs": "", "channel": "0", "group": Path(ex.file).stem.removesuffix(
            "_excerpt"), "split": "", "rpm": _fmt(rpm), "load": "0", "start_s": "", "end_s": "",
    }  # fmt: skip


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _banner() -> str:
    script = Path(__file__).resolve()
    return f"GENERATED — do not edit: written by scripts/make_sample_data.py (sha256 {_sha256(script)})"


def _readme(rows: list[dict[str, str]], tmp: Path) -> str:
    lines = [
        f"<!-- {_banner()} -->",
        "# Sample data",
        "",
        "Small recordings for the demo, the tests and a first training run: synthetic machines made by",
        "`vibsentry.synth`, and short excerpts of real bearing-fault records from the CWRU Bearing Data Center.",
        "All files are mono float32 WAV at 12 kHz, acceleration in g. `manifest.csv` lists them in the",
        "training manifest format (`docs/datasets.md`); `SHA256SUMS` holds the SHA-256 of every file",
        "(check: `cd sample_data && sha256sum -c SHA256SUMS`).",
        "",
        "Regenerate (bit-identical for the synthetic files): `.venv/bin/python scripts/make_sample_data.py`.",
        "",
        "## Synthetic recordings",
        "",
        "Generated by this project (`vibsentry/synth.py`, seeded), under the project's licence (Apache-2.0).",
        "Three machines (`vibsentry.synth.MACHINES`): `m1` a 1797 rpm motor-pump like the CWRU rig (resonance",
        "3 kHz, 60 Hz mains), `m2` a 1480 rpm fan (2.5 kHz, 50 Hz, more unbalance), `m3` a 2960 rpm compressor",
        "(3.6 kHz, 50 Hz, some misalignment); all on a 6205-2RS bearing. `load` is a fraction of rated load.",
        "",
        "| file | machine | fault | severity | load (changes: time s -> load) | seconds | seed | split |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in SYNTHETIC:
        changes = ", ".join(f"{t:g} s -> {v:g}" for t, v in s.load_changes)
        load = f"{s.load:g}" + (f" ({changes})" if changes else "")
        fault = s.fault or "none"
        if s.fault_onset_s is not None:
            fault += f" from {s.fault_onset_s:g} s, grown by {s.fault_onset_s + s.growth_s:g} s"
        sev = f"{s.severity:g}" if s.fault else ""
        lines.append(
            f"| `{s.file}` | {s.machine} | {fault} | {sev} | {load} | {s.duration_s:g} | {s.seed} | {s.split} |"
        )
    lines += [
        "",
        "`m2_run_to_outer_race.wav` has two manifest rows: `normal` before the onset and `outer_race` once the",
        "defect is fully grown; the growth period in between is left out of both.",
        "",
        "## Real excerpts (CWRU Bearing Data Center)",
        "",
        "Source: Case Western Reserve University Bearing Data Center, <https://engineering.case.edu/bearingdatacenter>,",
        "drive-end accelerometer (`*_DE_time`) of the 2 hp Reliance motor test rig with an SKF 6205-2RS JEM",
        "bearing, single-point faults seeded by electro-discharge machining. The `.mat` files were taken",
        "byte-for-byte from the public GitHub mirror `yyxyz/CaseWesternReserveUniversityData` (commit",
        "`b19e5a7e`). The records are published by CWRU; these short excerpts are reproduced with attribution.",
        "The project's Apache-2.0 licence does not cover them: CWRU's terms apply. Cite the CWRU Bearing Data",
        'Center when you use them (a widely used analysis of the set: W. A. Smith and R. B. Randall, "Rolling',
        'element bearing diagnostics using the Case Western Reserve University data: a benchmark study",',
        "Mechanical Systems and Signal Processing 64-65, 2015).",
        "",
        "Each excerpt is 1.5 s starting 1.0 s into the record, load 0 hp; the normal record",
        "(`normal_0_97.mat`) is sampled at 48 kHz and was resampled to 12 kHz with",
        "`scipy.signal.resample_poly(x, 1, 4)` before slicing.",
        "",
        "| file | CWRU record | condition | rpm (from the record) |",
        "|---|---|---|---|",
    ]
    by_path = {r["path"]: r for r in rows}
    for ex in CWRU:
        if ex.file in by_path:
            lines.append(f"| `{ex.file}` | `{ex.source}` | {ex.label} | {by_path[ex.file]['rpm']} |")
    if not any(ex.file in by_path for ex in CWRU):
        lines.append("")
        lines.append("(No CWRU excerpts: the datasets folder was not available when this was generated.)")
    total = sum(p.stat().st_size for p in tmp.rglob("*.wav"))
    lines += ["", f"Total size of the recordings: {total / 1e6:.2f} MB.", ""]
    return "\n".join(lines)


def build(out: Path, datasets: Path | None) -> int:
    """Write sample_data into ``out`` atomically. Returns the number of bytes written."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-") as tmp_name:
        tmp = Path(tmp_name) / "data"
        tmp.mkdir()
        rows: list[dict[str, str]] = []
        for spec in SYNTHETIC:
            _write_wav(tmp / spec.file, synth.machine_signal(**spec.kwargs()))  # type: ignore[arg-type]
            rows += synthetic_rows(spec)
        cwru_dir = datasets / "cwru" if datasets is not None else None
        have_cwru = cwru_dir is not None and cwru_dir.is_dir()
        old_rows = _old_rows(out / "manifest.csv")
        for ex in CWRU:
            if have_cwru:
                assert cwru_dir is not None
                x, rpm = _cwru_signal(cwru_dir / ex.source, ex)
                _write_wav(tmp / ex.file, x)
                rows.append(cwru_row(ex, rpm))
            elif (out / ex.file).is_file():
                # Keep the committed excerpt (and its recorded rpm from the old manifest).
                (tmp / ex.file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(out / ex.file, tmp / ex.file)
                rows.append(old_rows.get(ex.file) or cwru_row(ex, 1797.0))
        if not have_cwru:
            why = "not requested (--no-cwru)" if cwru_dir is None else f"{cwru_dir} not found"
            print(f"CWRU excerpts not regenerated: {why}; kept the existing ones", file=sys.stderr)

        buf = io.StringIO()
        buf.write(f"# {_banner()}\n")
        w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        (tmp / "manifest.csv").write_text(buf.getvalue(), encoding="utf-8")
        (tmp / "README.md").write_text(_readme(rows, tmp), encoding="utf-8")
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        sums = "".join(f"{_sha256(tmp / f)}  {f}\n" for f in files)
        (tmp / "SHA256SUMS").write_text(sums, encoding="utf-8")
        total = sum((tmp / f).stat().st_size for f in [*files, "SHA256SUMS"])
        if total > MAX_BYTES:
            raise SystemExit(f"sample_data would be {total} bytes, over the {MAX_BYTES} byte budget")
        # Swap the finished folder in; the old one is removed only after the rename succeeded.
        previous = Path(tmp_name) / "previous"
        if out.exists():
            out.rename(previous)
        tmp.rename(out)
    return total


def _old_rows(manifest: Path) -> dict[str, dict[str, str]]:
    if not manifest.is_file():
        return {}
    lines = [ln for ln in manifest.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    return {r["path"]: {c: r.get(c, "") for c in COLUMNS} for r in csv.DictReader(lines)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=ROOT / "sample_data", help="output folder (default sample_data/)"
    )
    default_ds = Path(os.environ.get("VIBSENTRY_DATASETS", ROOT.parent / "shared" / "datasets"))
    ap.add_argument(
        "--datasets", type=Path, default=default_ds, help=f"datasets folder (default {default_ds})"
    )
    ap.add_argument("--no-cwru", action="store_true", help="do not read the CWRU records")
    args = ap.parse_args(argv)
    total = build(args.out, None if args.no_cwru else args.datasets)
    print(f"wrote {args.out} ({total} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
