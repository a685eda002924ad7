"""Load a catalog: every loss declared in the ``.py`` files of a folder.

A declaration file is plain Python that builds :class:`~symloss.declare.loss.Loss`
objects at module level.  Files are loaded in sorted order under private
module names, so two catalogs never share state and import order cannot
change what is loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from symloss.declare.loss import Loss


class CatalogError(ValueError):
    """A catalog folder that cannot be loaded, or a name it does not hold."""


@dataclass(frozen=True)
class Catalog:
    """The losses of one folder, in declaration order (file by file)."""

    folder: Path
    losses: tuple[Loss, ...]

    def __iter__(self) -> Iterator[Loss]:
        return iter(self.losses)

    def __len__(self) -> int:
        return len(self.losses)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(loss.name for loss in self.losses)

    def get(self, name: str) -> Loss:
        for loss in self.losses:
            if loss.name == name:
                return loss
        raise CatalogError(f"no loss named {name!r} in {self.folder} (known: {', '.join(self.names)})")

    def select(self, names: list[str] | tuple[str, ...]) -> tuple[Loss, ...]:
        """The named losses, in the order given; all of them when empty."""
        return tuple(self.get(n) for n in names) if names else self.losses


def bundled_folder() -> Path:
    """The folder of the catalog that ships with symloss.

    Installed, it is the package ``symloss.derivations`` (the repository's
    ``derivations/`` folder, mapped there by pyproject.toml); in a checkout
    that is not installed, the ``derivations/`` folder beside ``symloss/``.
    """
    spec = importlib.util.find_spec("symloss.derivations")
    if spec is not None and spec.origin is not None:
        return Path(spec.origin).resolve().parent
    return Path(__file__).resolve().parents[2] / "derivations"


def load_catalog(folder: Path | str | None = None) -> Catalog:
    """Load every loss declared in ``folder`` (the bundled catalog by default)."""
    root = Path(folder) if folder is not None else bundled_folder()
    if not root.is_dir():
        raise CatalogError(f"catalog folder {root} does not exist")
    losses: list[Loss] = []
    declared_in: dict[str, Path] = {}
    for path in sorted(root.glob("*.py")):
        if path.name.startswith("_"):
            continue
        for loss in _declared_losses(path):
            if loss.name in declared_in:
                raise CatalogError(f"loss name {loss.name!r} is declared twice: in {declared_in[loss.name]} "
                                   f"and in {path}")
            undeclared = undeclared_symbols(loss)
            if undeclared:
                raise CatalogError(f"{path}: loss {loss.name}: " + "; ".join(
                    f"{where} uses {', '.join(names)}, which the loss does not declare"
                    for where, names in undeclared.items()))
            declared_in[loss.name] = path
            losses.append(loss)
    if not losses:
        raise CatalogError(f"catalog folder {root} declares no loss")
    return Catalog(root, tuple(losses))


def undeclared_symbols(loss: Loss) -> dict[str, list[str]]:
    """Where the loss's expressions mention a symbol it does not declare: part → sorted symbol names.

    Declared are the loss's variables (output, target, inputs, params, class index and count);
    a claim adds the variables of its own scope (a substituted positive ``u``, say); an example
    adds the symbols its ``at`` gives a value to.  (A likelihood is not checked: its density may
    carry a scale, such as a Gaussian's σ, that the loss leaves out.)  A symbol outside these, such as a typo ``qq``
    for ``q``, would otherwise reach the prover as an unconstrained real variable.
    """
    declared = _declaring({v.symbol for v in loss.variables})
    parts: list[tuple[str, Iterable[object], set[sp.Basic]]] = [
        ("the formula", [loss.formula, loss.value_form, loss.gradient_form, loss.hessian_form, *loss.given],
         declared),
    ]
    parts += [(f"claim {claim.statement!r}", [claim.lhs, claim.rhs, claim.var, claim.point, *claim.given],
               declared | _declaring({v.symbol for v in claim.scope.variables})) for claim in loss.claims]
    parts += [(f"example {example.label!r}", [example.quantity], declared | _declaring(set(example.at)))
              for example in loss.examples]
    found = {}
    for where, expressions, known in parts:
        names = sorted({str(s) for e in expressions if isinstance(e, sp.Basic) for s in _symbols(e) if s not in known})
        if names:
            found[where] = names
    return found


def _declaring(symbols: set[sp.Basic]) -> set[sp.Basic]:
    """The symbols that declaring ``symbols`` makes known: a vector ``IndexedBase`` also declares
    its label, the symbol SymPy lists among the free symbols of an entry ``z[k]``."""
    return symbols | {s.label for s in symbols if isinstance(s, sp.IndexedBase)}


def _symbols(expr: sp.Basic) -> set[sp.Basic]:
    """The free symbols of ``expr``; an entry ``z[k]`` counts as its vector ``z`` and its index ``k``."""
    return {s for s in expr.free_symbols if not isinstance(s, sp.Indexed)}


def _declared_losses(path: Path) -> list[Loss]:
    """The Loss objects a declaration file defines at module level, in order."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(f"symloss_catalog_{digest}_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise CatalogError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # a broken declaration file: say which one
        raise CatalogError(f"{path}: {type(error).__name__}: {error}") from error
    return [value for value in vars(module).values() if isinstance(value, Loss)]
