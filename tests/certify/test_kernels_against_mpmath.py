r"""An independent hypothesis test of every generated kernel against its declared expressions in mpmath.

Hypothesis draws each loss's inputs *and* parameters over their whole declared domain (``Var.domain``):
floats over every binade, subnormals and both signs where the domain allows them, near the finite ends
of an interval (p → 1⁺, p → 2⁻), counts up to 2^53, an option that accepts ``None`` sometimes ``None``;
class vectors of 2 … 10 entries (logits at one scale 2^-20 … 2^20 or entry by entry, one-hot labels,
soft labels that sum to exactly 1).  Every kernel function — ``NAME``, ``NAME_grad``, ``NAME_hess`` and
both parts of ``NAME_value_and_grad``, called with ``reduction="none"`` and the parameters as keyword
arguments, the labels in every form the target accepts — is compared with the declared
``loss.formula``, ``derivation.gradient`` and ``derivation.hessian`` evaluated in plain mpmath at 50
digits and trusted only when a finer precision agrees (:mod:`tests.mpmath_truth`, independent of the
certifier's interval reference).  Points on a kink are not compared; a point whose truth no precision
resolves is rejected (``hypothesis.reject``; ``--hypothesis-show-statistics`` counts them).

The kernels are held to what their certificates say: a function not in its catalog's known over-budget
list (``derivations/over_budget.txt``, ``examples/over_budget.txt``) to its budget
(:func:`symloss.certify.comparison.budget_of`: 4 ulp elementwise, 1e-13 relative normwise over a class
vector; no inf/NaN where the truth is finite; no missed zero/subnormal/overflowing truth); a listed
function to its listed worst error, and to inf/NaN or range errors only if its line counts them.  The
metric is the certifier's (:func:`symloss.certify.comparison.compare`); the truth is not.

Kernels: the bundled catalog's checked-in ``generated/symloss_kernels``, and the examples catalog's,
generated once per session into a temporary folder without certification.
"""

from __future__ import annotations

import math
import re
import struct
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, Phase, event, given, reject, settings
from hypothesis import strategies as st
from mpmath_truth import Entry, Evaluator, Resolved, resolve, to_float

from symloss import load_catalog
from symloss.certify.certificate import LABEL_FORMS
from symloss.certify.comparison import Tally, budget_of, compare
from symloss.certify.gate import read_known
from symloss.certify.reference import Truth
from symloss.declare.loss import Loss
from symloss.declare.notation import Domain
from symloss.derive.chain import Derivation, derive
from symloss.emit.codegen import load_generated
from symloss.pipeline import build_kernels, write_kernels

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"bundled": None, "examples": ROOT / "examples"}
KNOWN_LISTS = {"bundled": ROOT / "derivations" / "over_budget.txt", "examples": ROOT / "examples" / "over_budget.txt"}
GENERATED = ROOT / "generated" / "symloss_kernels"
EXAMPLES = 30  # hypothesis examples per loss: the file runs in about 1.5-2 minutes on the (loaded) 2-core machine
PHASES = (Phase.explicit, Phase.generate)  # no shrinking: a failing point is reported as drawn, in seconds
FUNCTIONS = {"value": "value", "grad": "grad", "hess": "hess",
             "value_and_grad[value]": "value", "value_and_grad[grad]": "grad"}
LARGEST = float(np.finfo(np.float64).max)
LOGIT_SCALE = (2.0**-20, 2.0**20)
ONE_HOT_FORM = " (one-hot rows)"
INDEX_FORM = " (integer labels)"

Point = tuple[object, ...]


# --------------------------------------------------------------------------- the catalogs and their kernels


@cache
def catalog_loss(kind: str, name: str) -> Loss:
    return load_catalog(FOLDERS[kind]).get(name)


@cache
def derivation(kind: str, name: str) -> Derivation:
    """The derivation a generated kernel is built from (cached for the session)."""
    return derive(catalog_loss(kind, name), budget=20.0)


def _cases() -> list[tuple[str, str]]:
    bundled = [("bundled", n) for n in load_catalog().names if (GENERATED / f"{n}.py").is_file()]
    return bundled + [("examples", n) for n in load_catalog(FOLDERS["examples"]).names]


@pytest.fixture(scope="session")
def example_kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples catalog's kernels, generated (not certified) into a temporary package."""
    folder = tmp_path_factory.mktemp("examples") / "kernels"
    names = load_catalog(FOLDERS["examples"]).names
    write_kernels(build_kernels([derivation("examples", n) for n in names], certify=False), folder)
    return folder


