r"""Formulas specialized to integer class labels: the one-hot target read as its class index.

A class-vector loss declares its target as a vector :math:`y_1, \dots, y_K`; given as an
integer class c, the target is the one-hot vector :math:`y_j = \delta_{jc}`.  Substituting it
exactly, and summing the deltas out of the class sums (:func:`~symloss.declare.likelihood.sum_out_deltas`),
turns every :math:`\sum_j y_j f_j` into :math:`f_c` — one entry per sample, not a pass over the
classes — and splits an entry-wise quantity :math:`g_k` (a gradient) into its value at the
entries :math:`k \ne c` (:math:`\delta_{kc} = 0`) and its value at the label (:math:`\delta_{kc} = 1`,
:math:`k = c`).  The softmax cross-entropy of a sample becomes :math:`-\log\operatorname{softmax}(z)_c`
and its gradient :math:`\operatorname{softmax}(z)_k` off the label, :math:`-(1 - \operatorname{softmax}(z)_c)`
at it: the substitution is an identity for every one-hot target, so the specialized forms inherit
the proofs of the general ones.

Quantities at the label are marked :class:`AtLabel` (an entry-wise expression read at each
sample's class); the kernel takes them with ``_take`` and writes the gradient's label entries with
``_put``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symloss.declare.likelihood import sum_out_deltas


class AtLabel(sp.Function):
    """An entry-wise expression (in the class index) read at each sample's class label."""

    nargs = 1


class IndexFormError(ValueError):
    r"""No index form: the class label survived the specialization outside an :class:`AtLabel` (the
    index kernel cannot evaluate it one entry per sample), or summing a delta out would subtract the
    label's term from a sum that contains it (:math:`\sum_k (1 - \delta_{kc}) f_k = \sum_k f_k - f_c`
    cancels where the other terms are small: the sum over the other classes is then better as it is)."""


@dataclass(frozen=True)
class AtLabels:
    """An expression specialized to integer labels: its value off the label (``elsewhere``, every
    entry of an entry-wise quantity, or the whole of a per-sample one) and, for an entry-wise
    quantity that depends on the label's own entry, its value at the label (``at_label``)."""

    elsewhere: sp.Expr
    at_label: sp.Expr | None


def at_integer_labels(expr: sp.Expr, labels: sp.IndexedBase, index: sp.Symbol, classes: sp.Expr) -> AtLabels:
    r"""``expr`` with the target entries :math:`y_j` replaced by :math:`\delta_{jc}` and the deltas summed
    out; ``index`` is the class index of an entry-wise ``expr`` (it also names the entry read at the label)
    and ``classes`` the class count K.

    Raises :class:`IndexFormError` when the label cannot be read one entry per sample, or a sum
    over label entries does not run over all K classes (the label might lie outside it)."""
    label = sp.Dummy("c", integer=True, positive=True)
    onehot = expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == labels,
                          lambda e: sp.KroneckerDelta(e.indices[0], label))
    for total in onehot.atoms(sp.Sum):
        if total.function.has(label):
            _check_collapsible(total, label, classes)
    onehot = sum_out_deltas(onehot)

    def own_entry(e: sp.Basic) -> bool:
        return isinstance(e, sp.KroneckerDelta) and set(e.args) == {index, label}

    elsewhere = _gathered(onehot.replace(own_entry, lambda e: sp.S.Zero), label, index)
    if not onehot.has(sp.KroneckerDelta) or not any(own_entry(d) for d in onehot.atoms(sp.KroneckerDelta)):
        return AtLabels(elsewhere, None)
    at_label = onehot.replace(own_entry, lambda e: sp.S.One).xreplace({index: label})
    return AtLabels(elsewhere, _gathered(at_label, label, index))


def _check_collapsible(total: sp.Sum, label: sp.Symbol, classes: sp.Expr) -> None:
    """Raise :class:`IndexFormError` unless the deltas of ``total`` sum out without cancellation: the sum
    runs over all classes, and no term at the label is provably subtracted from the same term summed
    over every class (coefficients of opposite signs)."""
    (bound, low, high), *rest = total.limits
    if rest or (low, high) != (1, classes):
        raise IndexFormError(f"{total} does not run over all {classes} classes")
    selected, summed = [], []
    for term in sp.Add.make_args(sp.expand(total.function)):
        deltas = [f for f in sp.Mul.make_args(term)
                  if isinstance(f, sp.KroneckerDelta) and set(f.args) == {bound, label}]
        (selected if deltas else summed).append((term / deltas[0] if deltas else term).as_independent(bound))
    for coefficient, entry in selected:
        if any(entry == other and (coefficient * factor).is_negative for factor, other in summed):
            raise IndexFormError(f"the label's term of {total} would be subtracted from the whole sum")


def _gathered(expr: sp.Expr, label: sp.Symbol, index: sp.Symbol) -> sp.Expr:
    """Every entry at the label — an indexed entry, or a primitive taking the label as its class
    index — as ``AtLabel`` of the same entry at ``index``; the label must be gone after it."""

    def visit(e: sp.Basic) -> sp.Basic:
        at_label = (isinstance(e, sp.Indexed) and label in e.indices) or (
            isinstance(e, sp.Function) and not isinstance(e, sp.KroneckerDelta) and label in e.args)
        if at_label:
            return AtLabel(e.xreplace({label: index}))
        return e if e.is_Atom or not e.args else e.func(*(visit(a) for a in e.args))

    gathered = visit(expr)
    if label in gathered.free_symbols:
        raise IndexFormError(f"the class label is read other than one entry per sample in {expr}")
    # the deltas were summed out of expanded summands: the weight of each entry at the label, (1 - eps) f_c
    # rather than f_c - eps f_c, is gathered again (no cancellation, and 0 times an infinite entry stays marked)
    return sp.collect(gathered, sorted(gathered.atoms(AtLabel), key=sp.default_sort_key))
