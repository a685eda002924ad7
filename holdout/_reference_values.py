"""Independent reference values for the worked examples in holdout/, at 50 digits with mpmath.

Each formula is typed here from its source, not taken from symloss; run
``python holdout/_reference_values.py`` to print them.  The loader skips this
file (its name starts with ``_``).
"""

from mpmath import exp, log, mp, mpf


def reference_values() -> dict[str, mpf]:
    """Each worked example's value, computed at 50 digits (the global precision is left as it was)."""
    with mp.workdps(50):
        beta = mpf("0.5")
        z = (mpf(2) - 1) / beta  # Gumbel: (y − location)/scale
        w, eps = mpf(10), mpf(2)
        offset = w - w * log(1 + w / eps)  # the wing loss's C

        def smooth_hinge(margin: mpf) -> mpf:
            """Rennie and Srebro's smooth hinge: 1/2 − t for t ≤ 0, (1 − t)²/2 for 0 < t < 1, 0 beyond."""
            if margin <= 0:
                return mpf("0.5") - margin
            return (1 - margin) ** 2 / 2 if margin < 1 else mpf(0)

        return {
            "gumbel_nll y=2 yhat=1 beta=0.5": z + exp(-z) + log(beta),
            "wing r=1 w=10 eps=2": w * log(1 + abs(mpf(1)) / eps),
            "wing r=15 w=10 eps=2": abs(mpf(15)) - offset,
            "smooth_hinge y=1 f=0.5": smooth_hinge(1 * mpf("0.5")),
            "smooth_hinge y=-1 f=0.5": smooth_hinge(-1 * mpf("0.5")),
        }


if __name__ == "__main__":
    for key, value in reference_values().items():
        print(f"{key:45s} {mp.nstr(value, 15)}")
