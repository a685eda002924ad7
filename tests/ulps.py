"""Distance of a float64 result from an exact (mpmath) truth, in units of the last place of the rounded truth."""

from __future__ import annotations

import mpmath
import numpy as np

TINY = np.finfo(np.float64).tiny  # the smallest normal float64; below it the spacing is the subnormal 2^-1074


def ulps(computed: float, true: mpmath.mpf) -> float:
    """|computed − true| in units of the last place of the rounded truth (the subnormal spacing below the normal
    range); a truth that rounds to 0 or overflows must be met exactly (0 if it is, inf otherwise)."""
    rounded = float(true)
    if rounded == 0.0 or np.isinf(rounded):
        return 0.0 if computed == rounded else np.inf
    spacing = np.spacing(abs(rounded)) if abs(rounded) >= TINY else 5e-324
    with mpmath.workprec(400):
        return float(abs(mpmath.mpf(computed) - true) / spacing)
