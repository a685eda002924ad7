r"""A sum :math:`a\,p + b\,q` of the softmax :math:`p = \operatorname{softmax}(e)_k` and its complement
:math:`q = 1 - p` (summed from the other classes), whose co-factors a and b hold terms that cancel in the
algebra (:math:`a = 1 - \epsilon`, :math:`b = 1 + \epsilon`): by the partition of unity :math:`p + q = 1`,

.. math:: a\,p + b\,q = \frac{a + b}{2} + \frac{b - a}{2}\,(q - p),

and :math:`(a + b)/2` is formed in the algebra (1 for the example), not in floats.  At
:math:`\epsilon = 1.8\cdot 10^{308}`, :math:`p = q = 1/2` the float sum is :math:`-\epsilon/2 + \epsilon/2 = 0`
where the truth is 1; the regrouped form gives :math:`1 + \epsilon\cdot 0 = 1`.

The regrouped form is not better everywhere: at :math:`\epsilon = -1` it is :math:`1 - (q - p)`, which cancels
where :math:`p \to 0` (the truth :math:`2p` is :math:`10^{-261}`, the form 0), while :math:`a\,p + b\,q = 2p + 0`
is exact.  Both terms of :math:`a\,p + b\,q` have the signs of a and b (:math:`p, q \ge 0`), so where
:math:`a b \ge 0` the plain sum adds two terms of one sign and loses nothing to cancellation; only where
:math:`a b < 0` can it cancel, and there :math:`|b - a| = |a| + |b|`, the regrouped form's error is of the
same order as the plain one's except that it keeps :math:`(a + b)/2` exact.  The rule therefore makes the regime

* ``a*b < 0``: :math:`(a + b)/2 + ((b - a)/2)(q - p)`, with
  :math:`q - p = (K - 2)/K - 2(p - 1/K)` and :math:`p - 1/K` from
  :class:`~symloss.stabilize.class_axis_primitives.SoftmaxMinusUniform`: at K = 2 the first term is 0 and
  :math:`q - p` keeps its digits where the logits differ by :math:`10^{-281}` (p and q both round to 1/2,
  their float difference is 0);
* otherwise: :math:`a\,p + b\,q`,

a Piecewise whose condition the kernel's docstring and the report list under this rule.

* ``softmax_partition_of_unity``: that rewrite, for every sum with such terms where :math:`a + b` has fewer
  symbols than a and b together (a term of a cancels one of b).

It names no loss (Poly-1's Hessian, :math:`(1 - \epsilon y_i)(1 - p_i) + (1 + \epsilon y_i) p_i`, is an
example)."""

from __future__ import annotations

import sympy as sp

from symloss.declare.notation import REAL, Scope, var
from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import VECTORS, K, a, b, claim, j, k, t, z
from symloss.stabilize.primitives import ClassAxisPrimitive, Softmax, SoftmaxComplement, SoftmaxMinusUniform

Parts = tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr, list[sp.Expr]]


def _entry_terms(add: sp.Add, primitive: sp.Expr) -> tuple[sp.Expr, list[sp.Expr]]:
    """The sum of the co-factors of ``primitive`` (a factor of power 1) over the terms of ``add`` that have it
    (and no other class-axis primitive), and those terms."""
    terms = [term for term in add.args if primitive in sp.Mul.make_args(term)
             and all(not isinstance(f, ClassAxisPrimitive) or f == primitive for f in sp.Mul.make_args(term))]
    return sp.Add(*(term / primitive for term in terms)), terms


