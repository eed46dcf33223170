"""Coverage-guided fuzzing (atheris = libFuzzer for Python) of vibsentry's Python readers (issue K, part 6).

Run as a script, one target per process, libFuzzer options after the target name::

    python tests/support/fuzz_targets.py protocol -runs=20000 -seed=1 CORPUS_DIR
    python tests/support/fuzz_targets.py seeds OUT_DIR      # write the seed corpus of every target

Targets and what each must do with ANY input: return normally or raise a ``VibsentryError`` subclass (one
clear error). Anything else (IndexError, struct.error, a hang, ...) is a crash that libFuzzer reports with the
input that caused it (``crash-<sha1>`` in the working folder) and a non-zero exit.

- ``protocol``: :func:`vibsentry.protocol.decode_frame` on the bytes, and :class:`~vibsentry.protocol.Decoder`
  fed the bytes split at a position taken from the input;
- ``bundle``: :func:`vibsentry.runtime.bundle.load_bundle` on a folder whose ``bundle.json`` is the input,
  once as it is and once re-signed (sha256 sums and ``bundle_sha256`` recomputed, as a buggy tool or an
  attacker would), so the checks behind the hashes are reached too;
- ``manifest``: :func:`vibsentry.training.manifest.read_manifest` on the input as a manifest CSV next to two
  recordings;
- ``all``: the four above in one process, the first byte choosing (what the test suite runs);
- ``recording``: the readers of ``features`` and ``train`` (``vibsentry.dsp.io.read_recording`` for
  ``.wav``/``.csv``/``.npy``, and the training loaders through ``load_signal`` for those and ``.mat``) on
  the input as a file whose suffix the first byte chooses.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports(include=["vibsentry"]):  # coverage of vibsentry's code, not numpy's
    from vibsentry import protocol as vp
    from vibsentry.dsp import io as dio
    from vibsentry.dsp.params import FeatureParams
    from vibsentry.errors import VibsentryError
    from vibsentry.runtime import bundle as B
    from vibsentry.runtime.alarm import AlarmRule
    from vibsentry.training import manifest as M

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(tempfile.mkdtemp(prefix="vs-fuzz-"))
SUFFIXES = (".wav", ".csv", ".npy", ".mat")


def _protocol(data: bytes) -> None:
    try:
        vp.decode_frame(data)
    except VibsentryError:
        pass
    cut = data[0] % (len(data) + 1) if data else 0
    dec = vp.Decoder()
    for chunk in (data[:cut], data[cut:], b"\x00"):
        for _frame in dec.feed(chunk):
            pass


def _bundle_dir() -> Path:
    d = WORK / "bundle"
    if not d.exists():
        d.mkdir()
        (d / B.MODEL_FILE).write_bytes(b"TFL3 not a real model")
        (d / "report.md").write_text("r\n")
    return d


def _bundle(data: bytes) -> None:
    d = _bundle_dir()
    for resign in (False, True):
        raw = data
        if resign:
            try:
                doc = json.loads(data.decode("utf-8"))
            except ValueError:
                return
            if not isinstance(doc, dict):
                return
            files = doc.get("files")
            if isinstance(files, dict):
                doc["files"] = {
                    k: hashlib.sha256((d / k).read_bytes()).hexdigest() if (d / k).is_file() else v
                    for k, v in files.items()
                    if isinstance(k, str) and "/" not in k and k not in ("", ".", "..")
                }
            try:
                doc["bundle_sha256"] = B.metadata_sha256(doc)
            except (TypeError, ValueError):  # not JSON-serialisable canonically: the loader rejects it anyway
                pass
            raw = json.dumps(doc).encode()
        (d / B.BUNDLE_JSON).write_bytes(raw)
        try:
            B.load_bundle(d)
        except VibsentryError:
            pass


def _manifest(data: bytes) -> None:
    d = WORK / "manifest"
    if not d.exists():
        d.mkdir()
        np.save(d / "a.npy", np.zeros(64, np.float32))
        (d / "b.wav").write_bytes(
            (ROOT / "sample_data" / "synthetic" / "m1_normal_a.wav").read_bytes()[:4096]
        )
    (d / "m.csv").write_bytes(data)
    try:
        M.read_manifest(d / "m.csv")
    except VibsentryError:
        pass


def _recording(data: bytes) -> None:
    if not data:
        return
    suffix = SUFFIXES[data[0] % len(SUFFIXES)]
    f = WORK / f"r{suffix}"
    f.write_bytes(data[1:])
    if suffix != ".mat":
        try:
            dio.read_recording(f, sample_rate=12000.0)
        except VibsentryError:
            pass
    row = M.ManifestRow(
        path=f.name, file=f, label="normal", fs=12000.0, channel="", group="g", split="train", rpm=None,
        load="", start_s=None, end_s=None, line=2, manifest="fuzz",
    )  # fmt: skip
    try:
        M.load_signal(row, target_sr=12000.0)
    except VibsentryError:
        pass


TARGETS = {"protocol": _protocol, "bundle": _bundle, "manifest": _manifest, "recording": _recording}
ORDER = tuple(TARGETS)


def _all(data: bytes) -> None:
    """Every target in one process (one start-up for the test suite): the first byte picks the target."""
    if data:
        TARGETS[ORDER[data[0] % len(ORDER)]](data[1:])


TARGETS["all"] = _all


def seeds(out: Path) -> None:
    """Write a small seed corpus per target under ``out/<target>/``."""
    for t in TARGETS:
        (out / t).mkdir(parents=True, exist_ok=True)
    try:
        _write_seeds(out)
    finally:  # the 'all' corpus: every seed, prefixed with its target's byte
        for i, t in enumerate(ORDER):
            for f in (out / t).iterdir():
                (out / "all" / f"{t}-{f.name}").write_bytes(bytes([i]) + f.read_bytes())


def _write_seeds(out: Path) -> None:
    for line in (ROOT / "tests" / "vectors" / "protocol" / "frames.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, hexa = line.split()[:2]
            (out / "protocol" / name).write_bytes(bytes.fromhex(hexa))
    params = FeatureParams()
    n = params.n_features
    meta = {
        "format": B.FORMAT,
        "format_version": B.FORMAT_VERSION,
        "kind": "anomaly",
        "classes": ["normal"],
        "feature_params": params.to_dict(),
        "feature_hash": params.feature_hash,
        "normalisation": {"method": "zscore", "mean": [0.0] * n, "std": [1.0] * n},
        "alarm": AlarmRule(threshold=1.0, clear_threshold=0.8).to_dict(),
        "score": {"definition": B.SCORE_AUTOENCODER},
        "model": {"file": B.MODEL_FILE},
        "files": {B.MODEL_FILE: "", "report.md": ""},
    }
    (out / "bundle" / "valid.json").write_text(json.dumps(meta))
    (out / "manifest" / "sample.csv").write_bytes(
        b"path,label,fs,channel,group,split,rpm,load,start_s,end_s\n"
        b"a.npy,normal,12000,,g1,train,,,,\nb.wav,outer_race,,0,g2,test,1797,0,0.01,0.05\n"
    )
    wav = (ROOT / "sample_data" / "synthetic" / "m1_normal_a.wav").read_bytes()[:2048]
    (out / "recording" / "wav").write_bytes(bytes([0]) + wav)
    (out / "recording" / "csv").write_bytes(bytes([1]) + b"x,y\n0.1,0.2\n0.3,0.4\n")
    buf = io.BytesIO()
    np.save(buf, np.arange(32, dtype=np.float32))
    (out / "recording" / "npy").write_bytes(bytes([2]) + buf.getvalue())
    import scipy.io

    mat = io.BytesIO()
    scipy.io.savemat(mat, {"X097_DE_time": np.arange(64.0)[:, None]})
    (out / "recording" / "mat").write_bytes(bytes([3]) + mat.getvalue())


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "seeds":
        seeds(Path(sys.argv[2]))
        return
    target = TARGETS[sys.argv[1]]
    corpus = Path(sys.argv[-1])
    if corpus.is_dir() and not any(corpus.glob(f"{ORDER[0]}-*")) and sys.argv[1] == "all":
        seeds(WORK / "seeds")  # start from the seed corpus (files already there, e.g. old crashes, stay)
        for f in (WORK / "seeds" / "all").iterdir():
            (corpus / f.name).write_bytes(f.read_bytes())
    os.chdir(WORK)  # crash files land in the temp folder, which is printed on failure
    atheris.Setup([sys.argv[0], *sys.argv[2:]], lambda data: target(bytes(data)))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
