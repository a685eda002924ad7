"""Load a catalog: every loss declared in the ``.py`` files of a folder.

A declaration file is plain Python that builds :class:`~symloss.declare.loss.Loss`
objects at module level.  Files are loaded in sorted order under private
module names, so two catalogs never share state and import order cannot
change what is loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    for path in sorted(root.glob("*.py")):
        if path.name.startswith("_"):
            continue
        losses.extend(_declared_losses(path))
    names = [loss.name for loss in losses]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CatalogError(f"catalog {root} declares these names more than once: {', '.join(repeated)}")
    if not losses:
        raise CatalogError(f"catalog folder {root} declares no loss")
    return Catalog(root, tuple(losses))


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
