"""Audit a file of claims taken from a text: ``symloss audit FILE.toml``.

:func:`run_audit` does all the work for the command line and returns plain
data with an exit code.

An audit file lists claims as TOML tables::

    [[claim]]
    id = "churn-cost"                 # unique
    source = "Classification Loss Functions, Computing BCE"
    kind = "value"                    # or "identity"
    loss = "bce"                      # a catalog loss ...
    inputs = [[0.541, 0.823], [0, 1]] # positional: model output first; a list per argument for several samples
    params = {}                       # the loss's parameters by name (one left out takes its declared default)
    reduction = "mean"                # "mean" | "sum" | "none" (then stated is a list)
    stated = 0.439                    # the number the text printed (or "inf")
    digits = 3                        # decimal places it printed

    # ... or any expression at a point:  expr = "diff(bce_with_logits(z, y), z)", at = {z = "log(99)", y = 0}

    [[claim]]
    id = "bce-sigmoid-gradient"
    source = "16-04 — Loss Functions, section 3"
    kind = "identity"
    lhs = "diff(bce_with_logits(z, y), z)"
    rhs = "sigmoid(z) - y"
    assume = ["y in {0, 1}"]          # optional; latex = true reads lhs/rhs as LaTeX

A value is computed at 50 digits from the declared expression (never a
float kernel; more digits when the value is so large that 50 do not reach the
last stated place, up to 400, beyond which the verdict is unknown) and
compared with the stated number after rounding both, exactly and half away
from zero, to the stated digits; an identity goes to the prover.  An
identity's ``budget`` (seconds, default 20, at most 600) covers reading it
and proving it, as ``verify``'s timeout does: one slow to read is unknown.

Numbers are read exactly as written.  An input, a parameter or a stated value
must be a finite number (nan, inf, and a float literal beyond a 64-bit float
such as 1e400 or 1e-400 are errors); a formula given as an input ("log(99)",
"10^300") must have a finite real value.  Only a stated value may be infinite,
written "inf" or "-inf" (or TOML's inf, -inf) where the text printed infinity.

In a ``loss`` claim, the target of a loss whose label is a one-hot or soft
class vector over K classes (``cross_entropy``, ``softmax_cross_entropy``,
...) may also be given as integer class labels, as the generated kernels take
them: an integer c in 0..K-1 stands for the one-hot row y_j = δ_jc.  A single
number is one label; when the output is a list of N samples (a list of
lists), a flat list of N numbers is one label per sample (the kernels' rule:
labels have the output's shape without its class axis), and any other flat
list is one class vector.  So ``inputs = [[[0.1, 0.7, 0.2]], [1]]`` and
``inputs = [[0.1, 0.7, 0.2], [0, 1, 0]]`` state the same claim.

A claim that cannot be read (a missing or ill-typed field, a number as above,
an unknown loss or parameter, a parameter without a default left out, an id
used before, a class label out of range) is one row with verdict ``error`` and
a message naming the claim id and the field; every other claim is still
judged.  Exit codes: 2 when the file itself cannot be read (unreadable, not
TOML, nested too deep, no ``[[claim]]`` tables, an unknown top-level key),
with a one-line message; else 1 if any claim is wrong, else 2 if any claim
is an error, else 0 (an unknown verdict does not fail the audit).
"""

from __future__ import annotations

import math
import reprlib
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import partial
from pathlib import Path

import mpmath
import sympy as sp

from symloss.declare.catalog import Catalog
from symloss.declare.loss import Claim, Loss
from symloss.declare.notation import LABEL_DOMAINS
from symloss.prove.numeric import class_counts, evaluate
from symloss.prove.prover import prove
from symloss.prove.verdict import Verdict
from symloss.report.tables import format_table
from symloss.verify.claim import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_WRONG,
    evaluate_derivatives,
    parse_identity,
    read_within,
)
from symloss.verify.parse import ParseError, parse

DIGITS = 50  # working precision of value claims
DEFAULT_BUDGET = 20.0  # seconds per identity claim of an audit
MAX_DIGITS = 30  # most decimal places a value claim may state
MAX_PRECISION = 400  # most significant digits a value is computed with (a 64-bit float to 30 places)
REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- audit


class AuditFileError(ValueError):
    """An audit file that cannot be read at all (no claim of it is judged)."""


class ClaimError(ValueError):
    """A malformed claim; the message names the claim id and the field.  The claim becomes
    a row with verdict ``error``; the other claims are still judged."""


