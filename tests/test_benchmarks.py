"""Smoke test of ``benchmarks/kernels.py``: it runs, prints its table, and the implementations agree."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "kernels.py"


def load_benchmark() -> ModuleType:
    """``benchmarks/kernels.py`` as a module (``benchmarks`` is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("benchmark_kernels", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_the_table_and_agrees(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One quick run: exit code 0, the agreement check passed, one table row per case and implementation."""
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")  # the script pins these on import; undone after the test
    benchmark = load_benchmark()
    assert benchmark.main(["--quick", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "agreement: ok" in out
    implementations = ["symloss (generated)", "numpy (hand-written)"]
    if benchmark.torch is not None:
        implementations.append("pytorch fwd+bwd")
    assert "median ms" in out and "ratio" in out
    for case in ("bce_with_logits n=10,000", "softmax_cross_entropy 1,000x10"):
        for implementation in implementations:
            row = rf"^{re.escape(case)} +{re.escape(implementation)} +\d+\.\d +\d+\.\d +\d+\.\d\d$"
            assert re.search(row, out, flags=re.MULTILINE), (case, implementation)
