"""Tests for symloss.certify.certificate: certificates of hand-made kernels (stable ones pass, naive and
flushing ones fail), their summaries and JSON, the values compared against the proved stable form or
not compared, a stable form refused when wrong, and every code path of a generated kernel."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from types import ModuleType

import kernels_for_certify as kernels
import numpy as np
import pytest
import sympy as sp
from checkout_kernels import built, proved_rules
from kernels_for_certify import derivation

from symloss.certify.certificate import KernelCertificate, certify, point_text
from symloss.certify.reference import ReferenceEvaluator
from symloss.certify.stress_grid import DENSE_POINTS, stress_points
from symloss.stabilize.engine import ProvedRule


@cache
def certificate(name: str, builder: str) -> KernelCertificate:
    return certify(derivation(name), getattr(kernels, builder)())


@cache
def grid_certificate(name: str, builder: str) -> KernelCertificate:
    """The certificate on the deterministic stress grid alone (no random points): its counts are the grid's."""
    return certify(derivation(name), getattr(kernels, builder)(), dense=0)


def by_function(cert: KernelCertificate) -> dict[str, object]:
    return {f.function: f for f in cert.functions}


def test_a_stable_kernel_passes() -> None:
    cert = certificate("mse", "mse_module")
    assert cert.passed, [f.to_json() for f in cert.functions if not f.passed]
    assert all(f.nonfinite == 0 and f.points > 0.8 * cert.points for f in cert.functions)
    assert "no inf/NaN where the truth is finite" in cert.summary()


def test_a_stable_logistic_kernel_is_found_over_budget_only_where_a_huge_weight_meets_an_underflow() -> None:
    """The hand-made bce_with_logits kernel computes w·σ(z)σ(−z) as written: σ(−|z|) underflows to 0 beyond
    |z| ≈ 745 while w·σ(z)σ(−z) is a normal number for w up to 1.8e308 (so does the generated kernel,
    derivations/over_budget.txt); its value and gradient pass."""
    functions = by_function(certificate("bce_with_logits", "bce_with_logits_module"))
    assert functions["bce_with_logits"].passed and functions["bce_with_logits_grad"].passed
    hess = functions["bce_with_logits_hess"]
    z, _, weight = hess.worst_point
    assert not hess.passed and hess.worst_value == 0.0 and hess.worst_truth > 0.0
    assert abs(z) > 745 and hess.worst_truth >= np.finfo(np.float64).tiny  # σ(−|z|) underflows, w·σσ is normal
    assert weight > 1e100
    assert all(f.nonfinite == 0 for f in functions.values())


def test_softmax_cross_entropy_gradient_is_found_over_budget_by_the_random_points() -> None:
    """p − y cancels where the softmax is close to the label: the stress grid never went there, the
    random points over the whole domain do."""
    cert = certificate("softmax_cross_entropy", "softmax_cross_entropy_module")
    functions = by_function(cert)
    assert by_function(grid_certificate("softmax_cross_entropy", "softmax_cross_entropy_module"))[
        "softmax_cross_entropy_grad"].passed
    assert not functions["softmax_cross_entropy_grad"].passed
    assert functions["softmax_cross_entropy_grad"].max_relative_error > 1e-13
    assert all(f.nonfinite == 0 for f in cert.functions)


def test_naive_bce_fails_at_large_logits() -> None:
    cert = certificate("bce_with_logits", "naive_bce_with_logits_module")
    value = by_function(cert)["bce_with_logits"]
    assert not cert.passed and not value.passed
    assert value.max_ulp > 1e6 or value.nonfinite > 0
    assert abs(value.worst_point[0]) >= 20
    assert by_function(cert)["bce_with_logits_grad"].passed  # only the value is naive


def test_flushing_tiny_losses_to_zero_fails() -> None:
    cert = certificate("bce_with_logits", "flushing_bce_with_logits_module")
    value = by_function(cert)["bce_with_logits"]
    assert not value.passed
    assert value.max_relative_error >= 1.0


def test_certificate_is_deterministic_and_json() -> None:
    first = certificate("mse", "mse_module")
    again = certify(derivation("mse"), kernels.mse_module())
    assert first == again
    data = json.loads(json.dumps(first.to_json()))
    assert data["passed"] is True and data["points"] == first.points
    assert {f["function"] for f in data["functions"]} == {
        "mse", "mse_grad", "mse_hess", "mse_value_and_grad[value]", "mse_value_and_grad[grad]"}
    assert first.summary().startswith("max ") and f"over {first.points} points" in first.summary()
    assert data["sampling"] == {"seed": 0, "grid": first.points - DENSE_POINTS, "random": DENSE_POINTS,
                                "ranges": {"yhat": "[-1.8e+308, 1.8e+308]", "y": "[-1.8e+308, 1.8e+308]"}}