VERDICTS = ("correct", "wrong", "unknown", "error")


@dataclass(frozen=True)
class ClaimOutcome:
    """The verdict on one claim of an audit file."""

    id: str
    source: str
    kind: str
    verdict: str  # one of VERDICTS
    stated: str
    computed: str | None = None
    counterexample: Mapping[str, str] | None = None
    message: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "verdict": self.verdict,
            "stated": self.stated,
            "computed": self.computed,
            "counterexample": dict(self.counterexample) if self.counterexample else None,
            "message": self.message,
        }


@dataclass(frozen=True)
class AuditResult:
    """The outcome of ``symloss audit``: one row per claim, or why the file cannot be read."""

    path: str
    outcomes: tuple[ClaimOutcome, ...] = ()
    error: str = ""

    @property
    def exit_code(self) -> int:
        """2 for a file that cannot be read; else 1 if any claim is wrong, else 2 if any claim
        is malformed (a row with verdict ``error``), else 0.  An unknown verdict does not fail."""
        if self.error:
            return EXIT_BAD_INPUT
        verdicts = {o.verdict for o in self.outcomes}
        return EXIT_WRONG if "wrong" in verdicts else EXIT_BAD_INPUT if "error" in verdicts else EXIT_OK

    def to_text(self) -> str:
        if self.error:
            return f"symloss audit: {self.path}: {self.error}"
        rows = [(o.id, o.kind, o.verdict, _clipped(o.stated), _clipped(o.computed or ""), _note(o))
                for o in self.outcomes]
        table = format_table(["id", "kind", "verdict", "stated", "computed", "note"], rows)
        tally = {v: sum(o.verdict == v for o in self.outcomes) for v in VERDICTS}
        summary = ", ".join(f"{n} {v}" for v, n in tally.items())
        return f"{table}\n\n{len(self.outcomes)} claims: {summary}"

    def to_json(self) -> list[dict[str, object]] | dict[str, object]:
        """A list of {"id", "verdict", "stated", "computed", "counterexample",
        "message"} (a malformed claim: "verdict": "error" and the reason in
        "message"); {"error": ...} for a file that cannot be read."""
        if self.error:
            return {"error": self.error}
        return [o.to_json() for o in self.outcomes]


