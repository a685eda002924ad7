"""Assumptions a user states about the symbols of a claim (``--assume``).

Each string is one of::

    x real                 x > 0     x >= 0     x < 1     x <= 1
    0 < p < 1              0 <= p <= 1          (any mix of < and <=)
    y in {0, 1}            y in {-1, 1}         (any finite set of numbers)
    K integer >= 2         n integer
    y in simplex           (also onehot, distribution, reals: class vectors)
    x, y > 0               (several names at once)

Assumptions about the same name intersect (``x > 0`` and ``x < 1`` give
the open unit interval).  The result is a :class:`~symloss.declare.notation.Scope`
whose variables carry SymPy assumptions and the region the prover samples;
a vector on the probability simplex also implies Σ_k y_k = 1
(:func:`implied_equalities`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import sympy as sp

from symloss.declare.notation import (
    CLASS_COUNT,
    DISTRIBUTION,
    ONE_HOT,
    REAL_VECTOR,
    SIMPLEX,
    Domain,
    Scope,
    Var,
    var,
    vector,
)
from symloss.verify.limits import MAX_LENGTH, ParseError

MAX_SET_SIZE = 50  # values in one finite set
MAX_NUMBER_LENGTH = 30  # characters of one number

VECTOR_DOMAINS: dict[str, Domain] = {
    "simplex": SIMPLEX,
    "onehot": ONE_HOT,
    "one-hot": ONE_HOT,
    "distribution": DISTRIBUTION,
    "reals": REAL_VECTOR,
}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
   |(?P<number>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:/\d+)?)
   |(?P<word>[A-Za-z][A-Za-z0-9_-]*)
   |(?P<op><=|>=|<|>|∈|[{},])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Bounds:
    """What is known about one name so far."""

    low: Fraction | None = None
    low_open: bool = True
    high: Fraction | None = None
    high_open: bool = True
    integer: bool = False
    values: tuple[Fraction, ...] | None = None
    vector: Domain | None = None

    def lower(self, value: Fraction, strict: bool) -> _Bounds:
        if self.low is None or value > self.low or (value == self.low and strict):
            return replace(self, low=value, low_open=strict)
        return self

    def upper(self, value: Fraction, strict: bool) -> _Bounds:
        if self.high is None or value < self.high or (value == self.high and strict):
            return replace(self, high=value, high_open=strict)
        return self

    def domain(self, label: str) -> Domain:
        if self.vector is not None:
            return self.vector
        if self.values is not None:
            kept = tuple(_plain(v) for v in self.values if self._admits(v))
            if not kept:
                raise ParseError(f"no value satisfies the assumptions about {label}")
            return Domain("{" + ", ".join(str(v) for v in kept) + "}", values=kept)
        domain = Domain(
            label,
            low=None if self.low is None else _plain(self.low),
            high=None if self.high is None else _plain(self.high),
            low_open=self.low_open,
            high_open=self.high_open,
            integer=self.integer,
        )
        if self.low is not None and self.high is not None and not self._nonempty():
            raise ParseError(f"no value satisfies the assumptions about {label}")
        return CLASS_COUNT if domain == replace(CLASS_COUNT, name=label) else domain

    def _admits(self, value: Fraction) -> bool:
        below = self.low is not None and (value < self.low or (self.low_open and value == self.low))
        above = self.high is not None and (value > self.high or (self.high_open and value == self.high))
        return not (below or above or (self.integer and value.denominator != 1))

    def _nonempty(self) -> bool:
        assert self.low is not None and self.high is not None
        if self.integer:
            first = math.ceil(self.low) + (1 if self.low_open and self.low.denominator == 1 else 0)
            return self._admits(Fraction(first))
        return self.low < self.high or (self.low == self.high and not (self.low_open or self.high_open))


def _plain(value: Fraction) -> int | Fraction:
    return int(value) if value.denominator == 1 else value


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def parse_assumptions(texts: Sequence[str]) -> Scope:
    """The variables the assumptions speak of, each with its domain.

    >>> scope = parse_assumptions(["0 < p < 1", "y in {0, 1}"])
    >>> [(v.name, v.domain.name) for v in scope.variables]
    [('p', '0 < p < 1'), ('y', '{0, 1}')]
    """
    known: dict[str, _Bounds] = {}
    labels: dict[str, list[str]] = {}
    for text in texts:
        try:
            for name, update in _read(text):
                known[name] = update(known.get(name, _Bounds()))
                labels.setdefault(name, []).append(text.strip())
        except ParseError as error:
            raise error.located(text) from None
    variables: list[Var] = []
    for name, bounds in known.items():
        label = " and ".join(dict.fromkeys(labels[name]))
        domain = bounds.domain(label)
        variables.append(vector(name, domain) if domain.vector else var(name, domain))
    return Scope(tuple(variables))


def implied_equalities(scope: Scope) -> tuple[sp.Eq, ...]:
    """Σ_k y_k = 1 for every vector of the scope that lives on a simplex."""
    k = sp.Symbol("k", integer=True)
    count = var("K", CLASS_COUNT).symbol
    return tuple(
        sp.Eq(sp.Sum(v.symbol[k], (k, 1, count)), 1)
        for v in scope.variables
        if v.is_vector and v.domain.vector in ("simplex", "onehot", "distribution")
    )


def _tokens(text: str) -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise ParseError(f"assumption longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ParseError(f"unexpected character {text[position]!r}", position)
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup or "", match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


_Update = Callable[[_Bounds], _Bounds]


def _read(text: str) -> list[tuple[str, _Update]]:
    """(name, update) pairs: each update maps the name's _Bounds to new ones."""
    tokens = _tokens(text)
    if tokens[0].kind == "end":
        raise ParseError("empty assumption", 0)
    if tokens[0].kind == "number":
        return _read_chain(tokens)
    names, at = _names(tokens, 0)
    token = tokens[at]
    if token.text in ("in", "∈"):
        update = _membership(tokens, at + 1)
    elif token.text == "real":
        _end(tokens, at + 1)
        return [(n, _same) for n in names]
    elif token.text == "integer":
        rest = at + 1
        relation = None
        if tokens[rest].kind == "op" and tokens[rest].text in ("<", "<=", ">", ">="):
            relation = _relation(tokens[rest], tokens[rest + 1])
            rest += 2
        _end(tokens, rest)
        return [(n, _integer_then(relation)) for n in names]
    elif token.kind == "op" and token.text in ("<", "<=", ">", ">="):
        update = _relation(token, tokens[at + 1])
        _end(tokens, at + 2)
    else:
        raise ParseError(f"expected 'real', 'integer', 'in' or a comparison, found {token.text or 'the end'!r}",
                         token.position)
    return [(n, update) for n in names]


