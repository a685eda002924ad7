"""The stress grid: the deterministic points a kernel is certified at.

Every point is an argument tuple (output, target, *inputs, *params) drawn from the declared
domains: for an elementwise loss, each variable's stress values (0, 1e-300 … 1e300 with both signs,
the ends of a bounded interval and points 1e-16 inside them, counts) crossed with representative
hyper-parameters; for a class-vector loss, class counts 2, 3, 10 and 1000 at logit scales 1 … 1e4,
the target's logit random, largest or smallest, soft labels that are multiples of 2^-20 (so they
sum to exactly 1), and −inf masks for softmax-based losses.  Then :data:`DENSE_POINTS` seeded
random points over the whole declared domain of every input *and* every hyper-parameter, sampled
the way Herbie samples (every binade equally likely, both signs, subnormals; :func:`sample_scalar`)
and, on an interval with a nonzero finite end, also by their distance to it (p → 1⁺, p → 2⁻); some
draws are the domain's special values (0, ±2^-1074, ±the largest float, the ends), some points have
one input near another (a residual ŷ − y at every scale down to 0), some class vectors exact zeros.
:class:`Sampling` is what a certificate says about them.  A point is also given as JSON-able data
here, for certificates and messages.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symloss.declare.loss import Loss
from symloss.declare.notation import Domain, Var

REAL_STRESS = (0.0, 1e-300, 1e-8, 0.5, 1.0, 3.0, 20.0, 40.0, 100.0, 710.0, 745.0, 1e4, 1e300)
UNIT_STRESS = (1e-300, 1e-16, 1e-8, 0.25, 0.5, 0.75, 1 - 1e-8, 1 - 1e-16)
COUNT_STRESS = (0.0, 1.0, 2.0, 3.0, 10.0, 100.0, 1e4)
SHORT_MAGNITUDES = (1e-8, 0.5, 1.0, 1e4)  # further inputs take these, to keep the grid small
CLASS_COUNTS = (2, 3, 10)
LARGE_CLASS_COUNT = 1000
LOGIT_SCALES = (1.0, 100.0, 1e4)
FULL_PARAM_GRID = 4
DYADIC_TOTAL = 2**20  # soft labels are multiples of 2^-20, so they sum to exactly 1
DENSE_POINTS = 4096  # seeded random points per loss, on top of the deterministic grid
UNSET_SHARE = 1 / 8  # share of random points with an optional hyper-parameter switched off
NEAR_END_SHARE = 1 / 2  # share of a bounded-away-from-0 domain's points drawn by their distance to an end
MAX_COUNT = 2.0**53  # counts are sampled up to here (every integer below is a float64)
SCALE_DOMAIN = Domain("logit scale", 2.0**-1074, 2.0**1020, low_open=False, high_open=False)  # entries stay finite
SPECIAL_SHARE = 1 / 8  # share of an interval's draws that are one of its special values
COINCIDENT_SHARE = 1 / 4  # share of random points with one scalar input near another
ZERO_ENTRIES_SHARE = 1 / 8  # share of random class vectors with some entries set to 0
LARGEST = float(np.finfo(np.float64).max)
SMALLEST = float(np.finfo(np.float64).smallest_subnormal)

Point = tuple[object, ...]


def is_class_vector(loss: Loss) -> bool:
    """Whether the loss's output is a class vector (so its budget is relative, normwise)."""
    return loss.output.is_vector


def is_softmax_based(loss: Loss) -> bool:
    r"""Whether the formula holds :math:`e^{f(z_k)} / \sum_j e^{g(z_j)}` of the output vector:
    an exp of an output entry times a negative power of a sum of exps."""
    if not loss.output.is_vector:
        return False
    base = loss.output.symbol

    def exp_of_output(e: sp.Basic) -> bool:
        return isinstance(e, sp.exp) and any(x.base == base for x in e.atoms(sp.Indexed))

    def over_sum_of_exps(e: sp.Basic) -> bool:
        return (isinstance(e, sp.Pow) and e.exp.is_negative and isinstance(e.base, sp.Sum)
                and exp_of_output(e.base.function))

    return any(
        isinstance(node, sp.Mul) and any(map(exp_of_output, node.args)) and any(map(over_sum_of_exps, node.args))
        for node in sp.preorder_traversal(loss.formula)
    )


