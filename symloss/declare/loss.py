"""The declaration types: what a loss is, what is claimed about it, and the
worked numbers a text printed for it.

Declarations in ``derivations/`` build these frozen objects and nothing else;
every later stage (derive, prove, stabilize, codegen, certify, report) reads
them and returns new objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import sympy as sp

from symloss.declare.notation import Domain, Scope, Unset, Var

Verdict = str  # "proved" | "refuted" | "unknown"


class ClaimKind(StrEnum):
    """What a claim asserts; each kind has its own proof strategies."""

    IDENTITY = "identity"  # lhs == rhs everywhere on the domain
    DERIVATIVE = "derivative"  # d^n(of)/d(wrt)^n == equals
    LIMIT = "limit"  # lim_{var -> point} expr == equals
    SIGN = "sign"  # expr (relation) 0, e.g. ">= 0"
    MINIMIZER = "minimizer"  # expr, as a function of var, is minimized at var = at
    INEQUALITY = "inequality"  # lhs (relation) rhs


RELATIONS = (">=", ">", "<=", "<")


@dataclass(frozen=True)
class Claim:
    """One statement to prove (or, with ``expected="refuted"``, to refute).

    Fields by kind:

    * identity:   ``lhs == rhs``
    * derivative: ``lhs`` is the function, ``var`` the variable, ``order`` the
      order, ``rhs`` the stated derivative
    * limit:      ``lim_{var -> point} lhs == rhs``
    * sign:       ``lhs (relation) 0``
    * minimizer:  ``lhs`` as a function of ``var`` has its minimum at
      ``var = point`` (stationary there, and strictly curved upwards)
    * inequality: ``lhs (relation) rhs``

    ``given`` holds equalities that hold on the domain but that the symbolic
    strategies cannot see from assumptions alone (Σ_k y_k = 1); the prover
    may substitute them, and its numeric check samples only points where
    they hold.  ``scope`` gives every free symbol its domain.
    """

    statement: str
    kind: ClaimKind
    lhs: sp.Expr
    rhs: sp.Expr = sp.S.Zero
    var: sp.Basic | None = None
    order: int = 1
    point: sp.Expr | None = None
    relation: str = ">="
    given: tuple[sp.Eq, ...] = ()
    scope: Scope = field(default_factory=Scope)
    expected: Verdict = "proved"
    note: str = ""

    def __post_init__(self) -> None:
        if self.expected not in ("proved", "refuted", "unknown"):
            raise ValueError(f"claim {self.statement!r}: expected must be proved, refuted or unknown")
        if self.relation not in RELATIONS:
            raise ValueError(f"claim {self.statement!r}: relation must be one of {RELATIONS}")
        if self.kind in (ClaimKind.DERIVATIVE, ClaimKind.LIMIT, ClaimKind.MINIMIZER) and self.var is None:
            raise ValueError(f"claim {self.statement!r}: a {self.kind.value} claim needs var")
        if self.kind in (ClaimKind.LIMIT, ClaimKind.MINIMIZER) and self.point is None:
            raise ValueError(f"claim {self.statement!r}: a {self.kind.value} claim needs point")

    def within(self, scope: Scope, given: Sequence[sp.Eq] = ()) -> Claim:
        """The same claim, with ``scope``'s variables and ``given``'s
        equalities added to its own."""
        extra = tuple(g for g in given if g not in self.given)
        return replace(self, scope=self.scope + scope, given=self.given + extra)


def identity(statement: str, lhs: sp.Expr, rhs: sp.Expr, **options: object) -> Claim:
    """Claim ``lhs == rhs`` on the whole domain."""
    return Claim(statement, ClaimKind.IDENTITY, sp.sympify(lhs), sp.sympify(rhs), **options)


def derivative(
    statement: str, of: sp.Expr, wrt: sp.Basic, equals: sp.Expr, order: int = 1, **options: object
) -> Claim:
    """Claim ``d^order(of)/d(wrt)^order == equals``."""
    return Claim(
        statement, ClaimKind.DERIVATIVE, sp.sympify(of), sp.sympify(equals), var=wrt, order=order, **options
    )


def limit(statement: str, expr: sp.Expr, var: sp.Symbol, point: sp.Expr, equals: sp.Expr, **options: object) -> Claim:
    """Claim ``lim_{var -> point} expr == equals`` (point may be ±oo)."""
    return Claim(
        statement, ClaimKind.LIMIT, sp.sympify(expr), sp.sympify(equals), var=var, point=sp.sympify(point), **options
    )


def sign(statement: str, expr: sp.Expr, relation: str = ">=", **options: object) -> Claim:
    """Claim ``expr (relation) 0`` on the whole domain."""
    return Claim(statement, ClaimKind.SIGN, sp.sympify(expr), relation=relation, **options)


def minimizer(statement: str, expr: sp.Expr, var: sp.Symbol, at: sp.Expr, **options: object) -> Claim:
    """Claim that ``expr``, as a function of ``var``, is minimized at ``var = at``."""
    return Claim(statement, ClaimKind.MINIMIZER, sp.sympify(expr), var=var, point=sp.sympify(at), **options)


def inequality(statement: str, lhs: sp.Expr, relation: str, rhs: sp.Expr, **options: object) -> Claim:
    """Claim ``lhs (relation) rhs`` on the whole domain."""
    return Claim(
        statement, ClaimKind.INEQUALITY, sp.sympify(lhs), sp.sympify(rhs), relation=relation, **options
    )


@dataclass(frozen=True)
class Likelihood:
    r"""A loss that is the negative log-likelihood of a distribution.

    ``density`` is the pmf or pdf :math:`P(\text{observed} \mid \theta)`
    with the link already substituted (e.g. Bernoulli with
    :math:`p = \sigma(z)`).  The loss is

    .. math:: -\log P = \text{scale}\cdot L + \text{shift},

    where ``scale`` is a positive constant and ``shift`` does not depend on
    the model output: minimizing the NLL and minimizing ``L`` are the same.
    """

    distribution: str
    density: sp.Expr
    observed: Var
    link: str = "identity"
    scale: sp.Expr = sp.S.One
    shift: sp.Expr = sp.S.Zero


@dataclass(frozen=True)
class Definition:
    """A loss with no likelihood behind it, given by its formula."""

    reference: str = ""


Origin = Likelihood | Definition


@dataclass(frozen=True)
class Example:
    """A worked number from a text, to reproduce.

    ``quantity`` is an expression in the loss's variables (the loss itself,
    its gradient, or anything else the text computed); ``at`` gives every
    variable its value (a list per variable, or per vector entry, for
    several samples).  ``reduce`` combines several samples ("mean" or
    "sum").  ``stated`` is the number the text printed, with ``digits``
    decimal places; ``sp.oo`` for an infinite value.
    """

    label: str
    quantity: sp.Expr
    at: Mapping[sp.Basic, object]
    stated: float | sp.Expr
    digits: int
    source: str
    reduce: str | None = None

    def __post_init__(self) -> None:
        if self.reduce not in (None, "mean", "sum"):
            raise ValueError(f"example {self.label!r}: reduce must be None, 'mean' or 'sum'")


@dataclass(frozen=True)
class Loss:
    """One loss of the catalog.

    ``output`` is the model output the gradient and Hessian are taken with
    respect to (a logit, score, prediction or class vector); ``target`` the
    label; ``inputs`` any further inputs (a variance, a second embedding);
    ``params`` the hyper-parameters; ``index``/``classes`` the class index k
    and class count K of a multiclass loss.  ``formula`` is the loss in
    textbook form, in those variables.
    """

    name: str
    title: str
    family: str
    output: Var
    target: Var
    formula: sp.Expr
    origin: Origin
    inputs: tuple[Var, ...] = ()
    params: tuple[Var, ...] = ()
    index: Var | None = None
    classes: Var | None = None
    claims: tuple[Claim, ...] = ()
    examples: tuple[Example, ...] = ()
    use_case: str = ""
    link: str = "identity"
    label_format: str = ""
    given: tuple[sp.Eq, ...] = ()
    value_form: sp.Expr | None = None  # an equal form of the formula that computes well (proved before use)
    gradient_form: sp.Expr | None = None  # a closed form the derivation proves and, if proved, prefers
    hessian_form: sp.Expr | None = None

    def __post_init__(self) -> None:
        # ``given``: equalities every claim of this loss may use (Σ_k y_k = 1).
        # ``value_form``/``gradient_form``/``hessian_form``: forms a declaration knows (written so
        # that they compute well); the derivation proves each and uses it only when proved.
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"loss name {self.name!r} must be a lower-case Python identifier")
        names = [c.statement for c in self.claims]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"loss {self.name}: duplicate claim statements {sorted(duplicates)}")
        object.__setattr__(self, "claims", tuple(c.within(self.scope, self.given) for c in self.claims))
        for v in self.variables:
            if v.unset is not None:
                self._check_unset(v, v.unset)

    def _check_unset(self, param: Var, unset: Unset) -> None:
        """A parameter's ``None`` must be a hyper-parameter's, replaced by an expression in the loss's
        other variables that does not mention the output (so that derivatives and replacement commute)."""
        others = {v.symbol for v in self.variables if v is not param and v is not self.output}
        if param not in self.params:
            raise ValueError(f"loss {self.name}: only a hyper-parameter may declare what None means ({param.name})")
        if not unset.value.free_symbols <= others:
            raise ValueError(f"loss {self.name}: {param.name}=None must mean an expression in the loss's "
                             f"variables other than {param.name} and the output {self.output.name}")

    @property
    def variables(self) -> tuple[Var, ...]:
        extra = tuple(v for v in (self.index, self.classes) if v is not None)
        return (self.output, self.target, *self.inputs, *self.params, *extra)

    @property
    def nullable(self) -> tuple[Var, ...]:
        """The hyper-parameters a kernel also accepts as ``None`` (each declares what None means)."""
        return tuple(p for p in self.params if p.unset is not None)

    @property
    def scope(self) -> Scope:
        return Scope(self.variables)

    @property
    def wrt(self) -> sp.Basic:
        """The variable of differentiation: ``z`` or, for a class vector, ``z[i]``."""
        if self.output.is_vector:
            if self.index is None:
                raise ValueError(f"loss {self.name}: a vector output needs a class index")
            return self.output.symbol[self.index.symbol]
        return self.output.symbol

    def apply(self, arguments: Sequence[sp.Expr]) -> sp.Expr:
        """The formula with the inputs (output, target, inputs, params, in
        that order) replaced by ``arguments``; a missing trailing param takes
        its declared default, or keeps its symbol when it has none."""
        slots = (self.output, self.target, *self.inputs, *self.params)
        if len(arguments) > len(slots):
            raise ValueError(f"{self.name} takes at most {len(slots)} arguments, got {len(arguments)}")
        if len(arguments) < 2 + len(self.inputs):
            raise ValueError(f"{self.name} needs at least {2 + len(self.inputs)} arguments, got {len(arguments)}")
        mapping = {slot.symbol: sp.sympify(arg) for slot, arg in zip(slots, arguments, strict=False)}
        defaults = {p.symbol: sp.nsimplify(p.default) for p in self.params
                    if p.symbol not in mapping and p.default is not None}
        return self.formula.xreplace({**defaults, **mapping})


def domains_of(claim: Claim) -> Mapping[sp.Basic, Domain]:
    """Every variable of the claim's scope, mapped to its domain."""
    return claim.scope.domains()
