"""CLI hardening (issue K): the real ``vibsentry`` in a subprocess refuses what would destroy or leak, in one
line, and leaves the user's files alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.hardening import snapshot

ROOT = Path(__file__).resolve().parents[1]


def vibsentry(
    *args: str, cwd: Path | None = None, stdin: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI; returns the completed process (text)."""
    return subprocess.run(
        [sys.executable, "-m", "vibsentry", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd,
        timeout=timeout,
    )


def one_line_error(res: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Assert exit ``code`` with exactly one stderr line (no traceback) containing every needle."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == code and len(lines) == 1, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr and all(n in lines[0] for n in needles), lines
    return lines[0]


def fake_bundle(path: Path) -> Path:
    """A previous bundle as ``save_bundle`` writes it (content irrelevant to the replace rules)."""
    from vibsentry.runtime.bundle import FORMAT, save_bundle

    return save_bundle(path, meta={"format": FORMAT, "format_version": 1}, files={"report.md": b"old\n"})


# --------------------------------------------------------------------------- finding 4: train --overwrite


def test_train_overwrite_never_replaces_a_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "precious.csv").write_text("mine\n")
    before = snapshot(tmp_path)
    res = vibsentry("train", "-m", str(ROOT / "sample_data" / "manifest.csv"), "-o", str(data), "--overwrite")
    one_line_error(res, 1, "not a vibsentry bundle", "--overwrite only replaces a previous bundle")
    assert snapshot(tmp_path) == before


def test_train_overwrite_refuses_a_bundle_holding_its_inputs(tmp_path: Path) -> None:
    old = fake_bundle(tmp_path / "b")
    manifest = old / "new.csv"
    manifest.write_text((ROOT / "sample_data" / "manifest.csv").read_text())
    before = snapshot(tmp_path)
    for out in (str(old), f"{old}/../b"):
        res = vibsentry("train", "-m", str(manifest), "-o", out, "--overwrite")
        one_line_error(res, 1, "contains", "new.csv", "would delete it")
    res = vibsentry("train", "-m", str(manifest), "-o", str(tmp_path / "b"))
    one_line_error(res, 1, "already exists")
    assert snapshot(tmp_path) == before


def test_save_bundle_over_a_dotdot_path_replaces_in_place(tmp_path: Path) -> None:
    from vibsentry.runtime.bundle import FORMAT, save_bundle

    fake_bundle(tmp_path / "D")
    save_bundle(
        tmp_path / "D" / ".." / "D",
        meta={"format": FORMAT, "format_version": 1},
        files={"report.md": b"new\n"},
        overwrite=True,
    )
    assert (tmp_path / "D" / "report.md").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D"]  # no .D.old-PID, no temp folder
