"""The value claims of an audit: a catalog loss or an expression at a point, against the
number a text printed.

The value is computed at :data:`DIGITS` digits from the exact inputs (more when 50
do not reach the last stated place, up to :data:`MAX_PRECISION`), reduced over the
samples, and compared with the stated number after rounding both, exactly and half
away from zero, to the stated decimal places.  Integer class labels of a one-hot or
soft class-vector target stand for their one-hot rows (y_j = δ_jc).
"""

from __future__ import annotations

import math
import reprlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import sympy as sp

from symloss.declare.catalog import Catalog
from symloss.declare.loss import Loss
from symloss.declare.notation import LABEL_DOMAINS
from symloss.prove.numeric import class_counts, evaluate
from symloss.verify.audit_fields import OutOfRange, bad, flag_field, text_field
from symloss.verify.audit_outcomes import ClaimOutcome
from symloss.verify.claim import evaluate_derivatives
from symloss.verify.parse import ParseError, parse

DIGITS = 50  # working precision of value claims
MAX_DIGITS = 30  # most decimal places a value claim may state
MAX_PRECISION = 400  # most significant digits a value is computed with (a 64-bit float to 30 places)
REDUCTIONS = ("mean", "sum", "none")


def read_stated(ident: str, table: Mapping[str, object]) -> tuple[Fraction | str | list[Fraction | str], int]:
    """The stated value(s), exact, and the decimal places printed."""
    digits = table.get("digits")
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= MAX_DIGITS:
        raise bad(ident, "digits", f"must be a whole number of decimal places, 0..{MAX_DIGITS}")
    stated = table.get("stated")
    if isinstance(stated, list):
        if not stated:
            raise bad(ident, "stated", "an empty list")
        return [_stated_number(ident, v) for v in stated], digits
    return _stated_number(ident, stated), digits


def _stated_number(ident: str, value: object) -> Fraction | str:
    """A stated value: an exact finite number, or "inf" / "-inf" (also TOML's inf, -inf) where the text
    printed infinity."""
    if value in ("inf", "-inf"):
        return str(value)
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, str) or (isinstance(value, float) and math.isnan(value)):
        raise bad(ident, "stated", f"must be a number, \"inf\" or \"-inf\" (a list of them for reduction "
                                    f"'none'), not {reprlib.repr(value)}")
    return _finite(ident, "stated", value)


def _finite(ident: str, field_name: str, value: object) -> Fraction:
    """A TOML number as written, exactly; raises ClaimError for anything else (nan, inf, a float
    literal out of the 64-bit range, a truth value, a string, a table)."""
    if isinstance(value, bool):
        raise bad(ident, field_name, "a truth value is not a number")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float) and math.isfinite(value):
        return Fraction(repr(value))
    if isinstance(value, float):
        raise bad(ident, field_name, f"must be a finite number, not {reprlib.repr(value)}")
    if isinstance(value, OutOfRange):
        raise bad(ident, field_name, f"{value.text} is out of the range of a 64-bit float")
    raise bad(ident, field_name, f"expected a number, got {reprlib.repr(value)}")


def _number(ident: str, field_name: str, value: object) -> object:
    """An exact input value: a finite TOML number as written, or a constant formula ("log(99)")
    whose value is a finite real number."""
    if not isinstance(value, str):
        return _finite(ident, field_name, value)
    try:
        expr = parse(value).expr
    except ParseError as error:
        raise bad(ident, field_name, str(error)) from None
    if expr.free_symbols:
        raise bad(ident, field_name, f"{reprlib.repr(value)} is not a constant")
    try:
        number = evaluate(expr, {}, digits=DIGITS)
    except (ArithmeticError, ValueError, TypeError, MemoryError, RecursionError) as error:
        raise bad(ident, field_name, f"{reprlib.repr(value)} cannot be evaluated ({type(error).__name__})") from None
    if not (isinstance(number, mpmath.mpf) and mpmath.isfinite(number)):
        raise bad(ident, field_name, f"{reprlib.repr(value)} is not a finite real number")
    return expr


