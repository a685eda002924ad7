"""The fields of an audit claim read from its TOML table: a malformed claim's error
(:class:`ClaimError`, naming the claim id and the field), strings, flags, and
:class:`OutOfRange` for a float literal beyond a 64-bit float."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class ClaimError(ValueError):
    """A malformed claim; the message names the claim id and the field.  The claim becomes
    a row with verdict ``error``; the other claims are still judged."""


def bad(ident: str, field_name: str, problem: str) -> ClaimError:
    return ClaimError(f"claim {ident!r}: field {field_name!r}: {problem}")


def text_field(ident: str, table: Mapping[str, object], name: str) -> str:
    value = table.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad(ident, name, "missing or not a non-empty string")
    return value


def flag_field(ident: str, table: Mapping[str, object], name: str) -> bool:
    value = table.get(name, False)
    if not isinstance(value, bool):
        raise bad(ident, name, "must be true or false")
    return value


@dataclass(frozen=True)
class OutOfRange:
    """A TOML float literal beyond a 64-bit float: 1e400 (overflows to inf), 1e-400 (underflows to 0)."""

    text: str
