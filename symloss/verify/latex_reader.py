"""The LaTeX reader: recursive descent over the tokens of a LaTeX subset.

``\\frac``, ``^``, ``_``, ``\\log``, ``\\ln``, ``\\exp``, ``e^{...}``, ``\\sigma(z)`` (the
sigmoid), ``\\tanh``, ``\\cosh``, ``\\sinh``, ``\\max``, ``\\min``, ``|x|``, ``\\sqrt``,
``\\hat{y}`` (the symbol ``y_hat``), Greek letters, ``\\cdot``, ``\\left( ... \\right)``,
``\\sum_{k=1}^{K}`` with ``y_k``, ``\\frac{\\partial}{\\partial z}``,
``\\frac{\\partial L}{\\partial z}`` with ``L = ...`` defined earlier in the input
(statements are separated by ``;`` or ``\\\\``), implicit multiplication (``2z``,
``y \\log p``).  Nothing is evaluated: the reader builds SymPy objects directly.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from symloss.declare.notation import Var
from symloss.verify.builders import (
    UNARY_FUNCTIONS,
    VARIADIC_FUNCTIONS,
    apply_function,
    bound_index,
    checked,
    checked_power,
    checked_sum,
    derivative,
    negate,
)
from symloss.verify.latex_tokens import (
    ACCENTS,
    FONTS,
    FRACTIONS,
    GREEK,
    GREEK_ALIASES,
    LATEX_FUNCTIONS,
    TIMES,
    Token,
    tokenize,
)
from symloss.verify.limits import MAX_DEPTH, MAX_DIFF_ORDER, MAX_LITERAL_DIGITS, ParseError
from symloss.verify.names import AS_COUNT, AS_INDEX, AS_SCALAR, AS_VECTOR, NAME, Names


def read_latex(text: str, names: Names) -> sp.Expr:
    """Parse LaTeX: statements ``NAME = expr`` separated by ``;`` or ``\\\\``;
    the value is the last statement's expression."""
    return _LatexReader(tokenize(text), names).statements()


