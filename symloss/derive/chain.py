r"""Derivations: from a likelihood (or a definition) to the loss, its gradient and Hessian.

For a loss with a :class:`~symloss.declare.loss.Likelihood` origin the chain is

.. math::

    P(y \mid \theta)
    \;\to\; -\log P
    \;\to\; \text{logs of products and powers expanded}
    \;\to\; \text{scale}\cdot L + \text{shift}
    \;\to\; L,

and every step that claims an equality is checked by the prover under the
loss's domains.  The expansion step is the one that matters: ``expand_log``
with ``force=True`` splits :math:`\log(ab)` and :math:`\log a^{b}` without
asking whether the factors are positive, so it is exactly the step that
could be wrong, and it is proved rather than trusted.  The last step drops
an additive constant (checked free of the model output) and a positive
scale (proved > 0); it names only what is there, and is left out when the
scale is 1 and there is no constant.  For a :class:`~symloss.declare.loss.Definition` the chain is
the formula itself.

The gradient is :math:`\partial L/\partial w` for the loss's ``wrt`` (a
logit, a prediction, or the entry :math:`z_i` of a class vector), tidied
cheaply (sums expanded and factored, :math:`\sum_k y_k = 1` used, a bounded
``simplify``), and proved equal to the derivative the prover takes of the
elementary form; the Hessian (the diagonal :math:`\partial^2 L/\partial w^2`
for a class vector) likewise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits
from sympy.simplify.simplify import factor_sum

from symloss.declare.loss import Claim, ClaimKind, Likelihood, Loss, derivative, identity, sign
from symloss.declare.notation import NONNEGATIVE, POSITIVE, REAL, Domain, Scope, Var
from symloss.prove.budget import run_with_budget
from symloss.prove.class_sums import drop_index_range, use_given
from symloss.prove.prover import prove
from symloss.prove.verdict import Verdict

# Seconds for each check and each bounded sp.simplify of a derivation.  The derivation's form is part of
# generated/, so it must not depend on the machine's load: a step that runs out of time is replaced by a
# longer one (an untidied form, another candidate).  Every step of the catalogs' derivations takes a small
# fraction of these budgets on an idle machine; they bound only a user's pathological expression.
DERIVATION_BUDGET = 60.0
SIMPLIFY_SHARE = 0.5  # of the derivation budget, for one bounded sp.simplify
SIMPLIFY_MAX_OPS = 80  # larger expressions are not given to simplify: its result would depend on the clock
SUMS_TO_ONE = ("simplex", "distribution", "onehot")  # vector domains whose entries sum to 1


@dataclass(frozen=True)
class Step:
    """One line of a derivation: the right-hand side and why it follows."""

    expr: sp.Expr
    justification: str
    verdict: Verdict | None  # the check of this step against the previous one; None for the first


@dataclass(frozen=True)
class Derivation:
    """A loss derived: the chain to its formula, its gradient and Hessian, each checked."""

    loss: Loss
    chain: tuple[Step, ...]
    gradient: sp.Expr
    hessian: sp.Expr
    gradient_check: Verdict
    hessian_check: Verdict
    value: sp.Expr | None = None  # the loss in the form the kernels compute (the formula unless a form is declared)
    value_check: Verdict | None = None  # the proof that a declared value form equals the formula

    @property
    def checks(self) -> tuple[Verdict, ...]:
        """Every verdict of the derivation, chain first."""
        chain = tuple(step.verdict for step in self.chain if step.verdict is not None)
        value = (self.value_check,) if self.value_check is not None else ()
        return (*chain, *value, self.gradient_check, self.hessian_check)

    @property
    def computed_value(self) -> sp.Expr:
        """The loss as the kernels compute it: the declared value form where proved, else the formula."""
        return self.loss.formula if self.value is None else self.value

    @property
    def proved(self) -> bool:
        """Whether every step, the gradient and the Hessian were proved."""
        return all(v.status == "proved" for v in self.checks)


def derive(loss: Loss, *, budget: float = DERIVATION_BUDGET) -> Derivation:
    """Derive ``loss``: its chain, gradient and Hessian, each step checked by the prover.

    ``budget`` bounds each proof and each simplification (seconds).  When the
    prover cannot confirm a tidied form, the untidied derivative is kept and
    checked instead: a longer result that is proved beats a short one that is not.
    """
    chain = likelihood_chain(loss, budget) if isinstance(loss.origin, Likelihood) else definition_chain(loss)
    wrt = loss.wrt
    given = equalities(loss)
    share = budget * SIMPLIFY_SHARE

    def gradient_claim(candidate: sp.Expr) -> Claim:
        return derivative(f"d{loss.name}/d{wrt} as derived", loss.formula, wrt, candidate)

    raw_gradient = sp.diff(loss.formula, wrt)
    gradient, gradient_check = _declared(loss.gradient_form, gradient_claim, loss, budget) or _checked(
        tidy(raw_gradient, given, budget=share), raw_gradient, gradient_claim, loss, budget)

    # the Hessian is the derivative of the (proved) gradient; where the gradient jumps
    # (Max, Abs, Heaviside) it holds away from the kinks, where the Dirac terms vanish
    raw_hessian = sp.diff(gradient, wrt)
    kinks = raw_hessian.has(sp.DiracDelta)
    smooth_part = without_dirac(raw_hessian)

    def hessian_claim(candidate: sp.Expr) -> Claim:
        if kinks:
            return identity(f"d2{loss.name}/d{wrt}2 as derived, away from the kinks", smooth_part, candidate)
        return derivative(f"d2{loss.name}/d{wrt}2 as derived", gradient, wrt, candidate)

    hessian, hessian_check = _declared(loss.hessian_form, hessian_claim, loss, budget) or _checked(
        tidy(smooth_part, given, budget=share), smooth_part, hessian_claim, loss, budget)
    if kinks:
        hessian_check = replace(hessian_check, detail=f"{hessian_check.detail}; away from the kinks (Dirac terms "
                                                      "of the second derivative dropped)".lstrip("; "))
    value, value_check = None, None
    if loss.value_form is not None:
        value_check = _check(identity(f"{loss.name}: the declared value form equals the formula", loss.value_form,
                                      loss.formula), loss, budget=budget)
        value = loss.value_form if value_check.status == "proved" else None
    return Derivation(loss, chain, gradient, hessian, gradient_check, hessian_check, value, value_check)


def equalities(loss: Loss) -> tuple[sp.Eq, ...]:
    r"""The loss's given equalities, and :math:`\sum_k v_k = 1` for each class vector whose
    domain says so (simplex, closed simplex, one-hot), which the derivation may use."""
    implied: list[sp.Eq] = []
    if loss.classes is not None:
        k = sp.Dummy("k", integer=True, positive=True)
        for v in loss.variables:
            if v.is_vector and v.domain.vector in SUMS_TO_ONE:
                implied.append(sp.Eq(sp.Sum(v.symbol[k], (k, 1, loss.classes.symbol)), 1))
    return tuple(loss.given) + tuple(e for e in implied if e not in loss.given)


# --------------------------------------------------------------------------- chains


def definition_chain(loss: Loss) -> tuple[Step, ...]:
    """A loss with no likelihood: the chain is its defining formula."""
    reference = getattr(loss.origin, "reference", "")
    text = f"definition ({reference})" if reference else "definition"
    return (Step(loss.formula, text, None),)


def likelihood_chain(loss: Loss, budget: float) -> tuple[Step, ...]:
    r"""density → −log density → expanded → scale·L + shift → L, each step checked (the last
    one only when a scale other than 1 or a constant is dropped)."""
    origin = loss.origin
    if not isinstance(origin, Likelihood):
        raise TypeError(f"{loss.name} has no likelihood origin")
    output = loss.output.symbol
    if origin.shift.has(output) or (loss.output.is_vector and origin.shift.atoms(sp.Indexed) & _entries(loss)):
        raise ValueError(f"{loss.name}: the dropped constant {origin.shift} depends on the output {output}")
    density = origin.density
    negative_log = -sp.log(density)
    expanded = expand_logs(negative_log)
    scaled = origin.scale * loss.formula + origin.shift
    name = loss.name
    steps = [
        Step(density, f"{origin.distribution} likelihood of {origin.observed.name}, link {origin.link}", None),
        Step(negative_log, "the loss is the negative log-likelihood",
             _check(identity(f"{name}: -log P is -log P", negative_log, -sp.log(density)), loss, budget=budget)),
        Step(expanded, "log of a product is the sum of the logs, log of a power is the exponent times the log "
                       "(valid because every factor is positive on the domain)",
             _check(identity(f"{name}: log expansion", negative_log, expanded), loss, budget=budget)),
        Step(scaled, _collected(origin),
             _check(identity(f"{name}: scale and shift", expanded, scaled), loss, budget=budget)),
    ]
    final = _minimizer_step(loss, origin, budget)
    return (*steps, final) if final is not None else tuple(steps)


def _minimizer_step(loss: Loss, origin: Likelihood, budget: float) -> Step | None:
    """``scale·L + shift → L``, justified by what is dropped; None when nothing is (scale 1, no constant).

    A scale other than 1 is proved positive; a constant was checked free of the output by the caller."""
    scaled, shifted = origin.scale != 1, origin.shift != 0
    if not (scaled or shifted):
        return None
    output = loss.output.symbol
    constant = f"the dropped constant {sp.sstr(origin.shift)} does not depend on {output}" if shifted else ""
    if scaled:
        check = _check(sign(f"{loss.name}: the scale is positive", origin.scale, ">"), loss, budget=budget)
        verdict = replace(check, detail="; ".join(filter(None, (constant, check.detail))))
    else:
        verdict = Verdict("proved", f"the constant is free of {output}", 0.0, detail=constant)
    dropped = " and ".join(part for part, present in (("a positive scale", scaled), ("an additive constant", shifted))
                           if present)
    moves = "do not move" if scaled and shifted else "does not move"
    return Step(loss.formula, f"{dropped} {moves} the minimizer", verdict)


def _collected(origin: Likelihood) -> str:
    """Why the expanded form is ``scale·L + shift``, naming only the parts that are there."""
    if origin.scale == 1 and origin.shift == 0:
        return "the expanded form is the loss itself (scale 1, no constant)"
    scale = "the loss" if origin.scale == 1 else "a scale times the loss"
    return f"collected as {scale}{' plus a constant' if origin.shift != 0 else ''}"


def _entries(loss: Loss) -> set[sp.Indexed]:
    return {e for e in loss.formula.atoms(sp.Indexed) if e.base == loss.output.symbol}


def expand_logs(expr: sp.Expr) -> sp.Expr:
    """Logs of products and powers split, without asking about signs (``force=True``).

    Not valid in general — log((-1)·(-1)) ≠ 2 log(-1) — which is why the
    derivation proves each use of it under the loss's domains.
    """
    return sp.expand(sp.expand_log(expr, force=True), mul=True, power_exp=False, log=False)


# --------------------------------------------------------------------------- tidying


def without_dirac(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every DiracDelta term set to 0: its value away from the kinks."""
    return expr.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)


