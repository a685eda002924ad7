"""The build's accuracy gate: which kernel functions are over their budget, and whether
that is exactly what a checked-in list of known over-budget functions says.

A function is over budget when its certificate fails (an error over the budget, an
inf/NaN where the truth is finite, a missed zero/subnormal/overflow) or when it could
not be certified at all (the certifier raised, or the reference never resolved): a
function nobody measured is never reported within budget.

The known list is a text file, one function a line: ``loss.function``, two spaces, and what was
measured as this module prints it (:meth:`OverBudget.stated`: the figure, then the worst point —
inputs, parameters, the rounded truth and the kernel's value there); ``#`` starts a comment.
:func:`known_list` writes it from a measurement (``--write-known-over-budget``), so nobody copies
it by hand.  A catalog folder may hold its own, ``over_budget.txt``, used when no other list is
given; entries of losses that were not built are not compared.  The gate fails when a function is
over budget and not listed, when a listed function is now within budget (the list only shrinks),
and when a listed line is not what was measured (the list always tells the truth).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from symloss.certify.certificate import FunctionCertificate, KernelCertificate


@dataclass(frozen=True)
class OverBudget:
    """One kernel function over its budget: its name, the measured figure, the worst point."""

    name: str  # "loss.function"
    figure: str
    worst: str = ""  # "worst at z=…, y=…: truth …, kernel …", or "" if no point was compared

    @property
    def stated(self) -> str:
        """What the known list states of this function: the figure, then its worst point."""
        return f"{self.figure}; {self.worst}" if self.worst else self.figure

    def line(self) -> str:
        """The known list's line for this function."""
        return f"{self.name}  {self.stated}"


NO_CORRECT_DIGIT_ULPS = 2.0**52  # an error this large leaves no correct significant digit


def _figure(function: FunctionCertificate) -> str:
    """The measured figure, e.g. "max 3.2 ulp (budget 4 ulp), 2 inf/NaN".  An error that leaves no
    correct digit (2^52 ulp or more, a relative error of 1 or more) is said so, not by its size: a
    sampled maximum beyond it is a lower bound of no use, while "no correct digit somewhere" is a
    fact no further sample can make false."""
    if function.budget_kind == "ulp":
        error = ("no correct digit (max ≥ 2^52 ulp)" if function.max_ulp >= NO_CORRECT_DIGIT_ULPS
                 else f"max {function.max_ulp:.3g} ulp")
    else:
        error = ("no correct digit (max rel. error ≥ 1)" if function.max_relative_error >= 1
                 else f"max rel. error {function.max_relative_error:.3g}")
    misses = [f"{function.nonfinite} inf/NaN"] if function.nonfinite else []
    misses += [f"{function.range_errors} range errors"] if function.range_errors else []
    return ", ".join([f"{error} (budget {function.budget:g} {function.budget_kind})", *misses])


def _worst(function: FunctionCertificate, names: Sequence[str]) -> str:
    """ "worst at z=…, y=…: truth …, kernel …" (:meth:`FunctionCertificate.worst_text`), or ""."""
    text = function.worst_text(names)
    return f"worst at {text}" if text else ""


def _one_line(reason: str) -> str:
    """A reason on one line of the known list: whitespace runs as one space, no ``#`` (a comment there)."""
    return " ".join(reason.replace("#", "").split())


def _short(loss: str, function: str) -> str:
    """``value``, ``grad``, ``hess``, ``value_and_grad[grad]``, ``value (one-hot rows)`` …: the kernel function
    without its loss's name (a label form other than the target's own kept in parentheses)."""
    short = function.removeprefix(loss).removeprefix("_")
    return f"value{short}" if not short or short.startswith(" (") else short


def over_budget(
    certificates: Mapping[str, KernelCertificate | None],
    failures: Mapping[str, str],
    arguments: Mapping[str, Sequence[str]],
) -> list[OverBudget]:
    """Every function over budget, sorted by name: failed certificates (``arguments`` names each
    loss's point coordinates, for the worst point) and losses the certifier could not certify."""
    found = [OverBudget(f"{loss}.*", f"not certified: {_one_line(reason)}") for loss, reason in failures.items()]
    for loss, certificate in certificates.items():
        if certificate is None:
            continue
        found += [OverBudget(f"{loss}.{_short(loss, f.function)}", _figure(f), _worst(f, arguments.get(loss, ())))
                  for f in certificate.functions if not f.passed]
    return sorted(found, key=lambda o: o.name)


def read_known(path: Path) -> dict[str, str]:
    """The known list: ``loss.function`` → what it states (:attr:`OverBudget.stated`); raises OSError/ValueError."""
    known: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, figure = line.partition("  ")
        if not name or " " in name.split(" (", 1)[0] or name in known:
            raise ValueError(f"{path}:{number}: expected one 'loss.function  figure' line per function")
        known[name] = figure.strip()
    return known


KNOWN_LIST = "over_budget.txt"  # a catalog folder's own known list, used when no other is given


def known_list(measured: Sequence[OverBudget], certificates: Mapping[str, KernelCertificate | None]) -> str:
    """The known list of ``measured`` (one :meth:`OverBudget.line` a function, sorted), under a comment
    saying what it is and how ``certificates`` sampled their points.  :func:`read_known` reads it back
    as exactly what was measured."""
    samplings = sorted({(c.sampling.random // len(c.sampling.paths), c.sampling.seed) for c in certificates.values()
                        if c is not None and c.sampling is not None})
    sampled = " or ".join(f"{random} seeded random points per code path (seed {seed})"
                          for random, seed in samplings) or "no points"
    header = (
        "# The kernel functions over their accuracy budget, as measured by symloss codegen/build",
        "# --write-known-over-budget on the stress grid of each loss plus",
        f"# {sampled} by binade over the whole domain of every input and parameter.",
        "# One function a line: loss.function, two spaces, the measured figure, then the worst point (inputs",
        "# and parameters), the rounded truth and the kernel's value there.  symloss codegen/build fail when a",
        "# function is over budget and not listed, when a listed one is within budget now, or when a listed",
        "# line is not what they measure.  Write it again with that option, never by hand.",
    )
    return "\n".join([*header, *(o.line() for o in sorted(measured, key=lambda o: o.name))]) + "\n"


def differences(measured: Sequence[OverBudget], known: Mapping[str, str], losses: Sequence[str]) -> list[str]:
    """Why the measured over-budget functions of ``losses`` (those built) are not the known list's
    entries for them (empty when they are): a line differs when its figure or its worst point does."""
    known = {name: figure for name, figure in known.items() if name.split(".", 1)[0] in losses}
    by_name = {o.name: o for o in measured}
    problems = [f"{o.name} is over budget and not in the known list ({o.stated})"
                for o in measured if o.name not in known]
    problems += [f"{name} is in the known list but within budget now: remove it" for name in known
                 if name not in by_name]
    problems += [f"{name}: the known list says {known[name]!r}, measured {by_name[name].stated!r}"
                 for name in known if name in by_name and known[name] != by_name[name].stated]
    return problems