def _signed(values: Iterable[float]) -> tuple[float, ...]:
    """Each value with both signs (−0.0 included)."""
    return tuple(v for x in values for v in (x, -x))


def scalar_stress(domain: Domain) -> tuple[float, ...]:
    """The stress values of a scalar domain: each value of a finite set; counts; the unit
    interval's 1e-300 … 1−1e-16 scaled to a bounded interval; ±0, ±1e-300 … ±1e300 otherwise
    (those inside the domain)."""
    if domain.values:
        return tuple(float(v) for v in domain.values)
    if domain.integer:
        return tuple(v for v in COUNT_STRESS if domain.contains(v))
    if domain.low is not None and domain.high is not None:
        low, high = float(domain.low), float(domain.high)
        inner = tuple(low + (high - low) * u for u in UNIT_STRESS)
        return (*((low,) if not domain.low_open else ()), *inner, *((high,) if not domain.high_open else ()))
    return tuple(v for v in _signed(REAL_STRESS) if domain.contains(v))


def param_values(domain: Domain) -> tuple[float, ...]:
    """A few representative values of a hyper-parameter's domain: a finite set's values;
    the closed ends and the quarter point of an interval; low + 0.5 and low + 2 (and the
    closed low itself, else low + 1) of a half-line."""
    if domain.values:
        return tuple(float(v) for v in domain.values)
    low = None if domain.low is None else float(domain.low)
    high = None if domain.high is None else float(domain.high)
    if low is not None and high is not None:
        ends = ((low,) if not domain.low_open else ()), ((high,) if not domain.high_open else ())
        return (*ends[0], low + (high - low) / 4, *ends[1])
    if low is not None:
        return (low if not domain.low_open else low + 1, low + 0.5, low + 2)
    if high is not None:
        return (high if not domain.high_open else high - 1, high - 0.5, high - 2)
    return (-1.0, 0.5, 2.0)