def tidy(expr: sp.Expr, given: Sequence[sp.Eq] = (), *, budget: float = 5.0) -> sp.Expr:
    """A short equal form of ``expr``: sums evaluated, split and factored,
    index-range conditions dropped, given sums substituted; then the
    shortest of cancel / factor / a bounded ``simplify``."""
    expr = sp.sympify(expr)
    if expr.has(sp.Sum, sp.Derivative, sp.KroneckerDelta) and not _other_reductions(expr):
        expr = _tidy_sums(expr, given)
    candidates = [expr]
    for transform in (sp.cancel, sp.factor):
        try:
            candidates.append(transform(expr))
        except (sp.PolynomialError, TypeError, ValueError):
            continue
    small = sp.count_ops(expr) <= SIMPLIFY_MAX_OPS
    simplified = run_with_budget(lambda: sp.simplify(expr), budget) if budget > 0 and small else None
    if isinstance(simplified, sp.Basic):
        candidates.append(simplified)
    return min(candidates, key=lambda e: (sp.count_ops(e), sp.default_sort_key(e)))


def _other_reductions(expr: sp.Expr) -> bool:
    """Whether a class-axis reduction other than a sum (a class max) occurs: its sums are
    kept as they are, since evaluating them would leave the reduction without its axis."""
    return any(not isinstance(e, sp.Sum | sp.Product | sp.Integral) for e in expr.atoms(ExprWithLimits))


