r"""NumPy kernels from derivations: stable forms printed as readable Python modules.

For a loss the generator takes the declared formula, the proved gradient and
the proved Hessian (:mod:`symloss.derive.chain`), splits them over a finite label
set (one branch per label value, joined by ``np.where``), rewrites each branch
with the proved stability rules (:mod:`symloss.stabilize.rules`) and prints it.
The stages live in their own modules: the stable forms (:mod:`symloss.emit.forms`),
the kernel's signature (:mod:`symloss.emit.signature`), the expressions prepared
under array semantics (:mod:`symloss.emit.arrays`), the printer
(:mod:`symloss.emit.printer`), the names of temporaries (:mod:`symloss.emit.naming`)
and the block programs (:mod:`symloss.emit.blocks`); this module puts them together
into a :class:`Kernel` and renders the kernel package.

Class vectors are printed with *array semantics*: every entry ``z[k]`` (bound
or free index) is the array ``z`` with the class axis last, a sum over the
class index is ``np.sum(…, axis=-1, keepdims=True)``, so a per-sample
quantity has shape ``(…, 1)`` and an entry-wise one ``(…, K)``.  That reading
is exact when no summand mentions the free index of the gradient, which is
checked.

The module text comes from ``templates/kernel.py.j2`` and is deterministic:
the same catalog gives the same bytes.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import jinja2
import sympy as sp

from symloss.declare.loss import Loss
from symloss.derive.chain import Derivation
from symloss.emit.arrays import UnsupportedExpressionError, check_array_semantics, prepared, selected
from symloss.emit.blocks import RESERVED, kernel_code
from symloss.emit.files import write_atomic
from symloss.emit.forms import Form, forms_of, switch_choices
from symloss.emit.onehot import IndexFormError, at_integer_labels
from symloss.emit.printer import KernelPrinter
from symloss.emit.program import ENTRY, SAMPLE
from symloss.emit.signature import Argument, Option, arguments_of, options_of
from symloss.stabilize.engine import ProvedRule


@dataclass(frozen=True)
class Variant:
    """The block programs used under ``condition``: the forms with each switched parameter replaced
    by its value (exact: a symbolic replacement, before stabilization) and, when the condition tests
    for integer class labels, specialized to one-hot targets (:mod:`symloss.emit.onehot`)."""

    condition: str
    rules: tuple[str, ...]
    code: Mapping[str, str]  # as :attr:`Kernel.code`
    forms: tuple[Form, ...] = ()  # the value, gradient and Hessian computed under ``condition``


@dataclass(frozen=True)
class Kernel:
    """Everything the template needs to write one loss's module."""

    loss: Loss
    value: Form
    gradient: Form
    hessian: Form
    arguments: tuple[Argument, ...]
    options: tuple[Option, ...]
    code: Mapping[str, str]  # "value", "gradient", "hessian", "value_and_gradient" → function bodies
    variants: tuple[Variant, ...] = ()  # tested in order before the general programs of ``code``
    label_indices: bool = False  # integer class labels have programs of their own (else made one-hot rows)

    @property
    def vector(self) -> bool:
        return self.loss.output.is_vector

    @property
    def rules(self) -> tuple[str, ...]:
        own = (*self.value.rules, *self.gradient.rules, *self.hessian.rules)
        return tuple(dict.fromkeys((*own, *(name for v in self.variants for name in v.rules))))


# --------------------------------------------------------------------------- kernels