@dataclass(frozen=True)
class Subject:
    """A loss, its derivation, its kernel module and the known over-budget list it is held to."""

    loss: Loss
    derivation: Derivation
    module: ModuleType
    known: Mapping[str, str]


def subject(kind: str, name: str, module: ModuleType) -> Subject:
    return Subject(catalog_loss(kind, name), derivation(kind, name), module, read_known(KNOWN_LISTS[kind]))


# --------------------------------------------------------------------------- strategies over the declared domains


def _ordinal(magnitude: float) -> int:
    return struct.unpack("<q", struct.pack("<d", magnitude))[0]


def _from_ordinal(ordinal: int) -> float:
    return struct.unpack("<d", struct.pack("<q", ordinal))[0]


# the binades of positive float64 ordinals: 52 subnormal ones, then one per normal exponent (exclusive ends)
_BINADES = [(2**j, 2 ** (j + 1)) for j in range(52)] + [(e * 2**52, (e + 1) * 2**52) for e in range(1, 2047)]


def magnitudes(low: float, high: float) -> st.SearchStrategy[float]:
    """A float in [low, high] (0 ≤ low ≤ high < inf): every binade meeting the range (and 0, when in it)
    equally likely, uniform over the binade's floats in the range."""
    lo, hi = _ordinal(low), _ordinal(high)
    strata = [(max(a, lo), min(b, hi + 1)) for a, b in _BINADES if max(a, lo) < min(b, hi + 1)]
    by_binade = st.sampled_from(strata).flatmap(lambda s: st.integers(s[0], s[1] - 1)).map(_from_ordinal)
    return st.one_of(st.just(0.0), by_binade) if lo == 0 else by_binade


def by_binade(low: float, high: float) -> st.SearchStrategy[float]:
    """A float in [low, high] by :func:`magnitudes`, each sign the range allows."""
    parts = []
    if high >= 0.0:
        parts.append(magnitudes(max(low, 0.0), high))
    if low < 0.0:
        parts.append(magnitudes(max(-high, 0.0), -low).map(lambda m: -m))
    return st.one_of(parts)


def _bounds(domain: Domain) -> tuple[float, float]:
    low = -LARGEST if domain.low is None else float(domain.low)
    return low, LARGEST if domain.high is None else float(domain.high)


def near_ends(domain: Domain) -> list[st.SearchStrategy[float]]:
    """For each finite nonzero end, a point at a binade-drawn distance inside it (p → 1⁺, p → 2⁻, q → 1⁻)."""
    low, high = _bounds(domain)
    reach = (high - low) / 2 if math.isfinite(high - low) else None
    ends = []
    for end, inward in ((low, 1.0), (high, -1.0)):
        if end == 0.0 or abs(end) == LARGEST:
            continue
        distances = magnitudes(0.0, reach if reach is not None else max(abs(end), 1.0))
        ends.append(distances.map(lambda d, end=end, inward=inward: end + inward * d))
    return ends


def scalars(domain: Domain) -> st.SearchStrategy[float]:
    """A float of a scalar domain, over the whole of it (see the module docstring)."""
    if domain.values:
        return st.sampled_from([float(v) for v in domain.values])
    low, high = _bounds(domain)
    if domain.integer:
        counts = magnitudes(max(low, 1.0), min(high, 2.0**53)).map(math.floor).map(float)
        return st.one_of(st.just(0.0), counts).filter(domain.contains)
    hypothesis_floats = st.floats(min_value=low, max_value=high, exclude_min=domain.low is not None and domain.low_open,
                                  exclude_max=domain.high is not None and domain.high_open)
    return st.one_of(hypothesis_floats, by_binade(low, high), *near_ends(domain)).filter(domain.contains)