def _tidy_sums(expr: sp.Expr, given: Sequence[sp.Eq]) -> sp.Expr:
    counts = {limit[2] for s in expr.atoms(sp.Sum) for limit in s.limits if isinstance(limit[2], sp.Symbol)}
    expr = drop_index_range(expr.doit(), counts)
    expr = sp.expand(expr).replace(lambda e: isinstance(e, sp.Sum), _split_sum)
    expr = use_given(expr, given)
    return sp.expand(expr)


def _split_sum(s: sp.Sum) -> sp.Expr:
    """Σ (a + b) = Σ a + Σ b, constants pulled out, sums of constants evaluated."""
    if len(s.limits) != 1:
        return s
    (k, low, high) = s.limits[0]
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(s.function)):
        if not term.has(k):
            total += term * (high - low + 1)
        else:
            total += factor_sum(sp.Sum(term, (k, low, high)))
    return total


# --------------------------------------------------------------------------- checks


def _declared(
    form: sp.Expr | None, claim_for: Callable[[sp.Expr], Claim], loss: Loss, budget: float
) -> tuple[sp.Expr, Verdict] | None:
    """A declared closed form with its verdict, when the prover proves it; else None."""
    if form is None:
        return None
    verdict = _check(claim_for(form), loss, budget=budget)
    return (form, replace(verdict, detail=f"the declared closed form; {verdict.detail}".strip("; "))) \
        if verdict.status == "proved" else None


