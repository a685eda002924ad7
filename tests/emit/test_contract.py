"""The generated kernels' input contract, for every kernel function built from this checkout.

Every array argument and ``weight`` is real (bool, integer or float); complex numbers, strings, bytes,
objects and None are refused with a ValueError that names the argument, as is every shape at fault,
an ``axis`` that is no integer, and an option that is no number.  Options become float64 before any
arithmetic (a huge one overflows to inf, never raises).  Whatever is thrown at a kernel, it raises a
ValueError naming one of its parameters or returns float64 results, never another exception or a
warning.  Good inputs give the shipped kernels' results bit for bit.
"""

from __future__ import annotations

import importlib
import inspect
import re
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from checkout_kernels import CHECKOUT_CATALOG, built
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from symloss import load_catalog
from symloss.certify.certificate import stress_points
from symloss.declare.loss import Loss

pytestmark = pytest.mark.filterwarnings("error")

LOSSES = {loss.name: loss for loss in load_catalog(CHECKOUT_CATALOG).losses}
NAMES = sorted(LOSSES)
SUFFIXES = ("", "_grad", "_hess", "_value_and_grad")
LOSS_OF = {name + suffix: name for name in NAMES for suffix in SUFFIXES}  # the 4 functions of each loss
FUNCTIONS = sorted(LOSS_OF)
SAMPLES = 3
LABELS = ("onehot", "distribution")  # class-vector targets that also take integer class indices


def loss_of(function: str) -> Loss:
    return LOSSES[LOSS_OF[function]]


def checkout(function: str) -> Callable[..., object]:
    return getattr(built(LOSS_OF[function])[1], function)


def shipped(function: str) -> Callable[..., object]:
    """The installed kernel, its floating-point warnings (which the contract removes) silenced."""
    kernel = getattr(importlib.import_module(f"symloss_kernels.{LOSS_OF[function]}"), function)

    def quiet(*args: object, **kwargs: object) -> object:
        with np.errstate(all="ignore"):
            return kernel(*args, **kwargs)
    return quiet


def argument_names(loss: Loss) -> list[str]:
    return [v.name for v in (loss.output, loss.target, *loss.inputs)]


def is_vector(loss: Loss) -> bool:
    return loss.output.is_vector


def batch(loss: Loss, points: list[tuple[object, ...]]) -> tuple[list[np.ndarray], dict[str, object]]:
    """Stress points of one shape and one set of options as arrays (one sample per point) and options."""
    count = len(argument_names(loss))
    arrays = [np.array([point[i] for point in points], dtype=np.float64) for i in range(count)]
    return arrays, dict(zip((p.name for p in loss.params), points[0][count:], strict=True))


def good(loss: Loss) -> tuple[list[np.ndarray], dict[str, object]]:
    """``SAMPLES`` copies of the last stress point whose numbers are all moderate (at most 1e3 in magnitude,
    the random points range over all floats): inputs every check accepts."""
    def moderate(value: object) -> bool:
        return all(map(moderate, value)) if isinstance(value, tuple) else value is None or abs(value) <= 1e3

    return batch(loss, [next(p for p in reversed(stress_points(loss)) if moderate(p))] * SAMPLES)


def batches(loss: Loss) -> Iterator[tuple[list[np.ndarray], dict[str, object]]]:
    """The stress grid of ``loss``, its points grouped by shape and options into batches."""
    count = len(argument_names(loss))
    groups: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    for point in stress_points(loss):
        key = (tuple(np.shape(v) for v in point[:count]), point[count:])
        groups.setdefault(key, []).append(point)
    for points in groups.values():
        yield batch(loss, points)


def names_argument(error: ValueError, names: list[str]) -> bool:
    """The message begins with one of ``names`` (the argument at fault)."""
    return any(re.match(rf"{re.escape(name)}\b", str(error)) for name in names)


def raises_naming(name: str, function: Callable[..., object], *args: object, **kwargs: object) -> None:
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}\b"):
        function(*args, **kwargs)


def bits(result: object) -> list[tuple[str, tuple[int, ...], bytes]]:
    parts = result if isinstance(result, tuple) else (result,)
    return [(str(np.asarray(p).dtype), np.shape(p), np.asarray(p).tobytes()) for p in parts]


