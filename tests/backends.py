"""Optional backends (torch, jax, …): skipped on a developer's machine without them,
never in CI (``CI`` set), where ``.ci/run`` installs every extra."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def optional_backend(name: str) -> ModuleType:
    """Import an optional backend (torch, jax, …); skip without it, except in CI, where it must be there."""
    if os.environ.get("CI"):
        return importlib.import_module(name)
    return pytest.importorskip(name)