def test_the_summary_states_the_sampling_and_the_worst_point() -> None:
    """The docstring's line says how many points, over which ranges, with which seed, and where the
    function furthest over its budget is worst, argument by argument."""
    cert = certificate("bce_with_logits", "naive_bce_with_logits_module")
    summary = cert.summary()
    grid = cert.points - DENSE_POINTS
    assert f"sampled: {cert.points} points ({grid} on the stress grid, {DENSE_POINTS} random by binade" in summary
    assert "seed 0) over z ∈ [-1.8e+308, 1.8e+308], y ∈ {0, 1}, pos_weight ∈ (0, 1.8e+308];" in summary
    worst = cert.worst()
    assert worst is not None and not worst.passed and worst.function == "bce_with_logits"
    assert worst.range_errors > 0  # a missed zero/subnormal is the worst, whatever the ulps elsewhere
    assert ("; worst: bce_with_logits, an inf/NaN or a missed zero/subnormal/overflow "
            f"at z={worst.worst_point[0]!r}, y=") in summary
    within = certificate("mse", "mse_module")
    best = within.worst()
    assert best is not None and f"; worst: {best.function}, {best.max_ulp:.2g} ulp at yhat=" in within.summary()


def test_the_worst_point_holds_the_truth_and_the_kernels_value_there() -> None:
    """The certificate's worst truth is the reference's rounded truth at its worst point and its worst value
    what the kernel returns there; both are in the summary (the docstring) and in the JSON, inf as a string."""
    cert = certificate("bce_with_logits", "naive_bce_with_logits_module")
    value = by_function(cert)["bce_with_logits"]
    points = stress_points(derivation("bce_with_logits").loss)
    truth = ReferenceEvaluator(derivation("bce_with_logits")).truths("value", points).values[
        points.index(value.worst_point)]
    z, y, pos_weight = value.worst_point
    computed = kernels.naive_bce_with_logits_module().bce_with_logits(
        np.array([z]), np.array([y]), reduction="none", pos_weight=pos_weight)
    assert value.worst_entry is None
    assert value.worst_truth == truth.rounded[0] and value.worst_value == float(computed[0])
    assert value.worst_value != value.worst_truth  # the naive kernel is wrong there
    assert (f" at {point_text(cert.sampling.names, value.worst_point)}: truth {value.worst_truth!r}, "
            f"kernel {value.worst_value!r}") in cert.summary()
    assert json.loads(json.dumps(value.to_json()))["worst_value"] == value.worst_value
    overflowed = replace(value, worst_value=float("inf")).to_json()
    assert overflowed["worst_value"] == "inf" and json.loads(json.dumps(overflowed))["worst_truth"] == value.worst_truth


def test_a_class_vectors_worst_entry_is_the_one_furthest_off() -> None:
    """Normwise: the worst entry of the worst point is the one whose error makes the relative error."""
    cert = certificate("softmax_cross_entropy", "softmax_cross_entropy_module")
    grad = by_function(cert)["softmax_cross_entropy_grad"]
    z, y, smoothing = grad.worst_point
    computed = kernels.softmax_cross_entropy_module().softmax_cross_entropy_grad(
        np.array([z]), np.array([y]), reduction="none", label_smoothing=smoothing)[0]
    truth = ReferenceEvaluator(derivation("softmax_cross_entropy")).truths("grad", [grad.worst_point]).values[0]
    assert grad.worst_entry is not None and grad.worst_value == float(computed[grad.worst_entry])
    assert grad.worst_truth == truth.rounded[grad.worst_entry]
    relative = abs(grad.worst_value - grad.worst_truth) / max(abs(t) for t in truth.rounded)
    assert relative == pytest.approx(grad.max_relative_error, rel=1e-3)
    assert f": entry {grad.worst_entry} of {len(z)}: truth {grad.worst_truth!r}" in grad.worst_text(
        cert.sampling.names)


def test_a_long_class_vector_is_shown_by_its_ends_and_its_length() -> None:
    long = tuple(float(k) for k in range(1000))
    assert point_text(("z", "y"), (long, (0.5, 0.5))) == "z=(0.0, 1.0, 2.0, …, 999.0; 1000 entries), y=(0.5, 0.5)"


def test_values_the_reference_could_not_resolve_are_counted_in_the_summary() -> None:
    cert = certificate("mse", "mse_module")
    assert "not compared" not in cert.summary()  # every mse value resolves
    partial = replace(cert, functions=(replace(cert.functions[0], unresolved=3), *cert.functions[1:]))
    assert "; 3 function values not compared (the reference could not resolve them)" in partial.summary()
    assert "3 function values not compared" in partial.functions[0].summary()