def loss_entry(
    ident: str, source: str, table: Mapping[str, object], catalog: Catalog, stated: object, digits: int
) -> ValueEntry:
    name = text_field(ident, table, "loss")
    if name not in catalog.names:
        raise bad(ident, "loss", f"no loss named {name!r} in the catalog")
    loss = catalog.get(name)
    samples = _loss_samples(ident, loss, table.get("inputs"))
    fixed = _loss_params(ident, loss, table.get("params", {}))
    reduction = table.get("reduction", "mean")
    if reduction not in REDUCTIONS:
        raise bad(ident, "reduction", f"must be one of {', '.join(REDUCTIONS)}")
    if (reduction == "none") != isinstance(stated, list) and len(samples) > 1:
        raise bad(ident, "stated", "a list of values goes with reduction 'none', one value otherwise")
    if isinstance(stated, list) and len(stated) != len(samples):
        raise bad(ident, "stated", f"{len(stated)} values for {len(samples)} samples")
    points = [{**sample, **fixed} for sample in samples]
    return ValueEntry(ident, source, loss.formula, tuple(points), str(reduction), stated, digits)


def _loss_samples(ident: str, loss: Loss, inputs: object) -> list[dict[sp.Basic, object]]:
    """The points of the loss's inputs, one per sample (an argument with one sample is shared
    by all); integer class labels of the target made one-hot rows (see the module docstring)."""
    slots = (loss.output, loss.target, *loss.inputs)
    if not isinstance(inputs, list) or len(inputs) != len(slots):
        raise bad(ident, "inputs", f"{loss.name} takes {len(slots)} inputs ({', '.join(v.name for v in slots)})")
    labels = _labels(ident, inputs[1], inputs[0]) if _takes_labels(loss) else None
    columns = [
        labels if labels is not None and v is loss.target else _samples(ident, v.is_vector, value)
        for v, value in zip(slots, inputs, strict=True)
    ]
    counts = {len(c) for c in columns if len(c) > 1}
    if len(counts) > 1:
        raise bad(ident, "inputs", f"arguments with different numbers of samples {sorted(counts)}")
    size = counts.pop() if counts else 1
    samples = [
        {v.symbol: column[n if len(column) > 1 else 0] for v, column in zip(slots, columns, strict=True)}
        for n in range(size)
    ]
    for sample in samples:
        classes = _class_count(ident, sample)
        if labels is not None:
            sample[loss.target.symbol] = _one_hot(ident, sample[loss.target.symbol], classes)
    return samples


def _takes_labels(loss: Loss) -> bool:
    """Whether the loss's target takes integer class labels (in the kernels as here): a one-hot or
    soft class vector."""
    return loss.target.is_vector and loss.target.domain.vector in LABEL_DOMAINS


def _labels(ident: str, value: object, output: object) -> list[int] | None:
    """The target as integer class labels, when written as such: a number, or a flat list of one
    number per sample of an output given as a list of samples; None when it is class vectors."""
    if not isinstance(value, list):
        return [_label(ident, value)]
    samples = isinstance(output, list) and all(isinstance(o, list) for o in output)
    if samples and len(value) == len(output) and not any(isinstance(v, list) for v in value):
        return [_label(ident, v) for v in value]
    return None


