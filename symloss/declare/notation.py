"""Canonical variables and their domains.

A :class:`Domain` is the one description of where a variable lives.  It is
used twice, and must say the same thing both times: as SymPy assumptions
(``positive=True`` lets ``log(p*q)`` split) and as the region the prover and
the certifier sample numerically.  A :class:`Var` ties a SymPy symbol (or an
``IndexedBase`` for a class vector) to its domain and its LaTeX name.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

Number = int | Fraction


@dataclass(frozen=True)
class Domain:
    """A subset of the reals: an interval, a finite set, or a vector set.

    ``low``/``high`` bound an interval (``None`` for unbounded) and
    ``low_open``/``high_open`` say whether the bound is excluded.  ``values``
    makes the domain the finite set of those numbers.  ``vector`` names a
    set of class vectors for ``IndexedBase`` variables, whose entries are
    sampled jointly: "simplex" (positive entries summing to 1),
    "distribution" (nonnegative entries summing to 1), "onehot", "real";
    "index" marks a class index in 1..K.
    """

    name: str
    low: Number | None = None
    high: Number | None = None
    low_open: bool = True
    high_open: bool = True
    values: tuple[Number, ...] = ()
    integer: bool = False
    vector: str | None = None

    @property
    def is_finite_set(self) -> bool:
        return bool(self.values)

    def assumptions(self) -> dict[str, bool]:
        """SymPy assumptions implied by this domain (never more)."""
        if self.vector == "simplex":
            return {"positive": True}
        if self.vector in ("onehot", "distribution"):
            return {"nonnegative": True}
        if self.vector == "index":
            return {"integer": True, "positive": True}
        if self.vector is not None:
            return {"real": True}
        if self.values:
            facts: dict[str, bool] = {"real": True}
            if all(Fraction(v).denominator == 1 for v in self.values):
                facts["integer"] = True
            if all(v > 0 for v in self.values):
                facts["positive"] = True
            elif all(v >= 0 for v in self.values):
                facts["nonnegative"] = True
            return facts
        facts = {"real": True}
        if self.integer:
            facts["integer"] = True
        if self.low is not None:
            if self.low > 0 or (self.low == 0 and self.low_open):
                facts["positive"] = True
            elif self.low == 0:
                facts["nonnegative"] = True
        if self.high is not None:
            if self.high < 0 or (self.high == 0 and self.high_open):
                facts["negative"] = True
            elif self.high == 0:
                facts["nonpositive"] = True
        return facts

    def contains(self, value: float | Fraction | int) -> bool:
        """Whether a scalar lies in the domain (vector domains: entries)."""
        if self.values:
            return any(value == v for v in self.values)
        if self.integer and Fraction(value).denominator != 1:
            return False
        below = self.low is not None and (value < self.low or (self.low_open and value == self.low))
        above = self.high is not None and (value > self.high or (self.high_open and value == self.high))
        return not (below or above)

    def sample(self, rng: random.Random) -> Fraction:
        """One exact rational point of the domain (scalar domains only).

        Points mix moderate magnitudes with a few small and large ones, so
        that a numeric check sees both the bulk and the tails of a formula.
        """
        if self.values:
            return Fraction(rng.choice(self.values))
        low = None if self.low is None else Fraction(self.low)
        high = None if self.high is None else Fraction(self.high)
        if self.integer:
            lo = int(low) + (1 if self.low_open and low == int(low) else 0) if low is not None else -20
            hi = int(high) - (1 if self.high_open and high == int(high) else 0) if high is not None else lo + 40
            return Fraction(rng.randint(lo, max(lo, hi)))
        for _ in range(1000):
            candidate = _raw_sample(rng, low, high)
            if self.contains(candidate):
                return candidate
        raise ValueError(f"cannot sample the domain {self.name}")


def _raw_sample(rng: random.Random, low: Fraction | None, high: Fraction | None) -> Fraction:
    """A rational in [low, high]: uniform for bounded, log-spread otherwise."""
    if low is not None and high is not None:
        u = Fraction(rng.randint(1, 10**6 - 1), 10**6)
        return low + (high - low) * u
    magnitude = Fraction(rng.choice((1, 1, 1, 2, 5, 10, 30))) * Fraction(rng.randint(1, 999), 1000)
    if low is not None:
        return low + magnitude
    if high is not None:
        return high - magnitude
    return magnitude if rng.random() < 0.5 else -magnitude


def interval(
    name: str,
    low: Number | None = None,
    high: Number | None = None,
    *,
    low_open: bool = True,
    high_open: bool = True,
) -> Domain:
    """An interval domain; open at both ends unless told otherwise."""
    return Domain(name, low=low, high=high, low_open=low_open, high_open=high_open)


def finite(*values: Number, name: str | None = None) -> Domain:
    """The finite set ``{values}``; the prover may case-split over it."""
    label = name or "{" + ", ".join(str(v) for v in values) + "}"
    return Domain(label, values=tuple(values))


REAL = interval("real")
POSITIVE = interval("positive", 0)
NONNEGATIVE = interval("nonnegative", 0, low_open=False)
UNIT_OPEN = interval("(0, 1)", 0, 1)
UNIT_HALF_OPEN = interval("[0, 1)", 0, 1, low_open=False)
UNIT_CLOSED = interval("[0, 1]", 0, 1, low_open=False, high_open=False)
BINARY = finite(0, 1, name="{0, 1}")
SIGNED = finite(-1, 1, name="{-1, +1}")
CLASS_COUNT = Domain("K >= 2", low=2, low_open=False, integer=True)
SIMPLEX = Domain("probability simplex", vector="simplex")
ONE_HOT = Domain("one-hot", vector="onehot")
DISTRIBUTION = Domain("probability vector (closed simplex)", vector="distribution")
LABEL_DOMAINS = ("onehot", "distribution")  # vector targets that also accept integer class indices
REAL_VECTOR = Domain("real vector", vector="real")
INDEX = Domain("class index in 1..K", integer=True, vector="index")


@dataclass(frozen=True)
class Unset:
    """What a hyper-parameter given as ``None`` means: the formulas with the parameter replaced by
    ``value`` (a number, or an expression in the loss's other inputs), and ``meaning`` in words.

    The replacement is symbolic, so it is exact: ``alpha -> y`` with a label y in {0, 1} turns
    ``alpha y + (1 - alpha)(1 - y)`` into ``y**2 + (1 - y)**2``, which is 1 for either label.
    """

    value: sp.Expr
    meaning: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", sp.sympify(self.value))


@dataclass(frozen=True)
class Var:
    """A named variable: its SymPy symbol, domain and typeset name.

    ``symbol`` is a ``Symbol`` (scalar) or an ``IndexedBase`` (class vector
    indexed by the loss's class index).  A hyper-parameter has a ``default``
    and, when a kernel also accepts ``None`` for it, an ``unset``.
    """

    symbol: sp.Symbol | sp.IndexedBase
    domain: Domain
    latex: str
    description: str = ""
    default: float | None = None  # a hyper-parameter's default in the generated kernels
    unset: Unset | None = None  # what None means for a hyper-parameter (None: not accepted)

    @property
    def name(self) -> str:
        return str(self.symbol)

    @property
    def is_vector(self) -> bool:
        return isinstance(self.symbol, sp.IndexedBase)


def var(
    name: str, domain: Domain = REAL, latex: str | None = None, description: str = "", default: float | None = None,
    unset: Unset | None = None,
) -> Var:
    """A scalar variable whose SymPy assumptions come from its domain (``default``: for a
    hyper-parameter, its value when a kernel's caller does not give one; ``unset``: what it means
    when the caller gives ``None``)."""
    symbol = sp.Symbol(name, **domain.assumptions())
    return Var(symbol, domain, latex or sp.latex(sp.Symbol(name)), description, default, unset)


def index(name: str = "k", latex: str | None = None) -> Var:
    """A class index running over 1..K (an integer symbol)."""
    return Var(sp.Symbol(name, **INDEX.assumptions()), INDEX, latex or name, "class index")


def vector(name: str, domain: Domain = REAL_VECTOR, latex: str | None = None, description: str = "") -> Var:
    """A class vector ``name[k]`` (an ``IndexedBase`` of real entries)."""
    symbol = sp.IndexedBase(name, **domain.assumptions())
    return Var(symbol, domain, latex or name, description)


@dataclass(frozen=True)
class Scope:
    """The variables a formula may mention, with their domains."""

    variables: tuple[Var, ...] = field(default_factory=tuple)

    def __add__(self, other: Scope | Iterable[Var]) -> Scope:
        extra = other.variables if isinstance(other, Scope) else tuple(other)
        known = {v.symbol for v in self.variables}
        return Scope(self.variables + tuple(v for v in extra if v.symbol not in known))

    def domains(self) -> Mapping[sp.Basic, Domain]:
        return {v.symbol: v.domain for v in self.variables}

    def latex_names(self) -> dict[sp.Basic, str]:
        return {v.symbol: v.latex for v in self.variables}
