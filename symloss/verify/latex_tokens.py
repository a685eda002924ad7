"""The LaTeX tokenizer and the LaTeX vocabulary the reader knows.

A token is a command (``\\frac``), a word (``\\operatorname{softplus}``, read as
``softplus``), a number, a letter, a symbol or a line break (``\\\\``); spacing
commands (``\\,``, ``\\left``, ``\\displaystyle``) are dropped and ``\\{``/``\\}`` read as
parentheses.  Every token keeps its offset in the text, for error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from symloss.verify.limits import ParseError

_LATEX_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\\[,;:!\ ]|\\q?quad\b|~|\\(?:left|right|big|Big|bigg|Bigg)[lr]?(?![A-Za-z])\.?
       |\\displaystyle\b|\\limits\b)
   |(?P<word>\\(?:operatorname|mathrm|text|textrm|textit|mathit)\s*\{\s*(?:[A-Za-z0-9]|\\?_)+\s*\})
   |(?P<brace>\\[{}])
   |(?P<linebreak>\\\\)
   |(?P<command>\\[A-Za-z]+)
   |(?P<number>\d+(?:\.\d+)?|\.\d+)
   |(?P<letter>[A-Za-z])
   |(?P<symbol>[-+*/^_=(){}\[\]|,;<>'])
    """,
    re.VERBOSE,
)

GREEK = frozenset(
    (
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
        "nu", "xi", "omicron", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
        "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
    )
)
GREEK_ALIASES = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi", "varrho": "rho"}
LATEX_FUNCTIONS = {
    "log": "log",
    "ln": "log",
    "exp": "exp",
    "tanh": "tanh",
    "cosh": "cosh",
    "sinh": "sinh",
    "max": "max",
    "min": "min",
}
ACCENTS = {"hat": "_hat", "widehat": "_hat", "tilde": "_tilde", "widetilde": "_tilde", "bar": "_bar"}
FONTS = ("mathbf", "boldsymbol", "vec", "mathcal", "mathbb", "bm")
TIMES = ("*", r"\cdot", r"\times")
FRACTIONS = (r"\frac", r"\dfrac", r"\tfrac")
@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _LATEX_TOKEN.match(text, position)
        if match is None:
            raise ParseError(f"unexpected character {text[position]!r}", position)
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "brace":
            kind, value = "symbol", "(" if value == r"\{" else ")"
        elif kind == "word":
            value = re.sub(r"\s|\\", "", value[value.index("{") + 1 : -1])
        if kind != "space":
            tokens.append(Token(kind, value, position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens
