"""Audit a file of claims taken from a text: ``symloss audit FILE.toml``.

:func:`run_audit` does all the work for the command line and returns plain
data with an exit code.  This module reads the file and hands each claim to
its kind: :mod:`symloss.verify.audit_values` (value claims) or
:mod:`symloss.verify.audit_identities` (identity claims), their fields read by
:mod:`symloss.verify.audit_fields`; the rows, with their text and JSON, are
:mod:`symloss.verify.audit_outcomes`.

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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from symloss.declare.catalog import Catalog
from symloss.verify.audit_fields import ClaimError, OutOfRange, bad, text_field
from symloss.verify.audit_identities import IdentityEntry, identity_entry
from symloss.verify.audit_outcomes import AuditResult, ClaimOutcome
from symloss.verify.audit_values import ValueEntry, expr_entry, loss_entry, read_stated


class AuditFileError(ValueError):
    """An audit file that cannot be read at all (no claim of it is judged)."""


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
                raise bad(name, "id", "used twice")
            seen.add(name)
            entries.append(_entry(name, table, catalog))
        except ClaimError as error:
            entries.append(_MalformedEntry(name, table, str(error)))
    return entries


def _toml_float(text: str) -> float | OutOfRange:
    """A TOML float literal as a float; :class:`OutOfRange` when the float would not be the number written
    (``inf`` and ``nan`` are written as such)."""
    value = float(text)
    if (math.isinf(value) and text.lstrip("+-") != "inf") or (value == 0 and Decimal(text) != 0):
        return OutOfRange(text)
    return value


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _entry(ident: str, table: Mapping[str, object], catalog: Catalog) -> _Entry:
    source = text_field(ident, table, "source")
    kind = table.get("kind")
    if kind == "identity":
        allowed = _IDENTITY
    elif kind == "value":
        allowed = _VALUE_LOSS if "loss" in table else _VALUE_EXPR
    else:
        raise bad(ident, "kind", f"must be 'value' or 'identity', not {reprlib.repr(kind)}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise bad(ident, unknown[0], f"not a field of a {kind} claim (fields: {', '.join(sorted(allowed))})")
    if kind == "identity":
        return identity_entry(ident, source, table, catalog)
    stated, digits = read_stated(ident, table)
    if "loss" in table:
        return loss_entry(ident, source, table, catalog, stated, digits)
    return expr_entry(ident, source, table, catalog, stated, digits)


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


_Entry = IdentityEntry | ValueEntry | _MalformedEntry
