"""The wheel: one ``vibsentry`` namespace from four folders, installable into a fresh virtual environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


#: Top-level folders with an ``__init__.py`` that are not part of the installed package.
NOT_SHIPPED = {"tests", "benchmarks", "scripts", "build", "sample_data", "docs"}


def test_every_python_package_folder_is_mapped_in_pyproject() -> None:
    tool = _pyproject()["tool"]["setuptools"]
    mapping: dict[str, str] = tool["package-dir"]
    listed = set(tool["packages"])
    tops = {"vibsentry": "vibsentry"}
    for d in sorted(ROOT.iterdir()):
        if (d / "__init__.py").is_file() and d.name != "vibsentry" and d.name not in NOT_SHIPPED:
            tops[f"vibsentry.{d.name}"] = d.name
            assert mapping.get(f"vibsentry.{d.name}") == d.name, (
                f"{d}/ is a package but not mapped in package-dir"
            )
    for top, folder in tops.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            name = ".".join([top, *rel.parts]) if rel.parts else top
            if "__pycache__" in rel.parts:
                continue
            assert name in listed, f"{init.parent} is a package but {name!r} is not in pyproject packages"
            assert name in mapping or name.rsplit(".", 1)[0] in mapping or top in mapping


def test_every_package_data_pattern_matches_a_file() -> None:
    tool = _pyproject()["tool"]["setuptools"]
    for pkg, patterns in tool["package-data"].items():
        folder = ROOT / tool["package-dir"][pkg]
        for pattern in patterns:
            assert list(folder.glob(pattern)), (
                f"package-data {pkg!r}: {pattern!r} matches nothing in {folder}"
            )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src") / "vibsentry"
    # Build from a copy of the tracked-or-new files so build artefacts never land in the work tree.
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                                              "firmware_core", "sample_data", ".vibsentry"))  # fmt: skip
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        timeout=300,
    )
    (whl,) = out.glob("vibsentry-*.whl")
    return whl


def test_wheel_adds_only_the_vibsentry_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"vibsentry"}
    for must in ("vibsentry/dsp/params.py", "vibsentry/dsp/features.py", "vibsentry/runtime/alarm.py",
                 "vibsentry/cli.py", "vibsentry/commands/features.py", "vibsentry/py.typed",
                 "vibsentry/codegen/host_shim.c"):  # fmt: skip
        assert must in names
    folders = _pyproject()["tool"]["setuptools"]["package-dir"].values()
    shipped = "|".join(f for f in folders if "/" not in f and f != "vibsentry")
    assert not any(re.match(rf"({shipped})/", n) for n in names)


def test_wheel_installs_into_a_fresh_venv_and_runs(wheel: Path, tmp_path: Path) -> None:
    if not UV.exists():
        pytest.skip("uv is installed by dev.sh; run the suite through ./dev.sh test")
    venv = tmp_path / "venv"
    subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(UV), "pip", "install", "-q", "--python", str(py), str(wheel)], check=True, timeout=600
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # Run from an empty folder so nothing can come from the repository checkout.
    run = tmp_path / "cwd"
    run.mkdir()
    helptext = subprocess.run([str(venv / "bin" / "vibsentry"), "--help"], cwd=run, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert helptext.returncode == 0, helptext.stderr
    assert "features" in helptext.stdout
    where = subprocess.run([str(py), "-c", "import vibsentry.dsp as d; print(d.__file__)"], cwd=run, env=env,
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert str(venv) in where and str(ROOT) not in where
    import numpy as np
    import scipy.io.wavfile

    scipy.io.wavfile.write(
        run / "r.wav", 12000, np.random.default_rng(0).normal(size=20000).astype(np.float32)
    )
    proc = subprocess.run([str(venv / "bin" / "vibsentry"), "features", "r.wav", "--out", "r.npz", "--json"],
                          cwd=run, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert '"n_frames": 19' in proc.stdout


def test_python_cmsisdsp_is_the_firmwares_cmsis_dsp_version() -> None:
    """q31 training features call the `cmsisdsp` wheel; the node compiles CMSIS-DSP sources: one version."""
    make = (ROOT / "firmware_core" / "Makefile").read_text()
    firmware = re.search(r"^CMSIS_VERSION\s*:=\s*(\S+)", make, re.M)
    assert firmware, "firmware_core/Makefile: CMSIS_VERSION not found"
    pins = [d for d in _pyproject()["project"]["optional-dependencies"]["train"] if d.startswith("cmsisdsp")]
    assert pins == [f"cmsisdsp=={firmware.group(1)}"], pins