class _LatexReader:
    """Recursive descent over LaTeX tokens."""

    def __init__(self, tokens: list[Token], names: Names) -> None:
        self.tokens = tokens
        self.index = 0
        self.names = names
        self.bound: list[dict[str, sp.Symbol]] = []
        self.in_bars = 0
        self.depth = 0

    # -- token helpers
    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept(self, *texts: str) -> bool:
        if self.token.kind in ("symbol", "command", "linebreak") and self.token.text in texts:
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            found = self.token.text or "the end"
            raise ParseError(f"expected {text!r}, found {found!r}", self.token.position)

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"formula nested deeper than {MAX_DEPTH}", self.token.position)

    # -- statements
    def statements(self) -> sp.Expr:
        value = self.statement()
        while self.accept(";", "\\\\"):
            if self.token.kind == "end":
                break
            value = self.statement()
        if self.token.kind != "end":
            raise ParseError(f"unexpected {self.token.text!r}", self.token.position)
        return value

    def statement(self) -> sp.Expr:
        start = self.index
        try:
            name = self.defined_name()
        except ParseError:
            name = None
        if name is not None and self.accept("="):
            value = self.expression()
            self.names.definitions[name] = value
            return value
        self.index = start
        return self.expression()

    def defined_name(self) -> str | None:
        """A name that can be defined or passed bare: y, \\hat{y}, \\gamma, \\text{lr}."""
        token = self.token
        if token.kind == "letter" and token.text != "e":
            self.advance()
            return token.text
        if token.kind == "command" and (token.text[1:] in ACCENTS or token.text[1:] in FONTS):
            return self.decorated_name()
        if token.kind == "command" and (token.text[1:] in GREEK or token.text[1:] in GREEK_ALIASES):
            self.advance()
            return GREEK_ALIASES.get(token.text[1:], token.text[1:])
        if token.kind == "word":
            self.advance()
            return token.text
        return None

    def bare_name(self) -> str | None:
        """A lone name argument (followed by ',' or ')'), else None with nothing consumed."""
        start = self.index
        try:
            name = self.defined_name()
        except ParseError:
            name = None
        if name is not None and self.token.text in (",", ")", "]") and name not in self.names.definitions:
            return name
        self.index = start
        return None

    # -- expressions
    def expression(self) -> sp.Expr:
        self.nested()
        value = self.term()
        while self.token.text in ("+", "-") and self.token.kind == "symbol":
            sign = self.advance()
            right = self.term()
            value = checked(value + (right if sign.text == "+" else negate(right)), sign.position)
        self.depth -= 1
        return value

    def term(self) -> sp.Expr:
        value = self.unary()
        while True:
            token = self.token
            if self.accept(*TIMES):
                value = checked(value * self.unary(), token.position)
            elif self.accept("/"):
                value = checked(value / self.unary(), token.position)
            elif self.starts_factor():
                value = checked(value * self.power(), token.position)
            else:
                return value

    def unary(self) -> sp.Expr:
        self.nested()
        if self.accept("-"):
            value = negate(self.unary())
        elif self.accept("+"):
            value = self.unary()
        else:
            value = self.power()
        self.depth -= 1
        return value

    def starts_factor(self) -> bool:
        token = self.token
        if token.kind in ("number", "letter", "word"):
            return True
        if token.kind == "command":
            return token.text not in TIMES
        if token.kind == "symbol":
            return token.text in "([{" or (token.text == "|" and not self.in_bars)
        return False

    def power(self) -> sp.Expr:
        token = self.token
        if token.kind == "letter" and token.text == "e" and self.tokens[self.index + 1].text == "^":
            self.index += 2
            return checked(sp.exp(self.exponent()), token.position)
        base = self.atom()
        if self.accept("^"):
            return checked_power(base, self.exponent(), token.position)
        return base

    def exponent(self) -> sp.Expr:
        self.nested()
        if self.accept("{"):
            value = self.expression()
            self.expect("}")
        elif self.accept("-"):
            value = negate(self.single())
        else:
            value = self.single()
        self.depth -= 1
        return value

    def single(self) -> sp.Expr:
        """One token as an exponent or subscript-free argument: x^2, e^z."""
        token = self.token
        if token.kind in ("number", "letter") or token.text[1:] in GREEK or token.text[1:] in GREEK_ALIASES:
            return self.atom(subscripts=False)
        raise ParseError("expected an exponent: a number, a letter or {...}", token.position)

    def atom(self, subscripts: bool = True) -> sp.Expr:
        self.nested()
        value = self._atom(subscripts)
        self.depth -= 1
        return value

    def _atom(self, subscripts: bool) -> sp.Expr:
        token = self.token
        if token.kind == "number":
            self.advance()
            if len(token.text) > MAX_LITERAL_DIGITS:
                raise ParseError(f"number with more than {MAX_LITERAL_DIGITS} digits", token.position)
            value = Fraction(token.text)
            return sp.Rational(value.numerator, value.denominator)
        if token.kind == "letter":
            self.advance()
            if token.text == "e":
                return sp.E
            return self.named(token.text, token.position, subscripts)
        if token.kind == "word":
            self.advance()
            return self.word(token)
        if token.kind == "symbol":
            return self.group()
        if token.kind == "command":
            return self.command()
        raise ParseError(f"unexpected {token.text or 'end of formula'!r}", token.position)

    def group(self) -> sp.Expr:
        token = self.advance()
        closing = {"(": ")", "[": "]", "{": "}"}.get(token.text)
        if closing is not None:
            value = self.expression()
            self.expect(closing)
            return value
        if token.text == "|":
            self.in_bars += 1
            value = self.expression()
            self.in_bars -= 1
            self.expect("|")
            return checked(sp.Abs(value), token.position)
        raise ParseError(f"unexpected {token.text!r}", token.position)

    def command(self) -> sp.Expr:
        token = self.token
        name = token.text[1:]
        if token.text in FRACTIONS:
            self.advance()
            return self.fraction(token.position)
        if name == "sqrt":
            self.advance()
            return self.root(token.position)
        if name == "sum":
            self.advance()
            return self.summation(token.position)
        if name in LATEX_FUNCTIONS:
            self.advance()
            return self.function(LATEX_FUNCTIONS[name], token.position)
        if name == "sigma" and self.tokens[self.index + 1].text in ("(", "["):
            self.advance()
            return self.function("sigmoid", token.position)
        if name == "pi":
            self.advance()
            return sp.pi
        if name in ACCENTS or name in FONTS:
            position = token.position
            return self.named(self.decorated_name(), position, True)
        if name in GREEK or name in GREEK_ALIASES:
            self.advance()
            return self.named(GREEK_ALIASES.get(name, name), token.position, True)
        raise ParseError(f"unsupported command {token.text}", token.position)

    def decorated_name(self) -> str:
        """``\\hat{y}`` → ``y_hat``; ``\\mathbf{y}`` → ``y``; ``\\mathcal{L}`` → ``L``."""
        token = self.advance()
        braced = self.accept("{")
        inner = self.token
        if inner.kind == "letter":
            base = inner.text
        elif inner.kind == "command" and (inner.text[1:] in GREEK or inner.text[1:] in GREEK_ALIASES):
            base = GREEK_ALIASES.get(inner.text[1:], inner.text[1:])
        else:
            raise ParseError(f"{token.text} needs a letter", inner.position)
        self.advance()
        if braced:
            self.expect("}")
        return base + ACCENTS.get(token.text[1:], "")

    def named(self, base: str, position: int, subscripts: bool) -> sp.Expr:
        """A name, with its subscript: ``y_k`` (an entry of y if y is a vector,
        else the symbol y_k) or ``y_{true}`` (the symbol y_true)."""
        sub = self.subscript_text() if subscripts and self.accept("_") else None
        if sub is None:
            return self.plain(base, position)
        bound = next((frame[sub] for frame in reversed(self.bound) if sub in frame), None)
        if bound is not None or ((sub.isdigit() or len(sub) == 1) and self.names.is_vector(base)):
            entry = bound if bound is not None else self.index_value(sub, position)
            return self.names.use(base, AS_VECTOR, position)[entry]
        if len(sub) == 1 or sub.isdigit():
            self.names.subscript(base, sub, position)
        return self.plain(f"{base}_{sub}", position)

    def index_value(self, sub: str, position: int) -> sp.Expr:
        return sp.Integer(int(sub)) if sub.isdigit() else self.names.use(sub, AS_INDEX, position)

    def subscript_text(self) -> str:
        token = self.token
        if token.kind in ("letter", "number", "word"):
            self.advance()
            return token.text
        if token.kind == "command" and token.text[1:] in GREEK:
            self.advance()
            return token.text[1:]
        self.expect("{")
        parts: list[str] = []
        while self.token.kind in ("letter", "number", "word") or self.token.text[1:] in GREEK:
            parts.append(self.advance().text.lstrip("\\"))
        self.expect("}")
        if not parts:
            raise ParseError("empty subscript", token.position)
        return "".join(parts)

    def plain(self, name: str, position: int) -> sp.Expr:
        for frame in reversed(self.bound):
            if name in frame:
                return frame[name]
        if name in self.names.definitions:
            return self.names.definitions[name]
        if not NAME.fullmatch(name):
            raise ParseError(f"invalid name {name!r}", position)
        return self.names.use(name, AS_SCALAR, position)

    def word(self, token: Token) -> sp.Expr:
        """``\\operatorname{softplus}(z)``, ``\\text{bce\\_with\\_logits}(z, y)`` or a
        multi-letter symbol ``\\mathrm{lr}``."""
        name = token.text
        if name in UNARY_FUNCTIONS or name in VARIADIC_FUNCTIONS:
            return self.function(name, token.position)
        slots = self.names.loss_slots(name)
        if slots is not None:
            return self.loss(name, slots, token.position)
        return self.plain(name, token.position)

    def arguments(self) -> list[tuple[sp.Expr, Token]]:
        """``(a, b, ...)``: each argument with its first token."""
        closing = {"(": ")", "[": "]"}.get(self.token.text)
        if self.token.kind != "symbol" or closing is None:
            raise ParseError("expected '(' and the arguments", self.token.position)
        self.advance()
        values = []
        while True:
            first = self.token
            values.append((self.expression(), first))
            if not self.accept(","):
                break
        self.expect(closing)
        return values

    def function(self, name: str, position: int) -> sp.Expr:
        if self.token.kind == "symbol" and self.token.text in ("(", "["):
            arguments = [value for value, _ in self.arguments()]
        elif name in VARIADIC_FUNCTIONS:
            raise ParseError(f"{name} needs its arguments in parentheses", self.token.position)
        else:
            arguments = [self.power()]
        return apply_function(name, arguments, position)

    def loss(self, name: str, slots: tuple[Var, ...], position: int) -> sp.Expr:
        closing = {"(": ")", "[": "]"}.get(self.token.text)
        if self.token.kind != "symbol" or closing is None:
            raise ParseError("expected '(' and the arguments", self.token.position)
        self.advance()
        values: list[sp.Basic] = []
        while True:
            first = self.token
            slot = slots[min(len(values), len(slots) - 1)]
            bare = self.bare_name()
            if bare is not None:
                self.names.slot(bare, slot.domain)
                values.append(self.names.use(bare, AS_VECTOR if slot.is_vector else AS_SCALAR, first.position))
            elif slot.is_vector:
                raise ParseError(f"pass a vector name for the argument {slot.name}", first.position)
            else:
                values.append(self.expression())
            if not self.accept(","):
                break
        self.expect(closing)
        if len(values) > len(slots):
            raise ParseError(f"{name} takes at most {len(slots)} arguments, got {len(values)}", position)
        return self.names.apply_loss(name, values, position)

    def fraction(self, position: int) -> sp.Expr:
        if self.token.text == "{" and self.tokens[self.index + 1].text == r"\partial":
            return self.partial(position)
        if self.total_derivative_ahead():
            return self.partial(position, total=True)
        numerator = self.braced()
        denominator = self.braced()
        return checked(numerator / denominator, position)

    def is_d(self, offset: int = 0) -> bool:
        """Whether the token at ``offset`` is the differential d (``d`` or ``\\mathrm{d}``)."""
        token = self.tokens[min(self.index + offset, len(self.tokens) - 1)]
        return token.kind in ("letter", "word") and token.text == "d"

    def accept_d(self) -> bool:
        if self.is_d():
            self.index += 1
            return True
        return False

    def total_derivative_ahead(self) -> bool:
        r"""``\frac{d}{dz}``, ``\frac{d^2}{dz^2}``, ``\frac{dL}{dz}``: a numerator of
        d, an optional order and an optional name; a denominator starting with d
        and a variable.  Anything else is an ordinary fraction."""
        start = self.index
        try:
            if not (self.accept("{") and self.accept_d()):
                return False
            if self.token.text == "^":
                self.partial_order()
            if not self.accept("}") and (self.defined_name() is None or not self.accept("}")):
                return False
            return self.accept("{") and self.accept_d() and self.token.kind in ("letter", "command", "word")
        except ParseError:
            return False
        finally:
            self.index = start

    def braced(self) -> sp.Expr:
        if self.accept("{"):
            value = self.expression()
            self.expect("}")
            return value
        return self.single()

    def partial(self, position: int, total: bool = False) -> sp.Expr:
        r"""``\frac{\partial^n L}{\partial z^n}`` or ``\frac{\partial}{\partial z} f``;
        with ``total``, the same with d for ∂ (``\frac{d}{dz} f``)."""

        def differential() -> bool:
            return self.accept_d() if total else self.accept(r"\partial")

        self.expect("{")
        if not differential():
            raise ParseError("expected ∂ or d", self.token.position)
        order = self.partial_order()
        target: sp.Expr | None = None
        if not self.accept("}"):
            name_token = self.token
            name = self.defined_name()
            if name is None or name not in self.names.definitions:
                raise ParseError("∂ of an undefined name: define it first, as in 'L = ...; ...'", name_token.position)
            target = self.names.definitions[name]
            self.expect("}")
        self.expect("{")
        variables: list[tuple[sp.Basic, int]] = []
        while differential():
            variable = self.atom()
            variables.append((variable, self.partial_order()))
        self.expect("}")
        if not variables:
            raise ParseError("expected ∂ and a variable in the denominator", position)
        if sum(n for _, n in variables) != order:
            raise ParseError("the orders of ∂ above and below differ", position)
        body = target if target is not None else self.term()
        return derivative(body, variables, position)

    def partial_order(self) -> int:
        if not self.accept("^"):
            return 1
        token = self.token
        braced = self.accept("{")
        number = self.advance()
        if number.kind != "number" or not number.text.isdigit():
            raise ParseError("a derivative order must be a whole number", number.position)
        if braced:
            self.expect("}")
        if int(number.text) > MAX_DIFF_ORDER:
            raise ParseError(f"derivative order must be at most {MAX_DIFF_ORDER}", token.position)
        return int(number.text)

    def root(self, position: int) -> sp.Expr:
        degree: sp.Expr = sp.Integer(2)
        if self.accept("["):
            degree = self.expression()
            self.expect("]")
        if degree == 0:
            raise ParseError("a root of degree 0", position)
        return checked_power(self.braced(), 1 / degree, position)

    def summation(self, position: int) -> sp.Expr:
        r"""``\sum_{k=1}^{K} body`` (``\sum_k body`` sums k over 1..K)."""
        low: sp.Expr = sp.Integer(1)
        high: sp.Expr | None = None
        self.expect("_")
        braced = self.accept("{")
        name_token = self.advance()
        if name_token.kind != "letter":
            raise ParseError("expected the summation index, as in \\sum_{k=1}^{K}", name_token.position)
        if braced:
            if self.accept("="):
                low = self.expression()
            self.expect("}")
        if self.accept("^"):
            high = self.sum_bound()
        if high is None:
            high = self.names.use("K", AS_COUNT, position)
        k = bound_index(name_token.text)
        self.bound.append({name_token.text: k})
        try:
            body = self.term()
        finally:
            self.bound.pop()
        return checked_sum(body, k, low, high, position)

    def sum_bound(self) -> sp.Expr:
        braced = self.accept("{")
        token = self.token
        if token.kind == "letter" and (not braced or self.tokens[self.index + 1].text == "}"):
            self.advance()
            value = self.names.use(token.text, AS_COUNT, token.position)
        else:
            value = self.expression() if braced else self.single()
        if braced:
            self.expect("}")
        return value