def is_float64(result: object) -> bool:
    parts = result if isinstance(result, tuple) else (result,)
    return all(isinstance(p, np.ndarray | np.float64) and p.dtype == np.float64 for p in parts)


# --------------------------------------------------------------------------- the reported inputs


def malformed(array: np.ndarray) -> dict[str, np.ndarray]:
    """``array`` made complex, numeric strings, bytes and an object array holding None."""
    holding_none = array.astype(object)
    holding_none.flat[0] = None
    return {"complex": array + 0.5j, "strings": array.astype(str), "bytes": array.astype(bytes),
            "None inside": holding_none}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_non_real_arrays_and_none_are_refused_naming_the_argument(function: str) -> None:
    loss, kernel = loss_of(function), checkout(function)
    arrays, params = good(loss)
    names = argument_names(loss)
    for position, name in enumerate(names):
        for bad in (*malformed(arrays[position]).values(), None):
            raises_naming(name, kernel, *arrays[:position], bad, *arrays[position + 1:], **params)
    for bad in malformed(np.ones(SAMPLES)).values():
        raises_naming("weight", kernel, *arrays, weight=bad, **params)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_shape_errors_name_the_argument_at_fault(function: str) -> None:
    loss, kernel = loss_of(function), checkout(function)
    arrays, params = good(loss)
    variables = (loss.output, loss.target, *loss.inputs)
    for position, variable in enumerate(variables):
        if position:  # one sample short: the argument that disagrees with the first is at fault
            raises_naming(variable.name, kernel, *arrays[:position], arrays[position][:-1],
                          *arrays[position + 1:], **params)
        if variable.is_vector:  # no class axis at all
            raises_naming(variable.name, kernel, *arrays[:position], np.array(0.5), *arrays[position + 1:],
                          **params)
    raises_naming("weight", kernel, *arrays, weight=np.ones(SAMPLES + 1), **params)


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if is_vector(loss_of(f))])
def test_axis_must_be_an_integer_axis_of_the_first_argument(function: str) -> None:
    loss, kernel = loss_of(function), checkout(function)
    arrays, params = good(loss)
    for axis in (1.5, True, np.bool_(False), "1", None):
        raises_naming("axis", kernel, *arrays, axis=axis, **params)
    raises_naming(loss.output.name, kernel, *arrays, axis=2, **params)  # 2-d arguments: no axis 2
    transposed = [a.T if a.ndim == 2 else a for a in arrays]
    assert bits(kernel(*transposed, axis=np.int64(0), **params)) == bits(
        shipped(function)(*transposed, axis=0, **params))


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if loss_of(f).params])
def test_options_are_float64_before_any_arithmetic(function: str) -> None:
    """A huge option gives inf or NaN as NumPy would, or is refused (outside its interval), never an
    OverflowError; an option that is no real number is refused naming it."""
    loss, kernel = loss_of(function), checkout(function)
    arrays, params = good(loss)
    for param in loss.params:
        for huge in (1e200, -1e200, 10**300):
            try:
                result = kernel(*arrays, **{**params, param.name: huge})
            except ValueError as error:
                assert names_argument(error, [param.name]), error
            else:
                assert is_float64(result)
        for bad in (0.5j, "0.5", b"0.5", np.array([0.5, 0.5]), float("nan"), 10**400, [None]):
            raises_naming(param.name, kernel, *arrays, **{**params, param.name: bad})
        if param.unset is None:
            raises_naming(param.name, kernel, *arrays, **{**params, param.name: None})


# --------------------------------------------------------------------------- good inputs


@pytest.mark.parametrize("name", NAMES)
def test_good_inputs_give_the_shipped_results_bit_for_bit(name: str) -> None:
    """Over the stress grid: each function, reduced and not, weighted, and with integer labels where
    the target takes them, gives exactly the shipped kernel's result (the checks change no number)."""
    loss = LOSSES[name]
    rng = np.random.default_rng(19)
    for arrays, params in batches(loss):
        variants = [arrays]
        target = arrays[1]
        if loss.target.domain.vector in LABELS and np.all(np.isin(target, (0.0, 1.0))) and \
                np.all(target.sum(axis=-1) == 1.0):
            variants.append([arrays[0], np.argmax(target, axis=-1), *arrays[2:]])
        weight = rng.uniform(0.0, 2.0, arrays[0].shape[:-1] if is_vector(loss) else arrays[0].shape)
        for variant in variants:
            for suffix in SUFFIXES:
                for options in ({"reduction": "none"}, {"reduction": "sum", "weight": weight}):
                    function = name + suffix
                    assert bits(checkout(function)(*variant, **params, **options)) == bits(
                        shipped(function)(*variant, **params, **options)), (function, params, options)


