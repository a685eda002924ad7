"""The variables the stability rules' identities are stated in, with the domains the prover may assume
(:data:`SCALARS` for scalar identities, :data:`VECTORS` for those over a class vector), and the claim
and pattern rule made from one identity."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from symloss.declare.loss import Claim, identity
from symloss.declare.notation import NONNEGATIVE, POSITIVE, REAL, REAL_VECTOR, Scope, index, interval, var, vector
from symloss.stabilize.engine import Rule, pattern
from symloss.stabilize.primitives import expand_primitives

a, x, r, t, m, b = (var(n, d).symbol for n, d in (("a", REAL), ("x", interval("x > -1", -1)), ("r", REAL),
                                                          ("t", REAL), ("m", REAL), ("b", REAL)))
s = var("s", interval("(0, 1)", 0, 1)).symbol
u = var("u", NONNEGATIVE).symbol
w = var("w", POSITIVE).symbol
P, Q, C = (var(n, POSITIVE).symbol for n in ("P", "Q", "C"))
K = var("K", interval("K >= 2", 2, low_open=False)).symbol
k_var, j_var = index("k"), index("j")
z_var = vector("z", REAL_VECTOR)
k, j, z = k_var.symbol, j_var.symbol, z_var.symbol
SCALARS = Scope(tuple(var(n, d) for n, d in (("a", REAL), ("x", interval("x > -1", -1)), ("r", REAL),
                                             ("t", REAL), ("m", REAL), ("b", REAL), ("s", interval("(0, 1)", 0, 1)),
                                             ("u", NONNEGATIVE), ("w", POSITIVE), ("P", POSITIVE), ("Q", POSITIVE),
                                             ("C", POSITIVE))))
VECTORS = Scope((z_var, k_var, j_var, var("K", interval("K >= 2", 2, low_open=False)), var("m", REAL),
                 var("w", POSITIVE)))
f_var = vector("f", REAL_VECTOR)
f = f_var.symbol
CLASS_FUNCTIONS = Scope((z_var, f_var, k_var, var("K", interval("K >= 2", 2, low_open=False)), var("a", REAL),
                         var("m", REAL), var("w", POSITIVE)))  # z_k and f_k: any two class functions
i, n = (var(n, NONNEGATIVE).symbol for n in ("i", "n"))  # exponents of sigmoid_powers
POWERS_OF_A_PROBABILITY = Scope((var("s", interval("(0, 1)", 0, 1)), var("n", NONNEGATIVE), var("w", POSITIVE),
                                 var("t", REAL)))
POWERS = Scope((var("a", REAL), var("b", REAL), var("i", NONNEGATIVE), var("n", NONNEGATIVE)))


def claim(statement: str, lhs: sp.Expr, rhs: sp.Expr, scope: Scope = SCALARS) -> Claim:
    """The identity lhs = rhs, to be proved over ``scope`` (default: the scalar variables)."""
    return identity(statement, lhs, rhs, scope=scope)


def scalar_rule(name: str, lhs: sp.Expr, rhs: sp.Expr, symbols: Sequence[sp.Symbol]) -> Rule:
    """A rule from an identity between scalars; a sum on the left matches inside larger sums."""
    statement = claim(f"{name}: {sp.sstr(lhs)} = {sp.sstr(rhs)}", lhs, expand_primitives(rhs))
    return Rule(name, (statement,), pattern(lhs, rhs, symbols))
