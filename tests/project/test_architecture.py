"""Dependencies point one way (``ARCHITECTURE.md``): a module imports only from its own layer or the ones below.

Layers, bottom to top::

    core        vibsentry.errors, fileio, config, protocol, progress, process, vibsentry._* (generated tables)
    dsp         vibsentry.dsp
    diagnostics vibsentry.diagnostics
    synth       vibsentry.synth (synthetic signals; builds on dsp and diagnostics)
    runtime     vibsentry.runtime (bundle, TFLite runner, score, alarm rule)
    codegen     vibsentry.codegen, vibsentry.signing (signs bundles and model images)
    training    vibsentry.training
    rooms       vibsentry.nodes | vibsentry.dashboard (independent of each other)
    app         vibsentry.commands, vibsentry.cli, vibsentry.demo, vibsentry.__main__

Every ``import`` counts, also those inside functions (lazy imports) and under ``TYPE_CHECKING``. The check reads
the sources with :mod:`ast`; nothing is imported, so it needs no optional dependency.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: (layer, module prefixes), bottom first. Modules of one layer may import each other, except that the
#: packages sharing the "rooms" layer may not import one another.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("vibsentry.errors", "vibsentry.fileio", "vibsentry.config", "vibsentry.protocol",
              "vibsentry.progress", "vibsentry.process", "vibsentry._")),
    ("dsp", ("vibsentry.dsp",)),
    ("diagnostics", ("vibsentry.diagnostics",)),
    ("synth", ("vibsentry.synth",)),
    ("runtime", ("vibsentry.runtime",)),
    ("codegen", ("vibsentry.codegen", "vibsentry.signing")),
    ("training", ("vibsentry.training",)),
    ("rooms", ("vibsentry.nodes", "vibsentry.dashboard")),
    ("app", ("vibsentry.commands", "vibsentry.cli", "vibsentry.demo", "vibsentry.__main__")),
)  # fmt: skip
#: Layers whose packages are independent of each other.
INDEPENDENT = {"rooms"}


def _prefix_of(module: str, prefixes: tuple[str, ...]) -> str | None:
    for p in prefixes:
        if p.endswith("_"):  # vibsentry._protocol_spec, ... (generated tables), not vibsentry.__main__
            if module.startswith(p) and not module.startswith(p + "_"):
                return p
            continue
        if module == p or module.startswith(p + "."):
            return p
    return None


def layer_of(module: str, layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS) -> tuple[int, str] | None:
    """(layer index, package prefix) of a first-party module; ``vibsentry`` itself (its ``__init__``) is core."""
    if module == "vibsentry":
        return 0, "vibsentry"
    for i, (_, prefixes) in enumerate(layers):
        p = _prefix_of(module, prefixes)
        if p is not None:
            return i, p
    return None


def package_folders(root: Path) -> dict[str, Path]:
    """``vibsentry.X`` -> folder, as pyproject.toml maps them (top-level mappings only)."""
    mapping = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return {name: root / folder for name, folder in mapping.items() if name.count(".") <= 1}


def iter_modules(folders: Mapping[str, Path]) -> Iterator[tuple[str, Path]]:
    """Every first-party module name and its file."""
    seen: set[Path] = set()
    # Deepest mapping first, so vibsentry/commands is named vibsentry.commands.*, not twice.
    for pkg, folder in sorted(folders.items(), key=lambda kv: -len(kv[0])):
        for f in sorted(folder.rglob("*.py")):
            if f in seen or "__pycache__" in f.parts:
                continue
            seen.add(f)
            rel = f.relative_to(folder).with_suffix("").parts
            if rel[-1] == "__init__":
                rel = rel[:-1]
            yield ".".join([pkg, *rel]), f


def imported_modules(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every first-party import in ``path``, wherever it is in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "vibsentry" or a.name.startswith("vibsentry."):
                    yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base = parts if is_pkg else parts[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not (target == "vibsentry" or target.startswith("vibsentry.")):
                continue
            for a in node.names:
                # ``from vibsentry import protocol`` imports the module vibsentry.protocol.
                yield node.lineno, f"{target}.{a.name}" if target == "vibsentry" else target


def violations(
    folders: Mapping[str, Path], layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS
) -> list[str]:
    """One line per import that points up (or sideways between independent packages), or per unassigned module."""
    out = []
    for mod, path in iter_modules(folders):
        here = layer_of(mod, layers)
        if here is None:
            out.append(
                f"{path}: module {mod} is in no layer (add it to tests/project/test_architecture.py and ARCHITECTURE.md)"
            )
            continue
        for line, target in imported_modules(mod, path):
            there = layer_of(target, layers)
            if there is None:
                continue  # a name re-exported by a package __init__, or a module that does not exist
            (i, p), (j, q) = here, there
            up = j > i
            sideways = i == j and p != q and layers[i][0] in INDEPENDENT
            if up or sideways:
                why = "above it" if up else "beside it (independent packages)"
                out.append(f"{path}:{line}: {mod} ({layers[i][0]}) imports {target} ({layers[j][0]}), {why}")
    return out


def test_dependencies_point_down() -> None:
    bad = violations(package_folders(ROOT))
    assert not bad, "imports against the layers (ARCHITECTURE.md):\n" + "\n".join(bad)


def test_every_package_folder_is_scanned() -> None:
    folders = package_folders(ROOT)
    for name in ("vibsentry", "vibsentry.dsp", "vibsentry.runtime", "vibsentry.codegen", "vibsentry.training",
                 "vibsentry.nodes", "vibsentry.dashboard"):  # fmt: skip
        assert name in folders, f"{name} is not mapped in pyproject.toml"
    mods = {m for m, _ in iter_modules(folders)}
    assert "vibsentry.runtime.bundle" in mods and "vibsentry.commands.train" in mods
    assert "vibsentry.dashboard.store.sqlite" in mods and "vibsentry.codegen.ops" in mods


def _tree(tmp_path: Path, files: Mapping[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        f = tmp_path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return {"vibsentry": tmp_path / "vibsentry", "vibsentry.dsp": tmp_path / "dsp",
            "vibsentry.runtime": tmp_path / "runtime", "vibsentry.nodes": tmp_path / "nodes",
            "vibsentry.dashboard": tmp_path / "dashboard"}  # fmt: skip


BASE = {
    "vibsentry/__init__.py": "",
    "vibsentry/errors.py": "",
    "vibsentry/commands/__init__.py": "",
    "vibsentry/commands/run.py": "from vibsentry.dashboard import app\n",
    "dsp/__init__.py": "from vibsentry.errors import VibsentryError\n",
    "runtime/__init__.py": "",
    "runtime/bundle.py": "from vibsentry.dsp import FeatureParams\nfrom . import alarm\n",
    "runtime/alarm.py": "",
    "nodes/__init__.py": "",
    "dashboard/__init__.py": "",
    "dashboard/app.py": "from vibsentry import protocol\nfrom ..runtime import bundle\n",
}


def test_a_clean_synthetic_tree_passes(tmp_path: Path) -> None:
    assert violations(_tree(tmp_path, BASE)) == []


@pytest.mark.parametrize(
    ("rel", "text", "expect"),
    [
        ("dsp/io.py", "from vibsentry.runtime.bundle import load_bundle\n", "vibsentry.dsp.io (dsp) imports vibsentry.runtime.bundle (runtime), above it"),
        ("runtime/lazy.py", "def f():\n    import vibsentry.dashboard.app\n", "vibsentry.runtime.lazy (runtime) imports vibsentry.dashboard.app (rooms)"),
        ("dashboard/demo.py", "from vibsentry.commands import run\n", "imports vibsentry.commands (app), above it"),
        ("nodes/sim.py", "from vibsentry.dashboard.app import x\n", "beside it (independent packages)"),
        ("vibsentry/errors.py", "from vibsentry import dsp\n", "vibsentry.errors (core) imports vibsentry.dsp (dsp)"),
        ("dsp/sub/mod.py", "from ...runtime import alarm\n", "vibsentry.dsp.sub.mod (dsp) imports vibsentry.runtime (runtime)"),
        ("vibsentry/newthing.py", "", "module vibsentry.newthing is in no layer"),
    ],
)  # fmt: skip
def test_a_violating_import_fails(tmp_path: Path, rel: str, text: str, expect: str) -> None:
    bad = violations(_tree(tmp_path, {**BASE, rel: text}))
    assert len(bad) == 1 and expect in bad[0], bad