def _names(tokens: list[_Token], at: int) -> tuple[list[str], int]:
    names: list[str] = []
    while True:
        token = tokens[at]
        if token.kind != "word" or token.text in ("in", "real", "integer") or "-" in token.text:
            raise ParseError(f"expected a variable name, found {token.text or 'the end'!r}", token.position)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", token.text):
            raise ParseError(f"invalid name {token.text!r}", token.position)
        names.append(token.text)
        at += 1
        if tokens[at].text != ",":
            return names, at
        at += 1


def _number(token: _Token) -> Fraction:
    if token.kind != "number":
        raise ParseError(f"expected a number, found {token.text or 'the end'!r}", token.position)
    if len(token.text) > MAX_NUMBER_LENGTH:
        raise ParseError("number too long", token.position)
    mantissa = token.text.split("/")[0]
    if "e" in mantissa.lower() and abs(int(re.split("[eE]", mantissa)[1])) > 300:
        raise ParseError("number out of range", token.position)
    return Fraction(token.text)


def _relation(op: _Token, value_token: _Token) -> _Update:
    value = _number(value_token)
    if op.text in (">", ">="):
        return lambda b: b.lower(value, op.text == ">")
    return lambda b: b.upper(value, op.text == "<")


def _integer_then(relation: _Update | None) -> _Update:
    def update(b: _Bounds) -> _Bounds:
        b = replace(b, integer=True)
        return relation(b) if relation is not None else b

    return update


def _same(b: _Bounds) -> _Bounds:
    return b


def _membership(tokens: list[_Token], at: int) -> _Update:
    token = tokens[at]
    if token.kind == "word":
        domain = VECTOR_DOMAINS.get(token.text)
        if domain is None:
            raise ParseError(f"unknown set {token.text!r} (known: {', '.join(VECTOR_DOMAINS)})", token.position)
        _end(tokens, at + 1)
        return lambda b: replace(b, vector=domain)
    if token.text != "{":
        raise ParseError("expected a set such as {0, 1}", token.position)
    values: list[Fraction] = []
    at += 1
    while True:
        values.append(_number(tokens[at]))
        at += 1
        if len(values) > MAX_SET_SIZE:
            raise ParseError(f"a finite set of more than {MAX_SET_SIZE} values", tokens[at].position)
        if tokens[at].text == "}":
            break
        if tokens[at].text != ",":
            raise ParseError("expected ',' or '}'", tokens[at].position)
        at += 1
    _end(tokens, at + 1)
    chosen = tuple(dict.fromkeys(values))

    def update(b: _Bounds) -> _Bounds:
        kept = chosen if b.values is None else tuple(v for v in chosen if v in b.values)
        return replace(b, values=kept)

    return update


def _read_chain(tokens: list[_Token]) -> list[tuple[str, _Update]]:
    """``0 < p < 1``: a number, a relation, names, and optionally a relation and a number."""
    low = _number(tokens[0])
    first = tokens[1]
    if first.text not in ("<", "<="):
        raise ParseError("write a range as 'low < x < high'", first.position)
    names, at = _names(tokens, 2)
    updates: list[_Update] = [lambda b: b.lower(low, first.text == "<")]
    if tokens[at].kind != "end":
        second = tokens[at]
        if second.text not in ("<", "<="):
            raise ParseError("write a range as 'low < x < high'", second.position)
        high = _number(tokens[at + 1])
        updates.append(lambda b: b.upper(high, second.text == "<"))
        _end(tokens, at + 2)

    def update(b: _Bounds) -> _Bounds:
        for step in updates:
            b = step(b)
        return b

    return [(n, update) for n in names]


def _end(tokens: list[_Token], at: int) -> None:
    if tokens[at].kind != "end":
        raise ParseError(f"unexpected {tokens[at].text!r}", tokens[at].position)
