"""The report's inputs: what one chapter shows (:class:`LossReport`) and the plots it draws.

Plain frozen data, computed by the earlier stages in the same build; the views
(:mod:`symloss.report.views`) and the templates only read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from symloss.declare.loss import Loss
from symloss.derive.chain import Derivation
from symloss.prove.examples import Reproduction
from symloss.prove.results import ClaimResult
from symloss.stabilize.regimes import PrimitiveRegimes, Regimes

if TYPE_CHECKING:
    from symloss.certify.certificate import FunctionCertificate
    from symloss.certify.stress_grid import Sampling


@dataclass(frozen=True)
class StableForm:
    """One generated function after the stability rewrites: its expression, the rules that made it and
    the regimes of its Piecewise (the definition's and the rules') and those inside the helpers of its primitives."""

    function: str  # e.g. "bce_grad"
    expr: sp.Expr
    rules: tuple[str, ...]  # names of the rewrite rules applied, in order
    regimes: tuple[Regimes, ...] = ()
    primitives: tuple[PrimitiveRegimes, ...] = ()


@dataclass(frozen=True)
class Curve:
    """One sampled curve of a plot; ``label`` is plain text, or LaTeX math when ``math`` is set."""

    label: str
    points: tuple[tuple[float, float], ...]
    math: bool = False


@dataclass(frozen=True)
class Plot:
    """A plot: axis labels are LaTeX math (from declared names), the title plain text."""

    title: str
    xlabel: str
    ylabel: str
    curves: tuple[Curve, ...]
    note: str = ""  # LaTeX math: the values of the inputs and parameters held fixed
    source: str = "the generated kernels"  # plain text: what the curves were sampled from
    at: str = ""  # LaTeX math: the label value the curves are drawn at, e.g. "y = 1"


@dataclass(frozen=True)
class Comparison:
    """A figure comparing several losses on one axis (named by a declaration or by the caller)."""

    title: str
    losses: tuple[str, ...]


@dataclass(frozen=True)
class LossReport:
    """Everything one chapter shows, all computed in the same build."""

    derivation: Derivation
    claims: tuple[ClaimResult, ...]
    reproductions: tuple[Reproduction, ...] = ()
    stable: tuple[StableForm, ...] = ()
    certificates: tuple[FunctionCertificate, ...] = ()
    plots: tuple[Plot, ...] = ()
    sampling: Sampling | None = None  # how the certificates sampled their points

    @property
    def loss(self) -> Loss:
        return self.derivation.loss
