"""Independent reference values for the worked examples in examples/, at 50 digits with mpmath.

Each formula is typed here from its source, not taken from symloss; run
``python examples/_reference_values.py`` to print them.  The loader skips this
file (its name starts with ``_``).
"""

from mpmath import exp, log, mp, mpf, sqrt


def reference_values() -> dict[str, mpf]:
    """Each worked example's value, computed at 50 digits (the global precision is left as it was)."""
    with mp.workdps(50):
        half, alpha, tau, p, q = mpf("0.5"), mpf("0.5"), mpf("0.9"), mpf("1.5"), mpf("0.7")
        c_tukey = mpf("4.685")

        return {
            "pseudo_huber r=2 c=1": sqrt(1 + 2**2) - 1,
            "barron r=2 alpha=1/2 c=1":
                abs(alpha - 2) / alpha * ((mpf(2) ** 2 / abs(alpha - 2) + 1) ** (alpha / 2) - 1),
            "geman_mcclure r=1.5 c=2": mpf("1.5") ** 2 / (mpf("1.5") ** 2 + 4),
            "welsch r=1 c=1": half * (1 - exp(-1)),
            "cauchy r=3 c=2": mpf(4) / 2 * log(1 + (mpf(3) / 2) ** 2),
            "student_t_nll r=2 nu=3 sigma=1": (mpf(3) + 1) / 2 * log(1 + mpf(4) / 3),
            "tukey_biweight r=2 c=4.685": c_tukey**2 / 6 * (1 - (1 - (2 / c_tukey) ** 2) ** 3),
            "fair r=2 c=1": 2 - log(1 + mpf(2)),
            "quantile tau=0.9 y=3 yhat=1": max(tau * 2, (tau - 1) * 2),
            "epsilon_insensitive r=2 eps=0.5": max(0, 2 - half),
            "gamma_nll y=2 z=0.5": half + 2 * exp(-half),
            "tweedie p=1.5 y=2 z=0.3": -2 * exp((1 - p) * mpf("0.3")) / (1 - p) + exp((2 - p) * mpf("0.3")) / (2 - p),
            "negative_binomial theta=2 y=3 z=1": (3 + 2) * log(2 + exp(1)) - 3,
            "inverse_gaussian y=2 z=0.5": 2 * exp(-1) - 2 * exp(-half),
            "poisson_rate mu=2.5 y=3": mpf("2.5") - 3 * log(mpf("2.5")),
            "msle yhat=3 y=1": (log(4) - log(2)) ** 2,
            "exponential y=-1 f=0.5": exp(half),
            "logistic y=1 f=-2": log(1 + exp(2)),
            "generalized_cross_entropy q=0.7 y=1 p=0.3": (1 - mpf("0.3") ** q) / q,
            "modified_huber y=1 f=-0.5": max(0, 1 + half) ** 2,
            "modified_huber y=1 f=-3": -4 * mpf(-3),
        }


if __name__ == "__main__":
    for key, value in reference_values().items():
        print(f"{key:45s} {mp.nstr(value, 15)}")