def _partition_parts(add: sp.Basic) -> Parts | None:
    r"""For a sum with terms :math:`a\,p + b\,q` (:math:`p = \operatorname{softmax}(e)_k`, q its complement,
    a and b the summed co-factors of each): (p, q, a, b, those terms) where :math:`a + b` has fewer symbols than
    a and b together and :math:`a b < 0` is not decided false, else None."""
    if not isinstance(add, sp.Add):
        return None
    for p in sorted(add.atoms(Softmax), key=sp.default_sort_key):
        q = SoftmaxComplement(*p.args)
        (coefficient_p, with_p), (coefficient_q, with_q) = _entry_terms(add, p), _entry_terms(add, q)
        if not with_p or not with_q or _opposite(coefficient_p, coefficient_q) == sp.false:
            continue
        symbols = coefficient_p.free_symbols | coefficient_q.free_symbols
        if len(sp.expand(coefficient_p + coefficient_q).free_symbols) < len(symbols):
            return p, q, coefficient_p, coefficient_q, with_p + with_q
    return None


def _opposite(coefficient_p: sp.Expr, coefficient_q: sp.Expr) -> sp.Basic:
    """The regime's condition: the co-factors have opposite signs, the only case where the plain sum cancels."""
    return sp.StrictLessThan(coefficient_p * coefficient_q, 0)


def _regime(add: sp.Add) -> sp.Expr:
    r"""``add`` with its terms a p + b q as the Piecewise of the module docstring (``add`` as it is when it has
    none)."""
    parts = _partition_parts(add)
    if parts is None:
        return add
    p, _, coefficient_p, coefficient_q, used = parts
    rest = sp.Add(*(term for term in add.args if term not in used))
    plain = sp.Add(*used)
    regrouped = (sp.expand(coefficient_p + coefficient_q) / 2
                 + (coefficient_q - coefficient_p) / 2 * _complement_minus_softmax(p))
    return rest + sp.Piecewise((regrouped, _opposite(coefficient_p, coefficient_q)), (plain, True))


def _complement_minus_softmax(p: Softmax) -> sp.Expr:
    r""":math:`q - p = 1 - 2p = (K - 2)/K - 2(p - 1/K)`, the difference to the uniform share from its primitive
    (see the module docstring)."""
    return (p.count - 2) / p.count - 2 * SoftmaxMinusUniform(*p.args)


def _is_regime(piece: sp.Basic) -> bool:
    """Whether ``piece`` is a Piecewise this rule made: its default branch a p + b q, its condition a b < 0."""
    if not isinstance(piece, sp.Piecewise) or len(piece.args) != 2:
        return False
    parts = _partition_parts(piece.args[-1].expr)
    return parts is not None and piece.args[0].cond == _opposite(parts[2], parts[3])


def _partition_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""Every sum :math:`a\,p + b\,q` (see :func:`_partition_parts`) outside the Piecewise this rule made as
    that Piecewise."""
    made = {piece: sp.Dummy() for piece in expr.atoms(sp.Piecewise) if _is_regime(piece)}
    rewritten = expr.xreplace(made).replace(lambda e: _partition_parts(e) is not None, _regime)
    return rewritten.xreplace({dummy: piece for piece, dummy in made.items()})


_normalizer = sp.Sum(sp.exp(z[j]), (j, 1, K))
_p_k = sp.exp(z[k]) / _normalizer
COFACTORS = VECTORS + Scope((var("a", REAL), var("b", REAL)))

SOFTMAX_PARTITION: tuple[Rule, ...] = (
    Rule("softmax_partition_of_unity",
         (claim("softmax_partition_of_unity: a p + b (1 - p) = (a + b)/2 + ((b - a)/2)((1 - p) - p), "
                "p = softmax(z)k (the regime a b < 0 chooses between two equal forms)",
                a * _p_k + b * (1 - _p_k), (a + b) / 2 + (b - a) / 2 * ((1 - _p_k) - _p_k), COFACTORS),
          claim("softmax_partition_of_unity, the difference: (1 - p) - p = (K - 2)/K - 2 (p - 1/K)",
                (1 - _p_k) - _p_k, (K - 2) / K - 2 * (_p_k - 1 / K), COFACTORS)),
         _partition_rewrite,
         (1 - t) * Softmax(z[k], k, K) + (1 + t) * SoftmaxComplement(z[k], k, K)),
)