def kernel_for(derivation: Derivation, rules: Sequence[ProvedRule], *, named: bool = True) -> Kernel:
    """The stable forms and printed code of one loss's kernel, with a variant for each set of
    switched options and, for class labels given as integers, programs specialized to one-hot targets;
    ``named``: temporaries named and blocks commented (:meth:`~symloss.emit.program.Program.lines`)."""
    loss = derivation.loss
    target = loss.target
    value, gradient, hessian = forms_of(derivation, rules)
    choices = {choice: forms_of(derivation, rules, choice) for choice in switch_choices(loss)}
    index = sp.Symbol("k", integer=True, positive=True) if loss.output.is_vector else None
    names = {v.symbol: v.name for v in (*loss.variables,) if not isinstance(v.symbol, sp.IndexedBase)}
    names.update({v.symbol: v.name for v in loss.variables if isinstance(v.symbol, sp.IndexedBase)})
    printer = KernelPrinter(names)
    for form in (value, gradient, hessian, *(f for forms in choices.values() for f in forms)):
        for branch in form.branches:
            check_array_semantics(branch.expr, loss.index.symbol if loss.index is not None else None)
    clashes = sorted(v.name for v in loss.variables if v.name in RESERVED or re.fullmatch(r"[tu]\d+", v.name))
    if clashes:
        raise UnsupportedExpressionError(f"{loss.name}: the names {clashes} are taken by the kernel's own code")
    labels = target.symbol if target.is_vector else None
    output = None if loss.output.is_vector else loss.output.symbol
    kinds = array_kinds(loss)
    first = loss.output.name

    def rows(*results: tuple[str, Form]) -> str:
        return "\n".join(kernel_code([(name, selected(form, index, labels, target.symbol, output))
                                      for name, form in results], printer, kinds, first, loss.output.is_vector,
                                     named=named))

    def indices(*results: tuple[str, Form]) -> str:
        return "\n".join(index_kernel_code(results, loss, index, printer, kinds, named=named))

    def programs(value: Form, gradient: Form, hessian: Form, code: Callable[..., str] = rows) -> dict[str, str]:
        return {"value": code(("loss", value)), "gradient": code(("grad", gradient)),
                "hessian": code(("hess", hessian)),
                "value_and_gradient": code(("loss", value), ("grad", gradient))}

    variants = []
    takes_indices = loss.classes is not None and any(a.labels for a in arguments_of(loss))
    if takes_indices:
        try:
            label_test = f"{target.name}.dtype == np.int64"
            for choice, forms in (*choices.items(), ((), (value, gradient, hessian))):
                condition = " and ".join((label_test, *(s.condition for s in choice)))
                variants.append(Variant(condition, _rules(forms), programs(*forms, code=indices), forms))
        except IndexFormError:  # integer labels then become one-hot rows, block by block
            variants, takes_indices = [], False
    variants += [Variant(" and ".join(s.condition for s in choice), _rules(forms), programs(*forms), forms)
                 for choice, forms in choices.items()]
    return Kernel(loss, value, gradient, hessian, arguments_of(loss), options_of(loss),
                  programs(value, gradient, hessian), tuple(variants), takes_indices)


def index_kernel_code(results: Sequence[tuple[str, Form]], loss: Loss, index: sp.Symbol, printer: KernelPrinter,
                      kinds: Mapping[sp.Basic, int], *, named: bool = True) -> list[str]:
    """The lines of a block program for integer class labels (:mod:`symloss.emit.onehot`): each result at
    the entries off the label and, for an entry-wise result that depends on it, at the label, written
    into the label's entries last.  A factor of hyper-parameters that may be 0 times an unbounded
    quantity counts as 0 there (the label weight it stands for)."""
    target = loss.target
    params = [v.symbol for v in loss.params]
    specialized: list[tuple[str, sp.Expr]] = []
    at_labels: list[str] = []
    for name, form in results:
        (branch,) = form.branches
        split = at_integer_labels(branch.expr, target.symbol, loss.index.symbol, loss.classes.symbol)
        specialized.append((name, prepared(split.elsewhere, index, None, params)))
        if split.at_label is not None:
            specialized.append((f"{name}_at_label", prepared(split.at_label, index, None, params)))
            at_labels.append(name)
    lines = kernel_code(specialized, printer, kinds, loss.output.name, vector=True, labels=target.name, named=named)
    bare = {name for name, expr in specialized if isinstance(expr, sp.Symbol | sp.Indexed)}

    def written(name: str) -> str:  # the label entries are written in place: an argument itself is copied first
        array = f"np.copy({name})" if name in bare else f"_full({name}, {loss.output.name}.shape)"
        return f"{name} = _put({array}, {target.name}, {name}_at_label)"

    return lines + [written(name) for name in at_labels]


