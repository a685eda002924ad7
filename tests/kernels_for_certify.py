"""Hand-made kernels for testing the certifier before the generated ones exist, and the derivations
they are certified against.

Each builder returns a module (``types.ModuleType``) with ``NAME``, ``NAME_grad``,
``NAME_hess`` and ``NAME_value_and_grad`` called as ``f(output, target, reduction="none",
**params)``; only ``reduction="none"`` is implemented, which is all the certifier uses.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import ModuleType

import numpy as np

from symloss import load_catalog
from symloss.derive.chain import Derivation, derive

Kernel = Callable[..., np.ndarray]


@cache
def derivation(name: str) -> Derivation:
    """The derivation of the catalog's loss ``name``, which a kernel here is certified against."""
    return derive(load_catalog().get(name), budget=10.0)


def _module(name: str, value: Kernel, grad: Kernel, hess: Kernel) -> ModuleType:
    module = ModuleType(f"kernels_for_certify_{name}")

    def value_and_grad(*args: np.ndarray, reduction: str = "none", **params: float) -> tuple[np.ndarray, np.ndarray]:
        return value(*args, reduction=reduction, **params), grad(*args, reduction=reduction, **params)

    for suffix, function in (("", value), ("_grad", grad), ("_hess", hess), ("_value_and_grad", value_and_grad)):
        setattr(module, name + suffix, function)
    return module


# --------------------------------------------------------------------------- mse


def mse_module() -> ModuleType:
    """(ŷ − y)², 2(ŷ − y), 2."""

    def value(yhat: np.ndarray, y: np.ndarray, reduction: str = "none") -> np.ndarray:
        return (yhat - y) ** 2

    def grad(yhat: np.ndarray, y: np.ndarray, reduction: str = "none") -> np.ndarray:
        return 2 * (yhat - y)

    def hess(yhat: np.ndarray, y: np.ndarray, reduction: str = "none") -> np.ndarray:
        return np.full_like(yhat, 2.0)

    return _module("mse", value, grad, hess)


# --------------------------------------------------------------------------- bce_with_logits


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1 + e^−z) for z ≥ 0, e^z/(1 + e^z) for z < 0: no overflow."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def bce_with_logits_module() -> ModuleType:
    """Stable: −w·y·log σ(z) − (1 − y)·log(1 − σ(z)) = w·y·softplus(−z) + (1 − y)·softplus(z),
    softplus(x) = logaddexp(0, x); 1 − σ(z) = σ(−z)."""

    def value(z: np.ndarray, y: np.ndarray, reduction: str = "none", pos_weight: float = 1.0) -> np.ndarray:
        return np.where(y == 1, pos_weight * np.logaddexp(0.0, -z), np.logaddexp(0.0, z))

    def grad(z: np.ndarray, y: np.ndarray, reduction: str = "none", pos_weight: float = 1.0) -> np.ndarray:
        return np.where(y == 1, -pos_weight * _sigmoid(-z), _sigmoid(z))

    def hess(z: np.ndarray, y: np.ndarray, reduction: str = "none", pos_weight: float = 1.0) -> np.ndarray:
        curvature = _sigmoid(z) * _sigmoid(-z)
        return np.where(y == 1, pos_weight * curvature, curvature)

    return _module("bce_with_logits", value, grad, hess)


def naive_bce_with_logits_module() -> ModuleType:
    """The textbook form with 1e-8 inside the log and 1 − σ(z): must fail."""
    module = bce_with_logits_module()

    def value(z: np.ndarray, y: np.ndarray, reduction: str = "none", pos_weight: float = 1.0) -> np.ndarray:
        with np.errstate(over="ignore"):
            p = 1 / (1 + np.exp(-z))
        return -pos_weight * y * np.log(p + 1e-8) - (1 - y) * np.log(1 - p + 1e-8)

    module.bce_with_logits = value
    return module


