"""The symbols of one claim: which SymPy symbol each name of the user's formulas means.

Both readers call :class:`Names` for every name they meet.  A name is resolved
once for the whole claim (all its formulas), so the same name is always the same
symbol, with its SymPy assumptions from the user's :class:`~symloss.declare.notation.Scope`:
an undeclared name passed bare to a catalog loss takes that argument's domain,
an undeclared name is otherwise real, a subscript is a class index in 1..K and a
sum's upper bound a class count.  Catalog losses called by name are applied here
too, bringing their free parameters and the equalities they assume (Σ_k y_k = 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sympy as sp

from symloss.declare.catalog import Catalog
from symloss.declare.notation import CLASS_COUNT, REAL, REAL_VECTOR, Domain, Scope, Var, index, var, vector
from symloss.verify.limits import ParseError

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # a name a user may give a variable
AS_SCALAR, AS_VECTOR, AS_INDEX, AS_COUNT = "scalar", "vector", "index", "count"  # the roles a name can play


class Names:
    """The symbols of one claim.

    Parsing runs twice over every formula of the claim.  The first pass
    records how each name is used (scalar, vector, index, count; loss slot
    domains); :meth:`resolved` then fixes one :class:`Var` per name, and the
    second pass builds the expressions with those symbols.
    """

    def __init__(self, scope: Scope, catalog: Catalog | None) -> None:
        self.declared = {v.name: v for v in scope.variables}
        self.catalog = catalog
        self.text = ""  # the formula being read, for error locations
        self.uses: dict[str, dict[str, tuple[int, str]]] = {}  # name -> role -> (first position, text)
        self.slot_domains: dict[str, Domain] = {}
        self.subscripts: list[tuple[str, str, int, str]] = []  # LaTeX x_s: an index if x turns out a vector
        self.vars: dict[str, Var] | None = None
        self.used: dict[str, Var] = {}
        self.extra: dict[str, Var] = {}  # loss variables left free (unset params, class count)
        self.givens: list[sp.Eq] = []
        self.definitions: dict[str, sp.Expr] = {}

    # -- the two passes
    def resolved(self) -> Names:
        """A fresh second-pass namespace with every name's Var fixed."""
        final = Names(Scope(tuple(self.declared.values())), self.catalog)
        for base, sub, position, text in self.subscripts:
            if AS_VECTOR in self.uses.get(base, {}) and not sub.isdigit():
                self.uses.setdefault(sub, {}).setdefault(AS_INDEX, (position, text))
        final.slot_domains = self.slot_domains
        final.uses = self.uses
        final.vars = {name: self._var(name, roles) for name, roles in self.uses.items()}
        return final

    def _var(self, name: str, roles: dict[str, tuple[int, str]]) -> Var:
        def error(message: str, role: str) -> ParseError:
            position, text = roles[role]
            return ParseError(message, position, text)

        declared = self.declared.get(name)
        domain = declared.domain if declared is not None else self.slot_domains.get(name)
        if AS_VECTOR in roles:
            other = sorted(set(roles) - {AS_VECTOR})
            if other:
                raise error(f"{name!r} is used both as a vector and as a {other[0]}", other[0])
            if domain is None or domain == REAL:
                domain = REAL_VECTOR
            if domain.vector is None:
                raise error(f"{name!r} is indexed, but its assumption ({domain.name}) is for a scalar", AS_VECTOR)
            return vector(name, domain)
        if domain is not None and domain.vector is not None and domain.vector != "index":
            raise error(f"{name!r} is a vector ({domain.name}); use its entries, e.g. {name}[k]", min(roles))
        if AS_INDEX in roles:
            if AS_SCALAR in roles or AS_COUNT in roles:
                raise error(f"{name!r} is used both as a class index and as a number", AS_INDEX)
            return index(name) if domain is None else var(name, domain)
        if AS_COUNT in roles:
            return var(name, domain or CLASS_COUNT)
        return declared if declared is not None else var(name, domain or REAL)

    def use(self, name: str, role: str, position: int) -> sp.Basic:
        """The symbol (or IndexedBase) of ``name`` used in ``role``."""
        if self.vars is None:
            self.uses.setdefault(name, {}).setdefault(role, (position, self.text))
            try:
                return self._var(name, {role: (position, self.text)}).symbol
            except ParseError:
                return sp.IndexedBase(name) if role == AS_VECTOR else sp.Symbol(name)
        found = self.vars.get(name) or self._var(name, {role: (position, self.text)})
        if found.is_vector != (role == AS_VECTOR):
            kind = "vector" if found.is_vector else "scalar"
            raise ParseError(f"{name!r} is a {kind} here and used otherwise elsewhere", position)
        self.used[name] = found
        return found.symbol

    def slot(self, name: str, domain: Domain) -> None:
        """Record that a bare name was passed to a loss argument of this domain."""
        self.slot_domains.setdefault(name, domain)

    def subscript(self, base: str, sub: str, position: int) -> None:
        self.subscripts.append((base, sub, position, self.text))

    def is_vector(self, name: str) -> bool:
        return AS_VECTOR in self.uses.get(name, {})

    # -- catalog losses
    def loss_slots(self, name: str) -> tuple[Var, ...] | None:
        if self.catalog is None or name not in self.catalog.names:
            return None
        loss = self.catalog.get(name)
        return (loss.output, loss.target, *loss.inputs, *loss.params)

    def apply_loss(self, name: str, arguments: Sequence[sp.Basic], position: int) -> sp.Expr:
        """``name(arguments)``: the catalog loss's formula in the user's symbols."""
        assert self.catalog is not None
        loss = self.catalog.get(name)
        try:
            expr = loss.apply(list(arguments))
        except ValueError as error:
            raise ParseError(str(error), position) from None
        slots = (loss.output, loss.target, *loss.inputs, *loss.params)
        mapping = {slot.symbol: arg for slot, arg in zip(slots, arguments, strict=False)}
        for v in loss.variables:
            if v.symbol not in mapping and v.symbol in expr.free_symbols | _bases(expr):
                self.extra.setdefault(v.name, v)
        for equality in loss.given:
            self.givens.append(equality.xreplace(mapping))
        return expr

    # -- results
    def final_scope(self) -> Scope:
        scope = Scope(tuple(self.used.values()))
        for name, v in self.extra.items():
            known = self.used.get(name)
            if known is not None and known.symbol != v.symbol:
                raise ParseError(f"{name!r} names both your variable and a parameter of a loss; pass it explicitly")
            scope = scope + Scope((v,))
        return scope

    def given(self) -> tuple[sp.Eq, ...]:
        return tuple(dict.fromkeys(g for g in self.givens if g is not sp.true))


def _bases(expr: sp.Expr) -> set[sp.Basic]:
    return {i.base for i in expr.atoms(sp.Indexed)}