def test_certificate_counts_values_compared_against_the_stable_form() -> None:
    cert = grid_certificate("bce_with_logits", "bce_with_logits_module")
    value = by_function(cert)["bce_with_logits"]
    assert (value.stable, value.unresolved, value.stable_refusal) == (6, 0, "")
    assert by_function(cert)["bce_with_logits_grad"].stable == 0  # the declared gradient resolves everywhere
    assert "12 function values compared against the proved stable form" in cert.summary()
    assert "not compared" not in cert.summary()
    assert value.to_json()["stable"] == 6 and value.to_json()["stable_refusal"] == ""


def test_a_kernel_wrong_only_where_the_declared_form_cannot_be_resolved_fails() -> None:
    cert = grid_certificate("bce_with_logits", "huge_logit_nan_bce_with_logits_module")
    value = by_function(cert)["bce_with_logits"]
    assert not value.passed and value.nonfinite == 6
    assert value.worst_point[0] == 1e300


def _off_by_2_to_the_minus_40(proved: ProvedRule) -> ProvedRule:
    """The rule with its verdicts kept but a rewrite that is wrong by a relative 2^-40."""

    def rewrite(expr: sp.Expr) -> sp.Expr:
        rewritten = proved.rule.rewrite(expr)
        return rewritten if rewritten == expr else rewritten * (1 + sp.Rational(1, 2**40))

    return replace(proved, rule=replace(proved.rule, rewrite=rewrite))


def test_a_stable_form_that_disagrees_with_the_declared_one_is_refused() -> None:
    rules = tuple(_off_by_2_to_the_minus_40(r) if "softplus" in r.rule.name else r for r in proved_rules())
    cert = certify(derivation("bce_with_logits"), kernels.bce_with_logits_module(), rules=rules, dense=0)
    value = by_function(cert)["bce_with_logits"]
    assert value.stable_refusal.startswith("it disagrees with the declared form at")
    assert (value.stable, value.unresolved) == (0, 6)  # still counted as not compared
    assert "refused as a reference for 2 function(s)" in cert.summary()
    assert "12 function values not compared" in cert.summary()


# --------------------------------------------------------------------------- every code path of a kernel


def wrapped(module: ModuleType, wrong: Callable[[tuple, dict], bool]) -> ModuleType:
    """``module`` with every function's result doubled where ``wrong(args, kwargs)`` holds."""
    fake = ModuleType(f"{module.__name__}_wrapped")

    def spoiled(function: Callable) -> Callable:
        def call(*args: object, **kwargs: object) -> object:
            result = function(*args, **kwargs)
            if not wrong(args, kwargs):
                return result
            return tuple(2.0 * r for r in result) if isinstance(result, tuple) else 2.0 * result
        return call

    for name in module.__all__:
        setattr(fake, name, spoiled(getattr(module, name)))
    return fake


def test_integer_labels_are_certified_beside_one_hot_rows() -> None:
    """A target that takes class indices or rows is certified in both forms (the kernel has programs
    of its own for indices), on the points whose target is one-hot; a kernel wrong only for indices fails."""
    derivation_, module = built("softmax_cross_entropy")
    functions = by_function(certify(derivation_, module))
    indexed = functions["softmax_cross_entropy (integer labels)"]
    assert indexed.passed and indexed.points >= 60
    assert functions["softmax_cross_entropy"].points > indexed.points  # soft labels are rows only
    spoiled = certify(derivation_, wrapped(module, lambda args, _: np.asarray(args[1]).dtype == np.int64))
    newly_failed = {f.function for f in spoiled.functions if not f.passed} - {
        name for name, f in functions.items() if not f.passed}
    assert "softmax_cross_entropy (integer labels)" in newly_failed
    assert all(name.endswith("(integer labels)") for name in newly_failed)  # the rows form is as before


def test_an_option_given_as_none_is_certified_at_the_value_it_declares() -> None:
    """alpha=None (no class balancing) is on the grid and among the random points, its truth the formulas
    at alpha = y; a kernel wrong only there fails.  (On the grid alone: the random points find the
    generated kernel over budget at huge gamma, as derivations/over_budget.txt says.)"""
    derivation_, module = built("focal_with_logits")
    assert any(p[-1] is None for p in stress_points(derivation_.loss, dense=0))
    assert any(p[-1] is None for p in stress_points(derivation_.loss)[len(stress_points(derivation_.loss, dense=0)):])
    assert certify(derivation_, module, dense=0).passed
    spoiled = certify(derivation_, wrapped(module, lambda _, kwargs: kwargs.get("alpha", 0.25) is None), dense=0)
    assert not spoiled.passed
