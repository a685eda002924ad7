"""Benchmark: the generated fused kernels against hand-written NumPy and PyTorch, one thread each.

Times ``symloss_kernels.bce_with_logits_value_and_grad`` on 10 million float64
logits with 0/1 labels and ``symloss_kernels.softmax_cross_entropy_value_and_grad``
on 100 000 x 100 logits with integer labels (reduction "mean"), against

- a hand-written stable NumPy version of each (loss and gradient in one function),
- PyTorch CPU forward + backward, when ``import torch`` works, with
  ``torch.set_num_threads(1)``.

NumPy is pinned to one thread by setting ``OMP_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS`` before it is imported (its elementwise ufuncs use one
thread anyway).  Before timing, every implementation is checked against the
generated kernel on the benchmark data: the loss to 1e-12 relative, the
gradient to 1e-10 relative to its largest entry.

Prints figures, asserts no timing.  Usage, from the repository root:
``python benchmarks/kernels.py [--repeat N] [--quick]`` (``--quick``: tiny
sizes, for the smoke test).  Exit code 1 when the implementations disagree.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402 - after the thread pinning, which must precede numpy
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import symloss_kernels  # noqa: E402

try:
    import torch
except (ImportError, OSError):  # not installed, or installed but unusable
    torch = None

VALUE_TOLERANCE = 1e-12
GRADIENT_TOLERANCE = 1e-10
GENERATED = "symloss (generated)"

ValueAndGrad = Callable[[], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class Case:
    """One benchmark problem: its name and, per implementation, a call giving (loss, gradient)."""

    name: str
    implementations: dict[str, ValueAndGrad]


@dataclass(frozen=True)
class Row:
    """The timings of one implementation on one case, in milliseconds."""

    case: str
    implementation: str
    median_ms: float
    min_ms: float
    ratio: float


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1/(1 + e^-x) without overflow: with e = e^-|x|, 1/(1 + e) for x >= 0 and e/(1 + e) below."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def numpy_bce_with_logits(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Hand-written stable BCE on logits with 0/1 labels, mean reduction: (loss, gradient).

    With s = 1 - 2y (+1 for y = 0, -1 for y = 1) the per-element loss is
    softplus(s z) = logaddexp(0, s z) and its derivative s sigmoid(s z): both
    exact in sign and tail, since multiplying by +-1 is exact.
    """
    s = 1.0 - 2.0 * y
    sz = s * z
    loss = np.logaddexp(0.0, sz)
    grad = s * stable_sigmoid(sz)
    return float(np.mean(loss)), grad / z.size