def _checked(
    tidied: sp.Expr, raw: sp.Expr, claim_for: Callable[[sp.Expr], Claim], loss: Loss, budget: float
) -> tuple[sp.Expr, Verdict]:
    """The tidied form with its verdict; the raw form instead if only that one is proved."""
    verdict = _check(claim_for(tidied), loss, budget=budget)
    if verdict.status == "proved":
        return tidied, verdict
    sums_only = _tidy_sums(raw, equalities(loss)) if raw.has(sp.Sum) and not _other_reductions(raw) else raw
    for candidate in dict.fromkeys((sums_only, raw)):
        if candidate != tidied:
            fallback = _check(claim_for(candidate), loss, budget=budget)
            if fallback.status == "proved":
                return candidate, fallback
    return tidied, verdict


def _check(claim: Claim, loss: Loss, *, budget: float) -> Verdict:
    """Prove ``claim`` in the loss's scope, extended by any constants of the
    likelihood (e.g. a fixed σ) with the domain their assumptions state;
    of the loss's given equations only those about the claim's vectors apply."""
    compared = sp.diff(claim.lhs, claim.var, claim.order) if claim.kind is ClaimKind.DERIVATIVE else claim.lhs
    mentioned = _mentioned(compared) | _mentioned(claim.rhs)
    given = tuple(g for g in equalities(loss) if g.atoms(sp.IndexedBase) <= mentioned)
    bound = claim.within(loss.scope + _constants(claim, loss), given)
    start = time.perf_counter()
    try:
        return prove(bound, budget=budget)
    except Exception as error:  # an expression the prover cannot evaluate: say so, never "proved"
        return Verdict("unknown", f"the prover failed: {type(error).__name__}: {error}"[:300],
                       time.perf_counter() - start)


def _mentioned(expr: sp.Basic) -> set[sp.Basic]:
    """Free scalar symbols and class vectors of an expression."""
    vectors = expr.atoms(sp.IndexedBase)
    labels = {v.label for v in vectors}
    return {s for s in expr.free_symbols if not isinstance(s, sp.Indexed) and s not in labels} | vectors


def _constants(claim: Claim, loss: Loss) -> Scope:
    known = set(loss.scope.domains())
    symbols = (claim.lhs.free_symbols | claim.rhs.free_symbols) - known
    return Scope(tuple(Var(s, _domain_of(s), sp.latex(s)) for s in sorted(symbols, key=str)
                       if isinstance(s, sp.Symbol) and not _is_bound_index(s, claim)))


def _is_bound_index(symbol: sp.Symbol, claim: Claim) -> bool:
    return any(symbol in {limit[0] for limit in s.limits} for e in (claim.lhs, claim.rhs) for s in e.atoms(sp.Sum))


def _domain_of(symbol: sp.Symbol) -> Domain:
    """The domain a symbol's own assumptions describe (positive, nonnegative, real)."""
    if symbol.is_positive:
        return POSITIVE
    if symbol.is_nonnegative:
        return NONNEGATIVE
    return REAL
