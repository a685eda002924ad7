"""The package layout: one subpackage per pipeline stage, imports only downward, the
declaration API at its old import paths."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "symloss"

# The import order of the stages.  The prover comes before the derivation because each
# derivation step is a claim the prover checks; verify (users' claims) sits on top of the prover.
STAGES = ("declare", "prove", "derive", "stabilize", "emit", "certify", "report", "verify")
DECLARATION_API = ("loss", "notation", "likelihood", "functions")  # old paths, kept as re-exports


def _imported_modules(path: Path) -> set[str]:
    """Every symloss module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return {name for name in found if name.startswith("symloss.")}


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_only_itself_and_earlier_stages(stage: str) -> None:
    allowed = set(STAGES[: STAGES.index(stage) + 1])
    for path in sorted((PACKAGE / stage).rglob("*.py")):
        for module in _imported_modules(path):
            imported_stage = _stage_of(module)
            assert imported_stage is not None, f"{path.name} imports {module}, outside the stages"
            assert imported_stage in allowed, f"{stage}/{path.name} imports the later stage {module}"


def test_every_module_of_the_engine_sits_in_a_stage_or_is_a_top_level_entry() -> None:
    top_level = {path.stem for path in PACKAGE.glob("*.py")}
    assert top_level == {"__init__", "__main__", "cli", "pipeline", *DECLARATION_API}
    for stage in STAGES:
        docstring = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text(encoding="utf-8")))
        assert docstring and "In:" in docstring and "Out:" in docstring, f"{stage}/__init__.py says what flows"


@pytest.mark.parametrize("name", DECLARATION_API)
def test_the_old_import_path_re_exports_every_public_name(name: str) -> None:
    old = importlib.import_module(f"symloss.{name}")
    new = importlib.import_module(f"symloss.declare.{name}")
    public = {n for n, value in vars(new).items()
              if not n.startswith("_") and getattr(value, "__module__", new.__name__).startswith("symloss")}
    missing = {n for n in public if not hasattr(old, n) and not isinstance(getattr(new, n), type(importlib))}
    assert not missing
    for exported in old.__all__:
        assert getattr(old, exported) is getattr(new, exported)


def test_a_declaration_folder_written_against_the_old_paths_loads() -> None:
    from symloss import load_catalog
    from symloss.declare.loss import Loss

    folder = Path(__file__).resolve().parent / "fixtures" / "user_catalog"
    assert "from symloss.loss import" in (folder / "waiting.py").read_text(encoding="utf-8")
    loss = load_catalog(folder).get("geometric_nll")
    assert isinstance(loss, Loss) and loss.claims


MAX_MODULE_LINES = 600  # one job per module: none much over 500 lines


def test_no_module_of_the_engine_is_much_over_500_lines() -> None:
    sizes = {path.relative_to(PACKAGE).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for path in PACKAGE.rglob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}