def _clipped(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _note(outcome: ClaimOutcome) -> str:
    if outcome.counterexample:
        return "counterexample: " + ", ".join(f"{k} = {v}" for k, v in outcome.counterexample.items())
    return outcome.message


def run_audit(path: Path | str, catalog: Catalog) -> AuditResult:
    """Check every claim of an audit file (see the module docstring)."""
    try:
        entries = load_audit(path, catalog)
    except AuditFileError as error:
        return AuditResult(str(path), error=str(error))
    return AuditResult(str(path), tuple(entry.judge() for entry in entries))


# -- reading the file

_COMMON = {"id", "source", "kind"}
_VALUE_LOSS = _COMMON | {"loss", "inputs", "params", "reduction", "stated", "digits"}
_VALUE_EXPR = _COMMON | {"expr", "at", "latex", "stated", "digits"}
_IDENTITY = _COMMON | {"lhs", "rhs", "assume", "latex", "budget"}
_KINDS = ("value", "identity")


def load_audit(path: Path | str, catalog: Catalog) -> list[_Entry]:
    """The claims of an audit file, checked and parsed, a malformed one as a
    :class:`_MalformedEntry`; raises AuditFileError if the file cannot be read."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"), parse_float=_toml_float)
    except OSError as error:
        raise AuditFileError(f"cannot read the file: {error.strerror or error}") from None
    except RecursionError:
        raise AuditFileError("not valid TOML: nesting too deep") from None
    except (tomllib.TOMLDecodeError, ValueError) as error:  # ValueError: bad UTF-8, an integer of 4300+ digits
        raise AuditFileError(f"not valid TOML: {_one_line(error)}") from None
    extra = sorted(set(data) - {"claim", "title"})
    if extra:
        raise AuditFileError(f"unknown top-level key {extra[0]!r} (expected [[claim]] tables)")
    tables = data.get("claim")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise AuditFileError("no [[claim]] tables")
    entries: list[_Entry] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        ident = table.get("id")
        name = ident if isinstance(ident, str) and ident.strip() else f"#{number}"
        try:
            if name != ident:
                raise ClaimError(f"claim {name}: field 'id': missing or not a non-empty string")
            if name in seen:
                raise _bad(name, "id", "used twice")
            seen.add(name)
            entries.append(_entry(name, table, catalog))
        except ClaimError as error:
            entries.append(_MalformedEntry(name, table, str(error)))
    return entries


@dataclass(frozen=True)
class _OutOfRange:
    """A TOML float literal beyond a 64-bit float: 1e400 (overflows to inf), 1e-400 (underflows to 0)."""

    text: str


def _toml_float(text: str) -> float | _OutOfRange:
    """A TOML float literal as a float; :class:`_OutOfRange` when the float would not be the number written
    (``inf`` and ``nan`` are written as such)."""
    value = float(text)
    if (math.isinf(value) and text.lstrip("+-") != "inf") or (value == 0 and Decimal(text) != 0):
        return _OutOfRange(text)
    return value


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _bad(ident: str, field_name: str, problem: str) -> ClaimError:
    return ClaimError(f"claim {ident!r}: field {field_name!r}: {problem}")


def _entry(ident: str, table: Mapping[str, object], catalog: Catalog) -> _Entry:
    source = _text(ident, table, "source")
    kind = table.get("kind")
    if kind == "identity":
        allowed = _IDENTITY
    elif kind == "value":
        allowed = _VALUE_LOSS if "loss" in table else _VALUE_EXPR
    else:
        raise _bad(ident, "kind", f"must be 'value' or 'identity', not {reprlib.repr(kind)}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _bad(ident, unknown[0], f"not a field of a {kind} claim (fields: {', '.join(sorted(allowed))})")
    if kind == "identity":
        return _identity_entry(ident, source, table, catalog)
    stated, digits = _stated(ident, table)
    if "loss" in table:
        return _loss_entry(ident, source, table, catalog, stated, digits)
    return _expr_entry(ident, source, table, catalog, stated, digits)


def _text(ident: str, table: Mapping[str, object], name: str) -> str:
    value = table.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _bad(ident, name, "missing or not a non-empty string")
    return value


def _flag(ident: str, table: Mapping[str, object], name: str) -> bool:
    value = table.get(name, False)
    if not isinstance(value, bool):
        raise _bad(ident, name, "must be true or false")
    return value


def _identity_entry(ident: str, source: str, table: Mapping[str, object], catalog: Catalog) -> _Entry:
    lhs, rhs = _text(ident, table, "lhs"), _text(ident, table, "rhs")
    assume = table.get("assume", [])
    if not isinstance(assume, list) or not all(isinstance(a, str) for a in assume):
        raise _bad(ident, "assume", "must be a list of strings")
    budget = table.get("budget", DEFAULT_BUDGET)
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not 0 < budget <= 600:
        raise _bad(ident, "budget", "must be a number of seconds in (0, 600]")
    reading = partial(_read_identity, ident, lhs, rhs, assume, _flag(ident, table, "latex"), catalog)
    read, seconds = read_within(reading, budget)  # the budget covers reading and proving, as in verify
    if isinstance(read, ClaimError):
        raise read
    return _IdentityEntry(ident, source, f"{lhs} = {rhs}", read, budget - seconds)


def _read_identity(ident: str, lhs: str, rhs: str, assume: list[str], latex: bool, catalog: Catalog
                   ) -> Claim | ClaimError:
    """The identity ``lhs = rhs`` under ``assume``, or the error naming the field at fault (run in the
    budgeted child of :func:`~symloss.verify.claim.read_within`)."""
    try:
        return parse_identity(lhs, rhs, assume, latex=latex, catalog=catalog).claim
    except ParseError as error:
        name = "assume" if error.text in assume else "lhs" if error.text == lhs else "rhs"
        return _bad(ident, name, str(error))


def _stated(ident: str, table: Mapping[str, object]) -> tuple[Fraction | str | list[Fraction | str], int]:
    """The stated value(s), exact, and the decimal places printed."""
    digits = table.get("digits")
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= MAX_DIGITS:
        raise _bad(ident, "digits", f"must be a whole number of decimal places, 0..{MAX_DIGITS}")
    stated = table.get("stated")
    if isinstance(stated, list):
        if not stated:
            raise _bad(ident, "stated", "an empty list")
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
        raise _bad(ident, "stated", f"must be a number, \"inf\" or \"-inf\" (a list of them for reduction "
                                    f"'none'), not {reprlib.repr(value)}")
    return _finite(ident, "stated", value)


def _finite(ident: str, field_name: str, value: object) -> Fraction:
    """A TOML number as written, exactly; raises ClaimError for anything else (nan, inf, a float
    literal out of the 64-bit range, a truth value, a string, a table)."""
    if isinstance(value, bool):
        raise _bad(ident, field_name, "a truth value is not a number")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float) and math.isfinite(value):
        return Fraction(repr(value))
    if isinstance(value, float):
        raise _bad(ident, field_name, f"must be a finite number, not {reprlib.repr(value)}")
    if isinstance(value, _OutOfRange):
        raise _bad(ident, field_name, f"{value.text} is out of the range of a 64-bit float")
    raise _bad(ident, field_name, f"expected a number, got {reprlib.repr(value)}")


def _number(ident: str, field_name: str, value: object) -> object:
    """An exact input value: a finite TOML number as written, or a constant formula ("log(99)")
    whose value is a finite real number."""
    if not isinstance(value, str):
        return _finite(ident, field_name, value)
    try:
        expr = parse(value).expr
    except ParseError as error:
        raise _bad(ident, field_name, str(error)) from None
    if expr.free_symbols:
        raise _bad(ident, field_name, f"{reprlib.repr(value)} is not a constant")
    try:
        number = evaluate(expr, {}, digits=DIGITS)
    except (ArithmeticError, ValueError, TypeError, MemoryError, RecursionError) as error:
        raise _bad(ident, field_name, f"{reprlib.repr(value)} cannot be evaluated ({type(error).__name__})") from None
    if not (isinstance(number, mpmath.mpf) and mpmath.isfinite(number)):
        raise _bad(ident, field_name, f"{reprlib.repr(value)} is not a finite real number")
    return expr


def _loss_entry(
    ident: str, source: str, table: Mapping[str, object], catalog: Catalog, stated: object, digits: int
) -> _Entry:
    name = _text(ident, table, "loss")
    if name not in catalog.names:
        raise _bad(ident, "loss", f"no loss named {name!r} in the catalog")
    loss = catalog.get(name)
    samples = _loss_samples(ident, loss, table.get("inputs"))
    fixed = _loss_params(ident, loss, table.get("params", {}))
    reduction = table.get("reduction", "mean")
    if reduction not in REDUCTIONS:
        raise _bad(ident, "reduction", f"must be one of {', '.join(REDUCTIONS)}")
    if (reduction == "none") != isinstance(stated, list) and len(samples) > 1:
        raise _bad(ident, "stated", "a list of values goes with reduction 'none', one value otherwise")
    if isinstance(stated, list) and len(stated) != len(samples):
        raise _bad(ident, "stated", f"{len(stated)} values for {len(samples)} samples")
    points = [{**sample, **fixed} for sample in samples]
    return _ValueEntry(ident, source, loss.formula, tuple(points), str(reduction), stated, digits)


def _loss_samples(ident: str, loss: Loss, inputs: object) -> list[dict[sp.Basic, object]]:
    """The points of the loss's inputs, one per sample (an argument with one sample is shared
    by all); integer class labels of the target made one-hot rows (see the module docstring)."""
    slots = (loss.output, loss.target, *loss.inputs)
    if not isinstance(inputs, list) or len(inputs) != len(slots):
        raise _bad(ident, "inputs", f"{loss.name} takes {len(slots)} inputs ({', '.join(v.name for v in slots)})")
    labels = _labels(ident, inputs[1], inputs[0]) if _takes_labels(loss) else None
    columns = [
        labels if labels is not None and v is loss.target else _samples(ident, v.is_vector, value)
        for v, value in zip(slots, inputs, strict=True)
    ]
    counts = {len(c) for c in columns if len(c) > 1}
    if len(counts) > 1:
        raise _bad(ident, "inputs", f"arguments with different numbers of samples {sorted(counts)}")
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
    raise _bad(ident, "inputs", f"a class label is an integer class index, not {reprlib.repr(value)}")


def _class_count(ident: str, sample: Mapping[sp.Basic, object]) -> int | None:
    """The one length K of the class vectors of a sample (None without one)."""
    lengths = {len(v) for v in sample.values() if isinstance(v, tuple)}
    if len(lengths) > 1:
        raise _bad(ident, "inputs", f"class vectors of different lengths {sorted(lengths)}")
    return lengths.pop() if lengths else None


def _one_hot(ident: str, label: object, classes: int | None) -> tuple[Fraction, ...]:
    """The one-hot row (y_j = δ_jc, j = 0..K-1) of the class label c."""
    if classes is None:
        raise _bad(ident, "inputs", "a class label needs a class vector for the number of classes")
    if not isinstance(label, int) or not 0 <= label < classes:
        raise _bad(ident, "inputs", f"class label {label!r} is out of range 0..{classes - 1} ({classes} classes)")
    return tuple(Fraction(int(j == label)) for j in range(classes))


def _loss_params(ident: str, loss: Loss, params: object) -> dict[sp.Basic, object]:
    """The value of every parameter of the loss: as given, else its declared default."""
    if not isinstance(params, dict):
        raise _bad(ident, "params", "must be a table of parameter values")
    known = {v.name: v for v in loss.params}
    for key in params:
        if key not in known:
            raise _bad(ident, "params", f"{loss.name} has no parameter {key!r} (has: {', '.join(known) or 'none'})")
    defaults = {v.name: v.default for v in loss.params if v.default is not None}
    missing = [v.name for v in loss.params
               if v.name not in params and v.name not in defaults and v.symbol in loss.formula.free_symbols]
    if missing:
        raise _bad(ident, "params", f"no value for {', '.join(missing)} (and no declared default)")
    return {known[key].symbol: _number(ident, "params", value) for key, value in {**defaults, **params}.items()}


def _samples(ident: str, is_vector: bool, value: object) -> list[object]:
    """The values of one argument, one per sample."""
    if is_vector:
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            return [tuple(_number(ident, "inputs", x) for x in v) for v in value]
        if isinstance(value, list) and value:
            return [tuple(_number(ident, "inputs", x) for x in value)]
        raise _bad(ident, "inputs", "a vector argument takes a list of numbers (or a list of such lists)")
    if isinstance(value, list):
        if not value:
            raise _bad(ident, "inputs", "an empty list of samples")
        return [_number(ident, "inputs", x) for x in value]
    return [_number(ident, "inputs", value)]


def _expr_entry(
    ident: str, source: str, table: Mapping[str, object], catalog: Catalog, stated: object, digits: int
) -> _Entry:
    text = _text(ident, table, "expr")
    if isinstance(stated, list):
        raise _bad(ident, "stated", "an expression claim states one value")
    try:
        formula = parse(text, catalog=catalog, latex=_flag(ident, table, "latex"))
    except ParseError as error:
        raise _bad(ident, "expr", str(error)) from None
    at = table.get("at", {})
    if not isinstance(at, dict):
        raise _bad(ident, "at", "must be a table of values")
    point: dict[sp.Basic, object] = {}
    by_name = {v.name: v for v in formula.scope.variables}
    for key, value in at.items():
        if key not in by_name:
            raise _bad(ident, "at", f"{key!r} does not occur in the expression")
        v = by_name[key]
        point[v.symbol] = _samples(ident, True, value)[0] if v.is_vector else _number(ident, "at", value)
    expr = evaluate_derivatives(formula.expr)
    inferred = class_counts(expr) if any(isinstance(s, sp.IndexedBase) for s in point) else set()
    missing = [v.name for v in formula.scope.variables if v.symbol not in point and v.symbol not in inferred]
    if missing:
        raise _bad(ident, "at", f"no value for {', '.join(missing)}")
    return _ValueEntry(ident, source, expr, (point,), "mean", stated, digits)


# -- judging


@dataclass(frozen=True)
class _IdentityEntry:
    ident: str
    source: str
    statement: str
    claim: Claim | Verdict  # the verdict unknown when reading the claim took the whole budget
    budget: float  # seconds left for the proof

    def judge(self) -> ClaimOutcome:
        verdict = self.claim if isinstance(self.claim, Verdict) else prove(self.claim, budget=self.budget)
        outcome = {"proved": "correct", "refuted": "wrong"}.get(verdict.status, "unknown")
        message = f"{verdict.status} by {verdict.method} in {verdict.seconds:.2f} s"
        if verdict.detail:
            message += f"; {verdict.detail}"
        return ClaimOutcome(
            self.ident, self.source, "identity", outcome, self.statement, None, verdict.counterexample, message
        )


@dataclass(frozen=True)
class _ValueEntry:
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


@dataclass(frozen=True)
class _MalformedEntry:
    """A claim that could not be read: judged ``error``, with the reason."""

    ident: str
    table: Mapping[str, object]
    message: str

    def judge(self) -> ClaimOutcome:
        source, kind = self.table.get("source"), self.table.get("kind")
        return ClaimOutcome(self.ident, source if isinstance(source, str) else "", kind if kind in _KINDS else "",
                            "error", "", None, None, self.message)


_Entry = _IdentityEntry | _ValueEntry | _MalformedEntry