def numpy_softmax_cross_entropy(z: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Hand-written stable softmax cross-entropy, integer labels, mean reduction: (loss, gradient).

    log softmax(z)_k = (z_k - m) - log sum_j e^{z_j - m} with m the row maximum;
    the gradient is softmax(z) minus the one-hot labels, over the row count.
    """
    rows = np.arange(z.shape[0])
    shifted = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(shifted)
    total = np.sum(e, axis=1, keepdims=True)
    loss = np.log(total[:, 0]) - shifted[rows, labels]
    grad = e / total
    grad[rows, labels] -= 1.0
    return float(np.mean(loss)), grad / z.shape[0]


def torch_forward_backward(loss_function: Callable[..., Any], z: Any, target: Any) -> ValueAndGrad:
    """A call running ``loss_function(z, target)`` forward and backward in PyTorch: (loss, gradient)."""

    def run() -> tuple[float, np.ndarray]:
        leaf = z.detach().requires_grad_(True)
        loss = loss_function(leaf, target)
        loss.backward()
        return float(loss.item()), leaf.grad.numpy()

    return run


def bce_case(size: int, rng: np.random.Generator) -> Case:
    """BCE on ``size`` logits (standard normal times 4) with fair 0/1 labels."""
    z = 4.0 * rng.standard_normal(size)
    y = (rng.random(size) < 0.5).astype(np.float64)
    implementations: dict[str, ValueAndGrad] = {
        GENERATED: lambda: symloss_kernels.bce_with_logits_value_and_grad(z, y),
        "numpy (hand-written)": lambda: numpy_bce_with_logits(z, y),
    }
    if torch is not None:
        implementations["pytorch fwd+bwd"] = torch_forward_backward(
            torch.nn.functional.binary_cross_entropy_with_logits, torch.from_numpy(z), torch.from_numpy(y)
        )
    return Case(f"bce_with_logits n={size:,}", implementations)


def softmax_cross_entropy_case(rows: int, classes: int, rng: np.random.Generator) -> Case:
    """Softmax cross-entropy on ``rows`` x ``classes`` logits (standard normal times 4), integer labels."""
    z = 4.0 * rng.standard_normal((rows, classes))
    labels = rng.integers(0, classes, rows)
    implementations: dict[str, ValueAndGrad] = {
        GENERATED: lambda: symloss_kernels.softmax_cross_entropy_value_and_grad(z, labels),
        "numpy (hand-written)": lambda: numpy_softmax_cross_entropy(z, labels),
    }
    if torch is not None:
        implementations["pytorch fwd+bwd"] = torch_forward_backward(
            torch.nn.functional.cross_entropy, torch.from_numpy(z), torch.from_numpy(labels)
        )
    return Case(f"softmax_cross_entropy {rows:,}x{classes}", implementations)


def check_agreement(case: Case) -> bool:
    """Print each implementation's largest difference from the generated kernel; True when all are in tolerance."""
    value, grad = case.implementations[GENERATED]()
    reference_value, reference_grad = float(value), np.asarray(grad)
    grad_scale = float(np.max(np.abs(reference_grad))) or 1.0
    agree = True
    for name, run in case.implementations.items():
        if name == GENERATED:
            continue
        value, grad = run()
        value_error = abs(value - reference_value) / abs(reference_value)
        grad_error = float(np.max(np.abs(np.asarray(grad) - reference_grad))) / grad_scale
        ok = value_error <= VALUE_TOLERANCE and grad_error <= GRADIENT_TOLERANCE
        agree = agree and ok
        print(f"  {case.name:34s} {name:22s} loss rel diff {value_error:9.2e}  "
              f"grad max diff / max |grad| {grad_error:9.2e}  {'ok' if ok else 'DISAGREES'}")
    return agree


def time_case(case: Case, repeat: int) -> list[Row]:
    """Median and minimum wall time of ``repeat`` calls of each implementation (after one warm-up call)."""
    seconds: dict[str, list[float]] = {}
    for name, run in case.implementations.items():
        run()
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            run()
            samples.append(time.perf_counter() - start)
        seconds[name] = samples
    generated = statistics.median(seconds[GENERATED])
    return [
        Row(case.name, name, 1e3 * statistics.median(s), 1e3 * min(s), statistics.median(s) / generated)
        for name, s in seconds.items()
    ]


def print_table(rows: Sequence[Row]) -> None:
    """The timing table; ratio = the implementation's median over the generated kernel's (> 1: generated faster)."""
    print(f"{'case':34s} {'implementation':22s} {'median ms':>10s} {'min ms':>10s} {'ratio':>7s}")
    for row in rows:
        print(f"{row.case:34s} {row.implementation:22s} {row.median_ms:10.1f} {row.min_ms:10.1f} {row.ratio:7.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; 0, or 1 when the implementations disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per implementation (default 7)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(1)
    rng = np.random.default_rng(20240603)
    if args.quick:
        cases = [bce_case(10_000, rng), softmax_cross_entropy_case(1_000, 10, rng)]
    else:
        cases = [bce_case(10_000_000, rng), softmax_cross_entropy_case(100_000, 100, rng)]
    torch_note = f"torch {torch.__version__}, {torch.get_num_threads()} thread" if torch is not None else "no torch"
    print(f"numpy {np.__version__} (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}), {torch_note}, "
          f"repeat {args.repeat}")

    print("agreement with the generated kernel (loss to 1e-12 relative, gradient to 1e-10 of its largest entry):")
    agree = all([check_agreement(case) for case in cases])
    print(f"agreement: {'ok' if agree else 'FAILED'}")

    rows = [row for case in cases for row in time_case(case, args.repeat)]
    print_table(rows)
    for row in rows:
        if row.implementation.startswith("pytorch"):
            print(f"{row.case}: generated kernel {row.ratio:.2f}x PyTorch fwd+bwd speed (target >= 1.2x)")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