def _label(ident: str, value: object) -> int:
    """An integer class label: a TOML integer, or a float with an integer value (as the kernels take)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise bad(ident, "inputs", f"a class label is an integer class index, not {reprlib.repr(value)}")


def _class_count(ident: str, sample: Mapping[sp.Basic, object]) -> int | None:
    """The one length K of the class vectors of a sample (None without one)."""
    lengths = {len(v) for v in sample.values() if isinstance(v, tuple)}
    if len(lengths) > 1:
        raise bad(ident, "inputs", f"class vectors of different lengths {sorted(lengths)}")
    return lengths.pop() if lengths else None


def _one_hot(ident: str, label: object, classes: int | None) -> tuple[Fraction, ...]:
    """The one-hot row (y_j = δ_jc, j = 0..K-1) of the class label c."""
    if classes is None:
        raise bad(ident, "inputs", "a class label needs a class vector for the number of classes")
    if not isinstance(label, int) or not 0 <= label < classes:
        raise bad(ident, "inputs", f"class label {label!r} is out of range 0..{classes - 1} ({classes} classes)")
    return tuple(Fraction(int(j == label)) for j in range(classes))


def _loss_params(ident: str, loss: Loss, params: object) -> dict[sp.Basic, object]:
    """The value of every parameter of the loss: as given, else its declared default."""
    if not isinstance(params, dict):
        raise bad(ident, "params", "must be a table of parameter values")
    known = {v.name: v for v in loss.params}
    for key in params:
        if key not in known:
            raise bad(ident, "params", f"{loss.name} has no parameter {key!r} (has: {', '.join(known) or 'none'})")
    defaults = {v.name: v.default for v in loss.params if v.default is not None}
    missing = [v.name for v in loss.params
               if v.name not in params and v.name not in defaults and v.symbol in loss.formula.free_symbols]
    if missing:
        raise bad(ident, "params", f"no value for {', '.join(missing)} (and no declared default)")
    return {known[key].symbol: _number(ident, "params", value) for key, value in {**defaults, **params}.items()}


def _samples(ident: str, is_vector: bool, value: object) -> list[object]:
    """The values of one argument, one per sample."""
    if is_vector:
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            return [tuple(_number(ident, "inputs", x) for x in v) for v in value]
        if isinstance(value, list) and value:
            return [tuple(_number(ident, "inputs", x) for x in value)]
        raise bad(ident, "inputs", "a vector argument takes a list of numbers (or a list of such lists)")
    if isinstance(value, list):
        if not value:
            raise bad(ident, "inputs", "an empty list of samples")
        return [_number(ident, "inputs", x) for x in value]
    return [_number(ident, "inputs", value)]


def expr_entry(
    ident: str, source: str, table: Mapping[str, object], catalog: Catalog, stated: object, digits: int
) -> ValueEntry:
    text = text_field(ident, table, "expr")
    if isinstance(stated, list):
        raise bad(ident, "stated", "an expression claim states one value")
    try:
        formula = parse(text, catalog=catalog, latex=flag_field(ident, table, "latex"))
    except ParseError as error:
        raise bad(ident, "expr", str(error)) from None
    at = table.get("at", {})
    if not isinstance(at, dict):
        raise bad(ident, "at", "must be a table of values")
    point: dict[sp.Basic, object] = {}
    by_name = {v.name: v for v in formula.scope.variables}
    for key, value in at.items():
        if key not in by_name:
            raise bad(ident, "at", f"{key!r} does not occur in the expression")
        v = by_name[key]
        point[v.symbol] = _samples(ident, True, value)[0] if v.is_vector else _number(ident, "at", value)
    expr = evaluate_derivatives(formula.expr)
    inferred = class_counts(expr) if any(isinstance(s, sp.IndexedBase) for s in point) else set()
    missing = [v.name for v in formula.scope.variables if v.symbol not in point and v.symbol not in inferred]
    if missing:
        raise bad(ident, "at", f"no value for {', '.join(missing)}")
    return ValueEntry(ident, source, expr, (point,), "mean", stated, digits)


@dataclass(frozen=True)
class ValueEntry:
    ident: str
    source: str
    expr: sp.Expr
    points: tuple[Mapping[sp.Basic, object], ...]
    reduction: str
    stated: object
    digits: int

    def judge(self) -> ClaimOutcome:
        stated_text = _show_stated(self.stated, self.digits)
        started = time.perf_counter()
        try:
            values = self._values(DIGITS)
            precision = _precision(values, self.digits)
            if precision > MAX_PRECISION:
                size = mpmath.nstr(mpmath.log10(max(abs(v) for v in values)), 5)
                return self._unknown(stated_text, f"the value (about 10^{size}) has too many digits to round to "
                                                  f"{self.digits} decimal places")
            if precision > DIGITS:
                values = self._values(precision)
        except _NoValueError as error:
            return self._unknown(stated_text, str(error))
        if self.reduction == "none":
            computed = [_rounded(v, self.digits, precision) for v in values]
            stated = self.stated if isinstance(self.stated, list) else [self.stated]
            agrees = computed == [_rounded_stated(s, self.digits) for s in stated]
            computed_text = "[" + ", ".join(computed) + "]"
        else:
            with mpmath.workdps(max(precision, DIGITS)):
                total = mpmath.fsum(values)
                value = total / len(values) if self.reduction == "mean" else total
            if mpmath.isnan(value):
                return self._unknown(stated_text, f"the {self.reduction} of the samples is undefined (inf - inf)")
            computed_text = _rounded(value, self.digits, precision)
            agrees = computed_text == _rounded_stated(self.stated, self.digits)
        seconds = time.perf_counter() - started
        message = (f"{len(values)} sample(s), reduction {self.reduction}, {max(precision, DIGITS)} digits, "
                   f"{seconds:.2f} s")
        verdict = "correct" if agrees else "wrong"
        if not agrees:
            message = f"the text printed {stated_text}; the value is {computed_text}"
        return ClaimOutcome(self.ident, self.source, "value", verdict, stated_text, computed_text, None, message)

    def _values(self, digits: int) -> list[mpmath.mpf]:
        """The real value at each point, with ``digits`` significant digits; raises :class:`_NoValueError`."""
        try:
            values = [evaluate(self.expr, point, digits=digits) for point in self.points]
        except (ValueError, ZeroDivisionError, TypeError, KeyError, ArithmeticError) as error:
            raise _NoValueError(f"cannot evaluate: {error}") from None
        except (MemoryError, RecursionError) as error:  # e.g. exp(exp(exp(30))): beyond reach, not undefined
            raise _NoValueError(f"cannot evaluate: {type(error).__name__}") from None
        if any(isinstance(v, mpmath.mpc) or mpmath.isnan(v) for v in values):
            raise _NoValueError("the expression is undefined or complex here")
        return values

    def _unknown(self, stated_text: str, message: str) -> ClaimOutcome:
        return ClaimOutcome(self.ident, self.source, "value", "unknown", stated_text, None, None, message)


class _NoValueError(ArithmeticError):
    """A value claim's expression has no real value here, or none within reach."""


