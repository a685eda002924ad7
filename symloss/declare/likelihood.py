r"""Distributions and links, as SymPy expressions.

A loss with a likelihood behind it is declared by its density: the pmf or
pdf of the observed label given the model's parameter, with the link that
maps the model output to that parameter already substituted.  This module
builds those densities and links; it knows nothing of any particular loss.

Densities (the observed value first, then the parameters):

* :func:`bernoulli` — :math:`P(y \mid p) = p^{y}(1-p)^{1-y}`, :math:`y \in \{0, 1\}`
* :func:`categorical` — :math:`P(y \mid p) = \prod_{k=1}^{K} p_k^{y_k}` for a one-hot (or soft) y
* :func:`gaussian` — :math:`\mathcal N(y; \mu, s) = e^{-(y-\mu)^2/(2s)}/\sqrt{2\pi s}`, variance s
* :func:`laplace` — :math:`e^{-|y-\mu|/b}/(2b)`, scale b
* :func:`poisson` — :math:`\lambda^{y} e^{-\lambda}/y!`
* :func:`exponential_family` — :math:`h(y)\exp(\eta\,T(y) - A(\eta))`

Links: :func:`softmax` (entry k of a class vector), :func:`logsumexp`;
the logistic link is :class:`symloss.declare.functions.sigmoid`.

Every function returns a plain expression, so the densities compose
(``bernoulli(y, sigmoid(z))``) and the prover sees ordinary SymPy.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits

from symloss.declare.notation import index


def bernoulli(y: sp.Expr, p: sp.Expr) -> sp.Expr:
    r"""Bernoulli pmf :math:`p^{y}(1-p)^{1-y}` of a label :math:`y \in \{0, 1\}`.

    >>> y, p = sp.symbols("y p")
    >>> bernoulli(y, p)
    p**y*(1 - p)**(1 - y)
    """
    return p**y * (1 - p) ** (1 - y)


def categorical(y: sp.IndexedBase | sp.Expr, p: sp.IndexedBase | sp.Expr, k: sp.Symbol, classes: sp.Expr) -> sp.Expr:
    r"""Categorical pmf :math:`\prod_{k=1}^{K} p_k^{y_k}` of a one-hot label y.

    ``y`` and ``p`` are each an ``IndexedBase`` (entries ``y[k]``) or an
    expression in the index ``k`` (a label-smoothed target, :func:`softmax`
    of a logit vector).  For a soft label the same product is the
    likelihood with fractional counts.
    """
    count = y[k] if isinstance(y, sp.IndexedBase) else y
    entry = p[k] if isinstance(p, sp.IndexedBase) else p
    return sp.Product(entry**count, (k, 1, classes))


def gaussian(y: sp.Expr, mean: sp.Expr, variance: sp.Expr) -> sp.Expr:
    r"""Normal pdf :math:`\exp(-(y-\mu)^2/(2s))/\sqrt{2\pi s}` with variance :math:`s > 0`."""
    return sp.exp(-((y - mean) ** 2) / (2 * variance)) / sp.sqrt(2 * sp.pi * variance)


def laplace(y: sp.Expr, location: sp.Expr, scale: sp.Expr) -> sp.Expr:
    r"""Laplace pdf :math:`\exp(-|y-\mu|/b)/(2b)` with scale :math:`b > 0`."""
    return sp.exp(-sp.Abs(y - location) / scale) / (2 * scale)


def poisson(y: sp.Expr, rate: sp.Expr) -> sp.Expr:
    r"""Poisson pmf :math:`\lambda^{y}e^{-\lambda}/y!` of a count :math:`y \in \{0, 1, 2, \dots\}`."""
    return rate**y * sp.exp(-rate) / sp.factorial(y)


def exponential_family(statistic: sp.Expr, natural: sp.Expr, log_partition: sp.Expr, base: sp.Expr) -> sp.Expr:
    r"""Density :math:`h(y)\exp(\eta\,T(y) - A(\eta))` of a one-parameter exponential family.

    ``statistic`` is :math:`T(y)`, ``natural`` the natural parameter
    :math:`\eta`, ``log_partition`` :math:`A(\eta)` and ``base`` :math:`h(y)`.
    """
    return base * sp.exp(natural * statistic - log_partition)


def logsumexp(z: sp.IndexedBase, classes: sp.Expr, j: sp.Symbol | None = None) -> sp.Expr:
    r""":math:`\log\sum_{j=1}^{K} e^{z_j}`, the log-partition of the categorical family."""
    j = j if j is not None else index("j").symbol
    return sp.log(sp.Sum(sp.exp(z[j]), (j, 1, classes)))


def softmax(z: sp.IndexedBase, k: sp.Expr, classes: sp.Expr, j: sp.Symbol | None = None) -> sp.Expr:
    r"""Entry k of :math:`\operatorname{softmax}(z)`: :math:`e^{z_k}/\sum_{j=1}^{K} e^{z_j}`.

    ``j`` is the summation index of the normalizer (``j`` by default); it
    must differ from ``k``.
    """
    j = j if j is not None else index("j").symbol
    if j == k:
        raise ValueError("the summation index of the softmax must differ from its entry index")
    return sp.exp(z[k]) / sp.Sum(sp.exp(z[j]), (j, 1, classes))


def one_hot(k: sp.Symbol, label: sp.Expr) -> sp.Expr:
    r"""Entry k of the one-hot vector of an integer label c: :math:`\delta_{kc}`."""
    return sp.KroneckerDelta(k, label)


def smoothed(y: sp.IndexedBase, k: sp.Symbol, classes: sp.Expr, epsilon: sp.Expr) -> sp.Expr:
    r"""Entry k of the label-smoothed target :math:`(1-\varepsilon)\,y_k + \varepsilon/K`."""
    return (1 - epsilon) * y[k] + epsilon / classes


class ClassMax(ExprWithLimits):
    r"""The largest entry over the class axis: :math:`\max_{k=1}^{K} f(k)`.

    Written like a sum, ``ClassMax(f, (k, 1, K))``; for a number K,
    ``doit`` gives ``Max(f(1), …, f(K))``.  It is the reduction a margin
    loss over classes needs (Crammer–Singer), where a Sum would not do.
    """

    def doit(self, **hints: object) -> sp.Expr:
        function = self.function.doit(**hints) if hints.get("deep", True) else self.function
        k, low, high = self.limits[0]
        if (high - low).is_Integer:
            return sp.Max(*(function.xreplace({k: low + n}) for n in range(int(high - low) + 1)))
        return self.func(function, *self.limits)

    def _eval_derivative(self, symbol: sp.Basic) -> sp.Expr:
        r""":math:`\partial \max_k f_k = \sum_k \partial f_k \,[f_k = \max f]`, the indicator as
        ``Heaviside(f_k - max f, 1)`` (1 at the maximum, 0 below it; ties are measure zero)."""
        k, low, high = self.limits[0]
        slope = sp.diff(self.function, symbol)
        return sp.Sum(slope * sp.Heaviside(self.function - self, 1), (k, low, high))

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        k, low, high = self.limits[0]
        return (rf"\max_{{{printer._print(k)}={printer._print(low)}}}^{{{printer._print(high)}}} "
                rf"\left({printer._print(self.function)}\right)")


def entrywise(expr: sp.Expr, base: sp.IndexedBase, entry: Callable[[sp.Expr], sp.Expr]) -> sp.Expr:
    r"""``expr`` with every entry ``base[k]`` replaced by ``entry(k)``, bound indices included.

    ``subs`` leaves entries under a summation index alone; this does not:
    ``entrywise(Σ_k y_k log p_k, y, lambda k: δ_{kc})`` is :math:`\sum_k \delta_{kc} \log p_k`,
    and ``entrywise(e, z, lambda k: z[k] + m)`` shifts every logit by m.
    """
    return expr.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == base,
        lambda e: entry(*e.indices),
    )


def sum_out_deltas(expr: sp.Expr) -> sp.Expr:
    r""":math:`\sum_k (f(k)\,\delta_{ik} + g(k)) = f(i) + \sum_k g(k)`: every Kronecker delta of the
    summation index summed out (the summand expanded first so that each delta is a factor of a term),
    the other index lying in the summation range as every class index does."""

    def collapse_term(term: sp.Expr, limits: tuple) -> sp.Expr:
        k = limits[0]
        for factor in sp.Mul.make_args(term):
            if isinstance(factor, sp.KroneckerDelta) and k in factor.args:
                other = factor.args[0] if factor.args[1] == k else factor.args[1]
                return (term / factor).xreplace({k: other})
        return sp.Sum(term, limits)

    def collapse(total: sp.Sum) -> sp.Expr:
        (limits,) = total.limits
        if not any(limits[0] in delta.args for delta in total.function.atoms(sp.KroneckerDelta)):
            return total
        return sp.Add(*(collapse_term(t, limits) for t in sp.Add.make_args(sp.expand(total.function))))

    return expr.replace(lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1, collapse)