def _short(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(v for v in values if abs(v) in SHORT_MAGNITUDES) or tuple(values)


def _param_grid(loss: Loss) -> list[tuple[float | None, ...]]:
    """Every combination of :func:`param_values` (and None for an option that accepts it) when there
    are at most :data:`FULL_PARAM_GRID`; else each parameter over its values with the others at their
    middle value (the middle combination first)."""
    values = [param_values(p.domain) for p in loss.params]
    columns = [(*v, None) if p.unset is not None else v for p, v in zip(loss.params, values, strict=True)]
    full = list(itertools.product(*columns))
    if len(full) <= FULL_PARAM_GRID:
        return full
    middle = tuple(v[len(v) // 2] for v in values)
    varied = [(*middle[:n], v, *middle[n + 1:]) for n, c in enumerate(columns) for v in c]
    return list(dict.fromkeys([middle, *varied]))


def stress_points(loss: Loss, *, seed: int = 0, dense: int = DENSE_POINTS) -> list[Point]:
    """The deterministic stress grid of ``loss``: argument tuples (output, target, *inputs,
    *params), class vectors as tuples of floats (one-hot targets as 0.0/1.0 vectors).

    Elementwise losses: the output over :func:`scalar_stress` of its domain, crossed with
    the target's values, the further inputs' (shortened) values and every combination of
    :func:`param_values`.  Class-vector losses: K in 2, 3, 10 with logit scales 1, 100,
    1e4 and target classes first and last, the target's logit random, largest and smallest;
    soft and extreme labels; two points at K = 1000; masks (a −inf logit off the target)
    for softmax-based losses.  Then ``dense`` (default :data:`DENSE_POINTS`) seeded random points over
    the whole domain of every input and parameter (:func:`_random_point`) for each code path of the
    kernel (:func:`code_paths`).
    """
    rng = np.random.default_rng(seed)
    grid = _vector_grid(loss, rng) if is_class_vector(loss) else _scalar_grid(loss)
    return grid + [_random_point(loss, rng, path) for path in code_paths(loss) for _ in range(dense)]


@dataclass(frozen=True)
class CodePath:
    """A way through a kernel that random points must reach as often as the general one: labels
    given as class indices (one-hot targets), or an option switched off (given as None)."""

    name: str
    one_hot: bool = False
    unset: str | None = None


def code_paths(loss: Loss) -> tuple[CodePath, ...]:
    """The general path; for a target that takes soft labels and class indices both, one-hot labels
    (the kernel's programs for indices); for each option a kernel accepts as None, that option off."""
    paths = [CodePath("general")]
    if loss.target.is_vector and loss.target.domain.vector == "distribution":
        paths.append(CodePath("integer labels", one_hot=True))
    paths += [CodePath(f"{p.name}=None", unset=p.name) for p in loss.params if p.unset is not None]
    return tuple(paths)


def _scalar_grid(loss: Loss) -> list[Point]:
    columns = [scalar_stress(loss.output.domain), scalar_stress(loss.target.domain)]
    columns += [_short(scalar_stress(v.domain)) for v in loss.inputs]
    return [(*args, *params) for params in _param_grid(loss) for args in itertools.product(*columns)]


def _vector_grid(loss: Loss, rng: np.random.Generator) -> list[Point]:
    params = _param_grid(loss)
    points: list[Point] = []
    for size, scale, cls, pattern in itertools.product(CLASS_COUNTS, LOGIT_SCALES, (0, -1), ("random", "max", "min")):
        for combo in params:
            points.append(_vector_point(loss, rng, size, scale, cls % size, pattern, combo, soft=pattern == "random"))
    for scale, pattern in ((1.0, "random"), (1e4, "max")):
        points.append(_vector_point(loss, rng, LARGE_CLASS_COUNT, scale, 0, pattern, params[0], soft=False))
    if is_softmax_based(loss) and loss.output.domain.vector == "real":
        for size, scale in itertools.product((2, 3, 10), (1.0, 1e4)):
            point = _vector_point(loss, rng, size, scale, 0, "random", params[0], soft=False)
            logits = list(point[0])
            logits[size - 1] = -math.inf
            points.append((tuple(logits), *point[1:]))
    return points


def _vector_point(
    loss: Loss, rng: np.random.Generator, size: int, scale: float, cls: int, pattern: str,
    params: tuple[float, ...], *, soft: bool,
) -> Point:
    """One point of a class-vector loss: every vector variable drawn for its domain, the
    target class ``cls`` one-hot (or soft, if ``soft`` and the domain allows it), the output's
    entry ``cls`` random, the largest (by 3 scales) or the smallest."""
    values: list[object] = []
    for role, variable in enumerate((loss.output, loss.target, *loss.inputs)):
        if not variable.is_vector:
            values.append(_short(scalar_stress(variable.domain))[int(rng.integers(4)) % 4])
            continue
        values.append(_class_vector(variable.domain, rng, size, scale, cls, pattern if role == 0 else "random", soft))
    return (*values, *params)


def _class_vector(
    domain: Domain, rng: np.random.Generator, size: int, scale: float, cls: int, pattern: str, soft: bool
) -> tuple[float, ...]:
    kind = domain.vector
    if kind == "onehot" or (kind == "distribution" and not soft):
        return tuple(float(k == cls) for k in range(size))
    if kind in ("simplex", "distribution"):
        if kind == "simplex" and pattern == "max":
            return tuple(1.0 if k == cls else 1e-300 for k in range(size))
        low = 1 if kind == "simplex" else 0
        weights = rng.integers(low, DYADIC_TOTAL // (2 * size) + 1, size)
        weights[cls] += DYADIC_TOTAL - int(weights.sum())
        return tuple(float(w) / DYADIC_TOTAL for w in weights)
    entries = rng.standard_normal(size)
    if pattern == "max":
        entries[cls] = entries.max() + 3
    elif pattern == "min":
        entries[cls] = entries.min() - 3
    return tuple(float(e) * scale for e in entries)


def _random_point(loss: Loss, rng: np.random.Generator, path: CodePath = CodePath("general")) -> Point:
    """A seeded random point over the whole domain of every input and parameter: scalars by
    :func:`sample_scalar`, with probability :data:`COINCIDENT_SHARE` one of them (an input or a
    parameter) then moved near another (:func:`_coincident`); class vectors of a random size in
    :data:`CLASS_COUNTS` at a logit scale drawn by binade from 2^-1074 … 2^1020 (so entries reach every
    binade, as scalars do), the target class random, labels one-hot or (where allowed) soft, equally
    likely, with probability :data:`ZERO_ENTRIES_SHARE` some entries of a real vector set to 0; a
    class-vector loss's scalar inputs by :func:`sample_scalar` too.  On ``path``: labels one-hot, or
    its option None."""
    params = tuple(None if p.name == path.unset else _random_param(p, rng) for p in loss.params)
    if is_class_vector(loss):
        size = int(rng.choice(CLASS_COUNTS))
        scale = sample_scalar(SCALE_DOMAIN, rng)
        soft = bool(rng.random() < 0.5) and not path.one_hot
        point = _vector_point(loss, rng, size, scale, int(rng.integers(size)), "random", params, soft=soft)
        arguments = (loss.output, loss.target, *loss.inputs)
        point = (*(x if v.is_vector else sample_scalar(v.domain, rng) for v, x in zip(arguments, point, strict=False)),
                 *params)
        return _zero_entries(loss, point, rng) if rng.random() < ZERO_ENTRIES_SHARE else point
    values = [*(sample_scalar(v.domain, rng) for v in (loss.output, loss.target, *loss.inputs)), *params]
    if rng.random() < COINCIDENT_SHARE:
        values = _coincident((loss.output, loss.target, *loss.inputs, *loss.params), values, rng)
    return tuple(values)


def _coincident(variables: Sequence[Var], values: list[float | None], rng: np.random.Generator) -> list[float | None]:
    """``values`` with one interval variable set to another's value times 1 + δ, δ of a random sign
    drawn by binade from [2^-53, 1], or 0 with probability 1/8: where a loss subtracts them (a
    residual ŷ − y, or |r| − ε) the difference spans every scale from one ulp of them, and exact
    cancellation.  Unchanged when no two interval variables with a value exist or the moved value
    overflows or leaves its domain."""
    candidates = [i for i, v in enumerate(variables) if not v.domain.values and values[i] is not None]
    if len(candidates) < 2:
        return values
    source, target = (candidates[int(j)] for j in rng.choice(len(candidates), 2, replace=False))
    delta = 0.0 if rng.random() < 1 / 8 else float(rng.choice((-1.0, 1.0))) * sample_magnitude(2.0**-53, 1.0, rng)
    moved = values[source] * (1.0 + delta)
    if math.isfinite(moved) and variables[target].domain.contains(moved):
        values = [*values[:target], moved, *values[target + 1:]]
    return values


def _zero_entries(loss: Loss, point: Point, rng: np.random.Generator) -> Point:
    """``point`` with a random nonempty subset of the entries of one real class vector (the output or
    an input, at random) set to 0."""
    reals = [i for i, v in enumerate((loss.output, loss.target, *loss.inputs)) if v.domain.vector == "real"]
    if not reals:
        return point
    chosen = reals[int(rng.integers(len(reals)))]
    entries = point[chosen]
    zeroed = rng.random(len(entries)) < 0.5
    zeroed[int(rng.integers(len(entries)))] = True
    vector = tuple(0.0 if z else x for z, x in zip(zeroed, entries, strict=True))
    return (*point[:chosen], vector, *point[chosen + 1:])


def _random_param(param: Var, rng: np.random.Generator) -> float | None:
    """A hyper-parameter drawn over its whole domain (:func:`sample_scalar`); None (the option
    switched off) with probability :data:`UNSET_SHARE` when the kernel accepts it."""
    if param.unset is not None and rng.random() < UNSET_SHARE:
        return None
    return sample_scalar(param.domain, rng)


# --------------------------------------------------------------------------- sampling by binade

_MANTISSA = 2**52
# The binades of positive float64 bit patterns (ordinals): the 52 subnormal binades [2^j, 2^(j+1)),
# magnitudes [2^(j-1074), 2^(j-1073)); then the 2046 normal binades, one exponent each.
_BINADE_STARTS = np.array([2**j for j in range(52)] + [e * _MANTISSA for e in range(1, 2047)], dtype=np.int64)
_BINADE_ENDS = np.array([2 ** (j + 1) for j in range(52)] + [(e + 1) * _MANTISSA for e in range(1, 2047)],
                        dtype=np.int64)  # exclusive


def _ordinal(magnitude: float) -> int:
    """The bit pattern of a nonnegative float64: monotone in the value, consecutive for neighbours."""
    return int(np.array(magnitude, dtype=np.float64).view(np.int64))


def _magnitude(ordinal: int) -> float:
    return float(np.array(ordinal, dtype=np.int64).view(np.float64))


def sample_magnitude(low: float, high: float, rng: np.random.Generator) -> float:
    """A float64 in [low, high] (0 ≤ low ≤ high < inf), stratified by exponent: every binade that meets
    the range equally likely, uniform over the floats of the binade within the range.  Herbie samples
    uniformly over float ordinals, which makes each normal binade equally likely; here each subnormal
    binade is one more stratum too (and 0, when in range, one more), so 2^-1074 … 2^-1022 are reached."""
    lo, hi = _ordinal(low), _ordinal(high)
    starts, ends = np.maximum(_BINADE_STARTS, lo), np.minimum(_BINADE_ENDS, hi + 1)
    keep = starts < ends
    starts, ends = starts[keep], ends[keep]
    pick = int(rng.integers(len(starts) + (lo == 0)))
    if pick == len(starts):
        return 0.0
    return _magnitude(int(rng.integers(starts[pick], ends[pick])))


def _bounds(domain: Domain) -> tuple[float, float]:
    """The domain's closed float bounds: its ends, or the largest finite floats when unbounded."""
    big = float(np.finfo(np.float64).max)
    low = -big if domain.low is None else float(domain.low)
    high = big if domain.high is None else float(domain.high)
    return low, high


def _by_binade(low: float, high: float, rng: np.random.Generator) -> float:
    """A float in [low, high] by :func:`sample_magnitude`, each sign the range allows equally likely."""
    signs = [s for s in (1.0, -1.0) if (high >= 0.0 if s > 0 else low < 0.0)]
    sign = signs[int(rng.integers(len(signs)))]
    if sign > 0:
        return sample_magnitude(max(low, 0.0), high, rng)
    return -sample_magnitude(max(-high, 0.0), -low, rng)


def _near_end(low: float, high: float, rng: np.random.Generator) -> float:
    """A point at a binade-sampled distance from one finite, nonzero end (p → 1⁺, p → 2⁻, c → 1⁺ …):
    the distance in (0, half the width] (at most max(|end|, 1) on a half-line)."""
    ends = [e for e in (low, high) if math.isfinite(e) and e != 0.0 and abs(e) < float(np.finfo(np.float64).max)]
    end = ends[int(rng.integers(len(ends)))]
    reach = (high - low) / 2 if math.isfinite(high - low) else max(abs(end), 1.0)
    distance = sample_magnitude(0.0, reach, rng)
    return end + distance if end == low else end - distance


def sample_scalar(domain: Domain, rng: np.random.Generator) -> float:
    """One seeded point of a scalar domain, over the whole of it.

    A finite set: a value, uniformly.  Counts: a float sampled by binade in [low, 2^53], rounded
    down.  An interval: by binade over its floats (every binade and both signs where allowed
    equally likely, subnormals included, so 0⁺ and ±∞ are approached); and, when an end is finite
    and nonzero, with probability :data:`NEAR_END_SHARE` at a binade-sampled distance from such an
    end instead (so p → 1⁺ and p → 2⁻ on (1, 2)).  A point that rounds onto an open end is moved to
    the nearest float inside."""
    if domain.values:
        return float(domain.values[int(rng.integers(len(domain.values)))])
    low, high = _bounds(domain)
    if domain.integer:
        return _count(domain, low, min(high, MAX_COUNT), rng)
    if rng.random() < SPECIAL_SHARE:
        specials = special_values(domain)
        return specials[int(rng.integers(len(specials)))]
    has_end = any(math.isfinite(e) and e != 0.0 and abs(e) < float(np.finfo(np.float64).max) for e in (low, high))
    value = _near_end(low, high, rng) if has_end and rng.random() < NEAR_END_SHARE else _by_binade(low, high, rng)
    if not domain.contains(value):
        value = min(max(value, low), high)
        inward = high if value == low else low
        value = float(np.nextafter(value, inward))
    if not domain.contains(value):
        raise ValueError(f"cannot sample the domain {domain.name}")
    return value


def special_values(domain: Domain) -> list[float]:
    """The special floats of an interval domain: 0, ±2^-1074, ±the largest float, and each finite end
    (or, when open, the float next to it inside) — where underflow, overflow and division by the
    smallest or largest argument show."""
    low, high = _bounds(domain)
    ends = [] if domain.low is None else [float(np.nextafter(low, high)) if domain.low_open else low]
    ends += [] if domain.high is None else [float(np.nextafter(high, low)) if domain.high_open else high]
    candidates = [0.0, SMALLEST, -SMALLEST, LARGEST, -LARGEST, *ends]
    return sorted({c for c in candidates if domain.contains(c)})


def _count(domain: Domain, low: float, high: float, rng: np.random.Generator) -> float:
    """A count in [low, high]: 0 (when in the domain) as likely as each binade of [max(low, 1), high],
    rounded down within it."""
    first = max(math.ceil(low), 1)
    while not domain.contains(first):
        first += 1
    if domain.contains(0.0) and rng.integers(math.floor(math.log2(high)) - math.floor(math.log2(first)) + 2) == 0:
        return 0.0
    return float(max(first, math.floor(sample_magnitude(float(first), high, rng))))


def domain_range(domain: Domain) -> str:
    """The sampled range of a scalar domain, as the certificate states it: "{0, 1}", "[0, 2^53]",
    "(1, 2)", "(0, 1.8e+308]" (an unbounded side as the largest finite float)."""
    if domain.values:
        return "{" + ", ".join(f"{float(v):g}" for v in domain.values) + "}"
    low, high = _bounds(domain)
    if domain.integer:
        high = min(high, MAX_COUNT)
    left = "[" if domain.low is None or not domain.low_open else "("
    right = "]" if domain.high is None or not domain.high_open or domain.integer else ")"
    return f"{left}{low:.3g}, {high:.3g}{right}"


@dataclass(frozen=True)
class Sampling:
    """What a certificate says about its points: ``grid`` deterministic stress points and ``random``
    seeded ones (``seed``), over ``ranges`` (each variable's name and sampled range, in point order)."""

    seed: int
    grid: int
    random: int
    ranges: tuple[tuple[str, str], ...]
    paths: tuple[str, ...] = ("general",)

    @property
    def names(self) -> tuple[str, ...]:
        """The point's coordinates: output, target, inputs, parameters."""
        return tuple(name for name, _ in self.ranges)

    def describe(self) -> str:
        """E.g. "4800 points (704 on the stress grid, 4096 random by binade, seed 0) over yhat ∈ [-1.8e+308,
        1.8e+308], delta ∈ (0, 1.8e+308]"; with more code paths, "… 8192 random by binade (4096 on each
        path: general, alpha=None), …"."""
        over = ", ".join(f"{name} ∈ {extent}" for name, extent in self.ranges)
        each = (f" ({self.random // len(self.paths)} on each path: {', '.join(self.paths)})"
                if len(self.paths) > 1 else "")
        return (f"{self.grid + self.random} points ({self.grid} on the stress grid, {self.random} random "
                f"by binade{each}, seed {self.seed}) over {over}")


def variable_range(variable: Var) -> str:
    """A variable's sampled range: :func:`domain_range` of a scalar; a class vector's kind and sizes."""
    if variable.is_vector:
        sizes = ", ".join(map(str, (*CLASS_COUNTS, LARGE_CLASS_COUNT)))
        scaled = " (standard normal entries times a scale by binade in [2^-1074, 2^1020])" if (
            variable.domain.vector == "real") else ""
        return f"{variable.domain.vector} vectors of K ∈ {{{sizes}}} entries{scaled}"
    return domain_range(variable.domain)


def sampling_of(loss: Loss, *, seed: int = 0, dense: int = DENSE_POINTS) -> Sampling:
    """The sampling of :func:`stress_points` ``(loss, seed=seed, dense=dense)``."""
    variables = (loss.output, loss.target, *loss.inputs, *loss.params)
    grid = len(stress_points(loss, seed=seed, dense=0))
    paths = tuple(path.name for path in code_paths(loss))
    return Sampling(seed, grid, dense * len(paths), tuple((v.name, variable_range(v)) for v in variables), paths)


# --------------------------------------------------------------------------- points as JSON


def json_number(value: float) -> float | str:
    """A float as JSON-able data: itself if finite, else its string ("inf", "-inf", "nan")."""
    return value if math.isfinite(value) else str(value)


def json_value(value: object) -> object:
    """A point (or any value) as JSON-able data: tuples as lists, non-finite floats as strings."""
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    if isinstance(value, float):
        return json_number(value)
    return value