@st.composite
def dyadic_simplex(draw: st.DrawFn, size: int, cls: int, *, positive: bool) -> tuple[float, ...]:
    """Soft labels that sum to exactly 1: multiples of 2^-t (t ≤ 52), each entry but the class ``cls``'s
    drawn by binade, that one taking the rest (so it is at least 1/2)."""
    total = 2 ** draw(st.integers(size + 1, 52))
    weights = [draw(magnitudes(float(positive), float(total // (2 * size))).map(int)) for _ in range(size)]
    weights[cls] = total - (sum(weights) - weights[cls])
    return tuple(w / total for w in weights)


def class_vector(kind: str, size: int, cls: int, scale: float) -> st.SearchStrategy[tuple[float, ...]]:
    """A class vector of the domain ``kind`` ("onehot", "distribution", "simplex", "real")."""
    one_hot = st.just(tuple(float(k == cls) for k in range(size)))
    if kind == "onehot":
        return one_hot
    if kind == "distribution":
        return st.one_of(one_hot, dyadic_simplex(size, cls, positive=False))
    if kind == "simplex":
        return dyadic_simplex(size, cls, positive=True)
    scaled = st.lists(st.floats(-8.0, 8.0), min_size=size, max_size=size).map(lambda u: tuple(scale * x for x in u))
    entrywise = st.lists(by_binade(-LOGIT_SCALE[1], LOGIT_SCALE[1]), min_size=size, max_size=size).map(tuple)
    return st.one_of(scaled, entrywise)


def parameters(loss: Loss) -> st.SearchStrategy[tuple[float | None, ...]]:
    """Every hyper-parameter over its domain; one that accepts None sometimes None."""
    return st.tuples(*(st.one_of(st.none(), scalars(p.domain)) if p.unset is not None else scalars(p.domain)
                       for p in loss.params))


@st.composite
def points(draw: st.DrawFn, loss: Loss) -> Point:
    """A point (output, target, *inputs, *params) of the loss's declared domain."""
    variables = (loss.output, loss.target, *loss.inputs)
    if not loss.output.is_vector:
        values = [draw(scalars(v.domain)) for v in variables]
    else:
        size = draw(st.integers(2, 10))
        cls = draw(st.integers(0, size - 1))
        scale = draw(magnitudes(*LOGIT_SCALE))
        values = [draw(class_vector(v.domain.vector, size, cls, scale)) if v.is_vector else draw(scalars(v.domain))
                  for v in variables]
    return (*values, *draw(parameters(loss)))


# --------------------------------------------------------------------------- the truth


@cache
def _evaluator(kind_of: tuple[str, str], function: str, size: int | None) -> Evaluator:
    """The plain-mpmath evaluator of a declared expression at ``size`` classes."""
    loss = catalog_loss(*kind_of)
    expressions = {"value": loss.formula, "grad": derivation(*kind_of).gradient, "hess": derivation(*kind_of).hessian}
    expr = expressions[function]
    if loss.classes is not None and size is not None:
        expr = expr.xreplace({loss.classes.symbol: sp.Integer(size)})
    return Evaluator(expr, [loss.index.symbol] if loss.index is not None else [])


def _environment(loss: Loss, point: Point) -> dict[sp.Basic, object]:
    """The point's exact values at the current precision (a class vector as a list); an option given as
    None takes the value it declares for None."""
    env: dict[sp.Basic, object] = {}
    unset = []
    for variable, value in zip((loss.output, loss.target, *loss.inputs, *loss.params), point, strict=True):
        if value is None:
            unset.append(variable)
        else:
            env[variable.symbol] = [mpmath.mpf(x) for x in value] if isinstance(value, tuple) else mpmath.mpf(value)
    for variable in unset:
        env[variable.symbol] = Evaluator(variable.unset.value, []).value(env, {}).value
    return env


def _flat(point: Point) -> list[float]:
    return [x for v in point if v is not None for x in (v if isinstance(v, tuple) else (v,))]


def truth(key: tuple[str, str], loss: Loss, function: str, point: Point) -> Resolved:
    """The trusted value of every entry of ``function`` at ``point`` (see :mod:`mpmath_truth`)."""
    size = len(point[0]) if loss.output.is_vector else None
    evaluator = _evaluator(key, function, size)
    entries = range(1, size + 1) if size is not None and function != "value" else [None]

    def values() -> list[Entry]:
        env = _environment(loss, point)
        index = loss.index.symbol if loss.index is not None else None
        return [evaluator.value(env, {} if i is None else {index: i}) for i in entries]

    return resolve(values, _flat(point))


# --------------------------------------------------------------------------- what the certificates say


@dataclass(frozen=True)
class Allowance:
    """What a function's certificate lets it do: its worst error in its budget's metric, and whether it
    may return inf/NaN where the truth is finite, or miss a zero/subnormal/overflowing truth."""

    metric: float
    nonfinite: bool = False
    range_errors: bool = False


def allowance(loss: Loss, known: Mapping[str, str], function: str) -> Allowance | None:
    """The function's allowance: its budget, or the known list's figure ("max X ulp …", "max rel. error X …",
    X read as printed to 3 digits, so X·1.005 bounds it; "no correct digit …": any error); None when its
    loss could not be certified."""
    if f"{loss.name}.*" in known:
        return None
    figure = known.get(f"{loss.name}.{function}")
    if figure is None:
        return Allowance(budget_of(loss)[1])
    if figure.startswith("no correct digit"):  # somewhere: a larger error found is no contradiction
        return Allowance(math.inf, "inf/NaN" in figure, "range errors" in figure)
    match = re.match(r"max (?:rel\. error )?(\S+) ", figure)
    if match is None:
        raise ValueError(f"cannot read the known figure {figure!r} of {loss.name}.{function}")
    return Allowance(float(match[1]) * 1.005, "inf/NaN" in figure, "range errors" in figure)


def label_forms(loss: Loss, point: Point) -> list[tuple[str, str]]:
    """(form, suffix of the function's name): "rows" and, for a target that accepts them and a one-hot
    label, "indices"; the suffix names a form that is not the target's own, as the certificates do."""
    forms = LABEL_FORMS.get(loss.target.domain.vector or "", ("rows",))
    one_hot = loss.target.is_vector and sorted(point[1]) == [0.0] * (len(point[1]) - 1) + [1.0]
    suffix = {"rows": ONE_HOT_FORM, "indices": INDEX_FORM}
    return [(form, "" if form == forms[0] else suffix[form]) for form in forms if form == "rows" or one_hot]


def call_kernel(loss: Loss, module: ModuleType, point: Point, form: str) -> dict[str, np.ndarray]:
    """Every kernel function at the point, one row, ``reduction="none"``, parameters as keyword arguments."""
    n_args = 2 + len(loss.inputs)
    args = []
    for variable, value in zip((loss.output, loss.target, *loss.inputs), point, strict=False):
        if variable is loss.target and variable.is_vector and form == "indices":
            args.append(np.array([int(np.argmax(value))], dtype=np.int64))
        else:
            args.append(np.array([value], dtype=np.float64))
    kwargs = {p.name: v for p, v in zip(loss.params, point[n_args:], strict=True)}
    name = loss.name
    with np.errstate(all="ignore"):
        fused_value, fused_grad = getattr(module, f"{name}_value_and_grad")(*args, reduction="none", **kwargs)
        out = {"value": getattr(module, name)(*args, reduction="none", **kwargs),
               "grad": getattr(module, f"{name}_grad")(*args, reduction="none", **kwargs),
               "hess": getattr(module, f"{name}_hess")(*args, reduction="none", **kwargs),
               "value_and_grad[value]": fused_value, "value_and_grad[grad]": fused_grad}
    return {k: np.asarray(v, dtype=np.float64)[0] for k, v in out.items()}


def violations(subject: Subject, key: tuple[str, str], point: Point) -> list[str] | None:
    """Every function of the kernel that is worse at ``point`` than its certificate says, described with the
    point, the truth and the kernel's value; None when some truth is unresolved (the point is rejected)."""
    loss = subject.loss
    truths = {f: truth(key, loss, f, point) for f in ("value", "grad", "hess")}
    if any(t.values is None and not t.kink for t in truths.values()):
        return None
    kind, budget = budget_of(loss)
    names = [v.name for v in (loss.output, loss.target, *loss.inputs, *loss.params)]
    at = ", ".join(f"{n}={v!r}" for n, v in zip(names, point, strict=True))
    found = []
    for form, suffix in label_forms(loss, point):
        try:
            outputs = call_kernel(loss, subject.module, point, form)
        except Exception as error:  # an exception at a point of the domain is a failure like a wrong value
            found.append(f"{loss.name}{suffix}: raised {type(error).__name__}: {error} at {at}")
            continue
        for function, source in FUNCTIONS.items():
            resolved, name = truths[source], f"{function}{suffix}"
            allowed = allowance(loss, subject.known, name)
            if resolved.kink or allowed is None:
                continue
            tally = Tally()
            rounded = tuple(to_float(v) for v in resolved.values)
            compare(tally, outputs[function], Truth(resolved.values, rounded, kink=False), point, kind, budget)
            metric = tally.max_ulp if kind == "ulp" else tally.max_relative
            problems = [f"{metric:.3g} {'ulp' if kind == 'ulp' else 'relative'}"] if metric > allowed.metric else []
            problems += [f"{tally.nonfinite} inf/NaN"] if tally.nonfinite and not allowed.nonfinite else []
            problems += [f"{tally.range_errors} range errors"] if tally.range_errors and not allowed.range_errors \
                else []
            if problems:
                computed, true = np.ravel(outputs[function]).tolist(), [mpmath.nstr(v, 20) for v in resolved.values]
                found.append(f"{loss.name}.{name}: {', '.join(problems)} (allowed {allowed}) at {at}: truth "
                             f"{true} (float {list(rounded)}), kernel {computed}")
    return found


def hold_to_certificate(subject: Subject, key: tuple[str, str], examples: int = EXAMPLES) -> Counter[str]:
    """Run the property: at every drawn point, no function of the kernel is worse than its certificate.
    Returns how many points were compared and how many rejected (their truth unresolved)."""
    counts: Counter[str] = Counter()

    @settings(derandomize=True, database=None, deadline=None, max_examples=examples, phases=PHASES,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(point=points(subject.loss))
    def check(point: Point) -> None:
        found = violations(subject, key, point)
        counts["rejected" if found is None else "compared"] += 1
        if found is None:
            event("rejected: truth unresolved")
            reject()
        assert not found, "\n".join(found)

    check()
    return counts


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize(("kind", "name"), _cases(), ids=[f"{k}-{n}" for k, n in _cases()])
def test_kernel_within_its_certificate(kind: str, name: str, example_kernels: Path) -> None:
    """Every function of the loss's kernel is within what its certificate (and the known list) says."""
    module = load_generated(GENERATED if kind == "bundled" else example_kernels, name)
    counts = hold_to_certificate(subject(kind, name, module), (kind, name))
    print(f"{kind}-{name}: {counts['compared']} points compared, {counts['rejected']} rejected (truth unresolved)")
    assert counts["rejected"] <= counts["compared"], "most points rejected: the test says little about this kernel"


def _altered(module: ModuleType, name: str, changes: Mapping[str, Callable[..., np.ndarray]]) -> ModuleType:
    """A copy of a kernel module's functions with some replaced (the fused one rebuilt from the parts)."""
    altered = ModuleType(f"altered_{name}")
    for suffix in ("", "_grad", "_hess"):
        setattr(altered, name + suffix, changes.get(suffix, getattr(module, name + suffix)))

    def value_and_grad(*args: np.ndarray, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        return getattr(altered, name)(*args, **kwargs), getattr(altered, f"{name}_grad")(*args, **kwargs)

    setattr(altered, f"{name}_value_and_grad", value_and_grad)
    return altered


def _off_by_8_ulp(function: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def wrong(*args: np.ndarray, **kwargs: object) -> np.ndarray:
        result = function(*args, **kwargs)
        return result + 8 * np.spacing(result)

    return wrong


def _naive_softplus_value(z: np.ndarray, y: np.ndarray, reduction: str = "none", pos_weight: float = 1.0) -> np.ndarray:
    """w·y·log(1 + e^−z) + (1 − y)·log(1 + e^z), computed as written: 0 instead of e^−40 at z = 40."""
    return pos_weight * y * np.log(1 + np.exp(-z)) + (1 - y) * np.log(1 + np.exp(z))


@pytest.mark.parametrize(("name", "suffix", "wrong", "point"), [
    ("mse", "_grad", _off_by_8_ulp, (0.75, 1.0)),
    ("bce_with_logits", "", lambda _: _naive_softplus_value, (40.0, 1.0, 1.0)),
], ids=["mse-grad-off-by-8-ulp", "bce_with_logits-naive-softplus"])
def test_a_wrong_kernel_is_caught(
    name: str, suffix: str, wrong: Callable[..., Callable[..., np.ndarray]], point: Point
) -> None:
    """The same check fails a kernel whose function is deliberately wrong: at a point where the real kernel
    passes, and in the hypothesis run."""
    module = load_generated(GENERATED, name)
    altered = _altered(module, name, {suffix: wrong(getattr(module, name + suffix))})
    key = ("bundled", name)
    assert violations(subject(*key, module), key, point) == []
    assert violations(subject(*key, altered), key, point)
    with pytest.raises(AssertionError, match=rf"{name}\.(grad|value)"):
        hold_to_certificate(subject(*key, altered), key, examples=50)
