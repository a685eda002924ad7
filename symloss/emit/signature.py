"""The kernel's signature: its positional array arguments and keyword-only hyper-parameters, each
with the validation call of the numerics module that checks it against the variable's domain."""

from __future__ import annotations

from dataclasses import dataclass

from symloss.declare.loss import Loss
from symloss.declare.notation import LABEL_DOMAINS, Domain, Var


@dataclass(frozen=True)
class Argument:
    """One argument of a kernel: its name, whether it is a class vector, and its check."""

    name: str
    vector: bool
    check: str  # a call of the numerics module that validates it, or "" for none
    labels: bool = False  # a one-hot/soft target that also takes integer class indices


@dataclass(frozen=True)
class Option:
    """A keyword-only hyper-parameter of a kernel (``unset``: what passing None means, "" if not allowed)."""

    name: str
    default: float | None
    check: str
    unset: str = ""


def argument_check(name: str, domain: Domain, *, output: bool) -> str:
    """The validation call for an array argument with ``domain`` ("" when any real is fine)."""
    if domain.values:
        values = ", ".join(str(v) for v in domain.values)
        return f"_check_in_set({name!r}, {name}, ({values},))"
    if domain.vector in ("simplex", "distribution", "onehot"):
        return f"_check_between({name!r}, {name}, 0.0, 1.0)"
    if domain.vector is not None or (domain.low is None and domain.high is None):
        return ""
    if output and domain.low == 0 and domain.high == 1:  # a probability: 0 and 1 allowed (infinite loss)
        return f"_check_between({name!r}, {name}, 0.0, 1.0)"
    return _interval_check(name, domain)


def _interval_check(name: str, domain: Domain) -> str:
    """The interval check of the variable ``name``."""
    low = "None" if domain.low is None else repr(float(domain.low))
    high = "None" if domain.high is None else repr(float(domain.high))
    return (f"_check_interval({name!r}, {name}, {low}, {high}, low_open={domain.low_open}, "
            f"high_open={domain.high_open}, integer={domain.integer})")


def arguments_of(loss: Loss) -> tuple[Argument, ...]:
    """The kernel's positional arguments: output, target, further inputs."""
    slots = ((loss.output, True), (loss.target, False), *((v, False) for v in loss.inputs))
    def takes_indices(v: Var) -> bool:
        return v.is_vector and v.domain.vector in LABEL_DOMAINS and v is loss.target

    # class labels are checked where they are read (``_class_labels``), as indices or as rows
    return tuple(Argument(v.name, v.is_vector, "" if takes_indices(v) else
                          argument_check(v.name, v.domain, output=is_output), labels=takes_indices(v))
                 for v, is_output in slots)


def options_of(loss: Loss) -> tuple[Option, ...]:
    """The kernel's keyword-only hyper-parameters with their defaults, checks (of the float64 number
    ``_as_number`` made of the value, which names a value that is no number, an array or NaN) and, for
    those that accept None, what None means."""
    return tuple(Option(v.name, v.default, _interval_check(v.name, v.domain)
                        if not v.domain.values else argument_check(v.name, v.domain, output=False),
                        _unset_text(v)) for v in loss.params)


def _unset_text(param: Var) -> str:
    """The docstring sentence saying what ``param=None`` means ("" when None is not accepted)."""
    if param.unset is None:
        return ""
    return f"``{param.name}=None``: {param.unset.meaning} (the formulas with {param.name} = {param.unset.value})."