def flushing_bce_with_logits_module() -> ModuleType:
    """The stable value flushed to 0 below 1e-40, as float32-minded code does: must fail
    (a true 3.7e-44 at z = 100, y = 1 computed as 0 is a relative error of 1)."""
    module = bce_with_logits_module()
    stable = module.bce_with_logits

    def value(z: np.ndarray, y: np.ndarray, reduction: str = "none", pos_weight: float = 1.0) -> np.ndarray:
        result = stable(z, y, pos_weight=pos_weight)
        return np.where(np.abs(result) < 1e-40, 0.0, result)

    module.bce_with_logits = value
    return module


# --------------------------------------------------------------------------- softmax_cross_entropy


def softmax_cross_entropy_module() -> ModuleType:
    r"""Soft labels t = (1 − ε)y + ε/K; loss = Σ t_k (lse − z_k) with lse max-shifted, masked
    (−inf) logits skipped where t_k = 0; gradient p − t with 1 − p_c computed as Σ_{k≠c} p_k
    where t_c = 1 (no cancellation); Hessian p(1 − p) likewise."""

    def parts(z: np.ndarray, y: np.ndarray, label_smoothing: float) -> tuple[np.ndarray, ...]:
        size = z.shape[-1]
        y = np.eye(size)[y] if y.dtype.kind in "iu" else y  # class indices as one-hot rows
        t = (1 - label_smoothing) * y + label_smoothing / size
        shift = np.max(z, axis=-1, keepdims=True)
        e = np.exp(z - shift)
        total = np.sum(e, axis=-1, keepdims=True)
        p = e / total
        # 1 − p_k: for the arg-max, the sum of the other terms (no cancellation when p_k ≈ 1);
        # for any other k, p_k ≤ 1/2 and 1 − p_k is exact enough
        top = z == shift
        rest = np.sum(np.where(top, 0.0, e), axis=-1, keepdims=True)
        others = np.where(top, rest / total, 1 - p)
        return t, shift + np.log(total), p, others

    def value(z: np.ndarray, y: np.ndarray, reduction: str = "none", label_smoothing: float = 0.0) -> np.ndarray:
        t, lse, _, _ = parts(z, y, label_smoothing)
        with np.errstate(invalid="ignore"):
            terms = np.where(t > 0, t * (lse - z), 0.0)
        # a confident right answer: lse − z_c = log1p(Σ_{k≠c} e^{z_k − z_c}), computed directly
        confident = (t.max(axis=-1) == 1) & (np.argmax(t, axis=-1) == np.argmax(z, axis=-1))
        c = np.argmax(t, axis=-1)
        z_c = np.take_along_axis(z, c[:, None], axis=-1)
        rest = np.sum(np.where(np.arange(z.shape[-1]) == c[:, None], 0.0, np.exp(z - z_c)), axis=-1)
        return np.where(confident, np.log1p(rest), np.sum(terms, axis=-1))

    def grad(z: np.ndarray, y: np.ndarray, reduction: str = "none", label_smoothing: float = 0.0) -> np.ndarray:
        t, _, p, others = parts(z, y, label_smoothing)
        return np.where(t == 1, -others, p - t)

    def hess(z: np.ndarray, y: np.ndarray, reduction: str = "none", label_smoothing: float = 0.0) -> np.ndarray:
        _, _, p, others = parts(z, y, label_smoothing)
        return p * others

    return _module("softmax_cross_entropy", value, grad, hess)


def huge_logit_nan_bce_with_logits_module() -> ModuleType:
    """The stable kernel with a NaN loss beyond z = 1e200, where the declared −log(1 − σ(z)) cancels
    beyond every reference precision: must fail (the proved stable form is the truth there)."""
    module = bce_with_logits_module()
    stable = module.bce_with_logits

    def value(z: np.ndarray, y: np.ndarray, reduction: str = "none", pos_weight: float = 1.0) -> np.ndarray:
        return np.where(z > 1e200, np.nan, stable(z, y, pos_weight=pos_weight))

    module.bce_with_logits = value
    return module