def _precision(values: Sequence[mpmath.mpf], digits: int) -> int:
    """Significant digits that reach the last of ``digits`` decimal places of each value
    and of their sum: 10 guard digits past the place, counted from the largest magnitude."""
    magnitudes = [int(mpmath.mag(v) * math.log10(2)) + 1 for v in values if mpmath.isfinite(v) and v]
    return max(magnitudes, default=0) + len(str(len(values))) + digits + 10


def _places(scaled: int, digits: int) -> str:
    """The decimal text of scaled / 10^digits ("0.000", "-1.250"; never "-0")."""
    sign = "-" if scaled < 0 else ""
    text = str(abs(scaled)).rjust(digits + 1, "0")
    return sign + (f"{text[:-digits]}.{text[-digits:]}" if digits else text)


def _rounded(value: mpmath.mpf, digits: int, precision: int) -> str:
    """``value`` to ``digits`` decimal places, half away from zero ("inf" for infinity), where
    ``precision`` significant digits reach the last place (see :func:`_precision`)."""
    if mpmath.isinf(value):
        return "inf" if value > 0 else "-inf"
    with mpmath.workdps(max(precision, DIGITS) + 10):
        scaled = int(mpmath.floor(abs(value) * mpmath.mpf(10) ** digits + mpmath.mpf(1) / 2))
    return _places(-scaled if value < 0 else scaled, digits)


def _rounded_stated(stated: Fraction | str, digits: int) -> str:
    """A stated number (exact) to ``digits`` decimal places, half away from zero; "inf" and "-inf" as they are."""
    if isinstance(stated, str):
        return stated
    scaled = math.floor(abs(stated) * 10**digits + Fraction(1, 2))
    return _places(-scaled if stated < 0 else scaled, digits)


def _show_stated(stated: object, digits: int) -> str:
    if isinstance(stated, list):
        return "[" + ", ".join(_rounded_stated(s, digits) for s in stated) + "]"
    return _rounded_stated(stated, digits)