def _rules(forms: Sequence[Form]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for form in forms for name in form.rules))


def array_kinds(loss: Loss) -> dict[sp.Basic, int]:
    """The kind of each array argument: class vectors hold entries; in a class-vector kernel a
    per-sample input (shape with a class axis of 1) holds samples, in an elementwise one entries."""
    per_sample = SAMPLE if loss.output.is_vector else ENTRY
    return {v.symbol: ENTRY if v.is_vector else per_sample for v in (loss.output, loss.target, *loss.inputs)}


def uses_class_count(code: str) -> bool:
    """Whether printed code mentions the class count ``K``."""
    return re.search(r"\bK\b", code) is not None


# --------------------------------------------------------------------------- modules


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("symloss.emit", "templates"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Python source, not markup
    )


def render_module(kernel: Kernel, certificate: str, within_budget: bool | None = None) -> str:
    """The Python source of one loss's kernel module; ``within_budget`` is its certificate's verdict (None:
    not certified), so that "no stability rule needed" is said only of a kernel measured within budget."""
    loss = kernel.loss
    origin = getattr(loss.origin, "reference", "") or getattr(loss.origin, "distribution", "")
    env = _environment()
    template = env.get_template("kernel.py.j2")
    context = dict(kernel=kernel, certificate=certificate, within_budget=within_budget, indent=_indent,
                   origin=origin or "definition",
                   uses_class_count=uses_class_count, formula=sp.sstr(loss.formula),
                   gradient=sp.sstr(kernel.gradient.textbook), hessian=sp.sstr(kernel.hessian.textbook))
    # rendered once to see which shared helpers the module calls, then with exactly those imported
    called = set(re.findall(r"\b(_\w+)\(", template.render(**context, helpers=[])))
    return template.render(**context, helpers=sorted(called & _numerics_helpers(env)))


def _numerics_helpers(env: jinja2.Environment) -> set[str]:
    """The names the shared numerics module defines."""
    source, _, _ = env.loader.get_source(env, "kernels_numerics.py.j2")
    return set(re.findall(r"^def (_\w+)\(", source, flags=re.MULTILINE))


def render_package(names: Sequence[str]) -> Mapping[str, str]:
    """File name → source of the package's ``__init__`` (re-exporting ``names``, sorted) and shared numerics."""
    env = _environment()
    names = sorted(names)
    return {
        "__init__.py": env.get_template("kernels_init.py.j2").render(names=names),
        "_numerics.py": env.get_template("kernels_numerics.py.j2").render(),
    }


def _indent(text: str, spaces: int = 8) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines())


def load_generated(folder: Path, name: str) -> ModuleType:
    """Module ``name`` of a generated kernel package in ``folder``, imported under a private package
    name (so that it never shadows an installed ``symloss_kernels``)."""
    package = f"_symloss_generated_{hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]}"
    if package not in sys.modules:
        module = ModuleType(package)
        module.__path__ = [str(folder)]
        sys.modules[package] = module
    return importlib.import_module(f"{package}.{name}")


def write_package(files: Mapping[str, str], out_dir: Path, *, prune: bool) -> list[Path]:
    """Write the modules (sorted by name) into ``out_dir``; with ``prune``, modules of losses
    no longer in ``files`` are removed (for a whole catalog, not for a selection)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.py") if prune else ():
        if stale.name not in files:
            stale.unlink()
    paths = []
    for name in sorted(files):
        path = out_dir / name
        write_atomic(path, files[name])
        paths.append(path)
    return paths
