"""The limits on a user's formula, and the error that reports a formula cannot be read.

A formula comes from a user, so reading it must end quickly whatever it says.
The readers refuse, with a :class:`ParseError` that names the limit, a formula

* longer than :data:`MAX_LENGTH` characters,
* nested deeper than :data:`MAX_DEPTH` (brackets or operations),
* with an integer exponent (numerator or denominator) beyond :data:`MAX_EXPONENT`,
  or a number result with a numerator or denominator over :data:`MAX_NUMBER_BITS`
  bits (so ``9**9**9**9`` is an error, not a hang), a fractional power of a
  number over :data:`MAX_ROOT_BITS` bits,
* with a literal of more than :data:`MAX_LITERAL_DIGITS` digits or a decimal
  exponent beyond :data:`MAX_DECIMAL_EXPONENT` (``1e-8`` is fine),
* with a derivative of total order over :data:`MAX_DIFF_ORDER`,
* with a ``max`` or ``min`` of more than :data:`MAX_ARGUMENTS` arguments (nested ones
  of the same kind counted together, as SymPy flattens them): SymPy compares the
  arguments pairwise, at a cost that grows faster than the square of their number,
* with a sum of numeric bounds that expands to more than :data:`MAX_SUM_TERMS` terms.
"""

from __future__ import annotations

MAX_LENGTH = 2000  # characters in one formula
MAX_DEPTH = 50  # nesting of operations
MAX_EXPONENT = 1000  # largest |integer| exponent, numerator or denominator
MAX_NUMBER_BITS = 4000  # largest numerator or denominator a formula may create (~1200 digits)
MAX_LITERAL_DIGITS = 60  # digits in one number literal
MAX_DECIMAL_EXPONENT = 300  # largest |e| in a literal like 1e-8
MAX_ROOT_BITS = 100  # largest base of a fractional power of a number
MAX_DIFF_ORDER = 6  # highest derivative order
MAX_SUM_TERMS = 1000  # longest sum with numeric bounds
MAX_ARGUMENTS = 16  # arguments of one max or min


class ParseError(ValueError):
    """A formula that cannot be read; ``position`` is the 0-based offset of the
    offending text in ``text``."""

    def __init__(self, message: str, position: int = 0, text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.position = max(0, position)
        self.text = text

    @property
    def column(self) -> int:
        """1-based column of the offending text."""
        return self.position + 1

    def located(self, text: str) -> ParseError:
        """The same error, attached to the text it points into."""
        return ParseError(self.message, self.position, text)

    def __str__(self) -> str:
        if not self.text:
            return f"{self.message} (column {self.column})"
        return f"{self.message} (column {self.column})\n  {self.text}\n  {' ' * self.position}^"