def test_bool_and_integer_arrays_are_read_as_their_numbers() -> None:
    bce, mse, sce = checkout("bce"), checkout("mse"), checkout("softmax_cross_entropy")
    p, y = np.array([0.25, 0.5, 0.75]), np.array([1, 0, 1])
    assert bce(p, y.astype(bool)) == bce(p, y.astype(float)) == bce(p, y.astype(np.uint8))
    assert mse(np.array([1, 2, 3]), np.array([0, 0, 0])) == mse(np.array([1.0, 2.0, 3.0]), np.zeros(3))
    z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    assert sce(z, np.array([2, 0], dtype=np.uint8)) == sce(z, np.array([2, 0])) == sce(z, np.eye(3)[[2, 0]])


def test_nan_entries_propagate() -> None:
    mse = checkout("mse")
    values = mse(np.array([np.nan, 1.0]), np.array([0.0, 0.0]), reduction="none")
    assert np.isnan(values[0]) and values[1] == 1.0


# --------------------------------------------------------------------------- anything at all


REFUSED_DTYPES = (np.complex128, np.str_, np.bytes_, np.object_)
ACCEPTED_DTYPES = (np.float64, np.float32, np.int64, np.uint8, np.bool_)


@st.composite
def any_array(draw: st.DrawFn, like: np.ndarray) -> object:
    """Something in an array's place: ``like`` recast, reshaped or replaced by None, a ragged list,
    a random array of any shape (dtype real or not)."""
    kind = draw(st.sampled_from(("recast", "reshaped", "random", "None", "ragged", "scalar")))
    if kind == "recast":
        dtype = draw(st.sampled_from(REFUSED_DTYPES + ACCEPTED_DTYPES))
        return like.astype(dtype) if dtype is not np.object_ else malformed(like)["None inside"]
    if kind == "reshaped":
        return like.reshape(draw(st.sampled_from([(like.size,), (1, like.size), (*like.shape, 1)])))
    if kind == "random":
        dtype = draw(st.sampled_from((np.float64, np.float32, np.int64, np.bool_, np.complex128)))
        return draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
    if kind == "ragged":
        return [[0.5, 0.5], [0.5]]
    if kind == "scalar":
        return draw(st.one_of(st.floats(), st.integers(-(2**70), 2**70), st.booleans(), st.text(max_size=3)))
    return None


OPTION_VALUES = st.one_of(st.floats(), st.integers(-(2**70), 2**70), st.booleans(), st.none(),
                          st.complex_numbers(), st.text(max_size=3), st.just(np.array([1.0, 2.0])))
AXES = st.one_of(st.integers(-3, 3), st.floats(), st.booleans(), st.none(), st.just(np.int32(0)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), function=st.sampled_from(FUNCTIONS))
def test_anything_gives_a_value_error_naming_a_parameter_or_float64_results(data: st.DataObject,
                                                                         function: str) -> None:
    loss, kernel = loss_of(function), checkout(function)
    arrays, params = good(loss)
    arrays = [data.draw(any_array(a)) if data.draw(st.booleans()) else a for a in arrays]
    kwargs: dict[str, object] = dict(params)
    for param in loss.params:
        if data.draw(st.booleans()):
            kwargs[param.name] = data.draw(OPTION_VALUES)
    if is_vector(loss) and data.draw(st.booleans()):
        kwargs["axis"] = data.draw(AXES)
    if data.draw(st.booleans()):
        kwargs["weight"] = data.draw(any_array(np.ones(SAMPLES)))
    kwargs["reduction"] = data.draw(st.sampled_from(("none", "mean", "sum", "average")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = kernel(*arrays, **kwargs)
        except ValueError as error:
            assert names_argument(error, list(inspect.signature(kernel).parameters)), error
        else:
            assert is_float64(result), result
