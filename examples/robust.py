r"""Robust regression: a real target y, a prediction ŷ, residual r = ŷ − y.

M-estimators that grow slower than the square for large residuals: the
pseudo-Huber (Charbonnier) loss, Barron's general family, the redescending
Geman–McClure, Welsch and Tukey losses, the Cauchy (Lorentzian) and
Student-t negative log-likelihoods, the Fair loss, and two piecewise-linear
losses: pinball (quantile) and Vapnik's ε-insensitive loss.
"""

import sympy as sp

from symloss.loss import (
    Definition,
    Example,
    Likelihood,
    Loss,
    derivative,
    identity,
    inequality,
    limit,
    minimizer,
    sign,
)
from symloss.notation import NONNEGATIVE, POSITIVE, REAL, UNIT_HALF_OPEN, Scope, Unset, Var, interval, var

SCRATCH = "computed with mpmath at 50 digits for this file (examples/_reference_values.py)"

yhat_var = var("yhat", REAL, r"\hat{y}", "prediction")
y_var = var("y", REAL, "y", "target")
u_var = var("u", POSITIVE, "u", "how far beyond a threshold")
s_var = var("s", interval("(-1, 1)", -1, 1), "s", "residual as a fraction of the threshold")
w_var = var("w", UNIT_HALF_OPEN, "w", "|residual| as a fraction of the threshold")
yhat, y, u, s, w = (v.symbol for v in (yhat_var, y_var, u_var, s_var, w_var))
residual = yhat - y
beyond = Scope((u_var,))
inside = Scope((s_var,))
tube = Scope((w_var,))


def scale_var(default: float, description: str = "scale of the residual") -> Var:
    """The scale parameter c > 0 shared by the robust losses, with its default."""
    return var("c", POSITIVE, "c", description, default=default)


# ----------------------------------------------------------------------------- pseudo-Huber

c1_var = scale_var(1.0)
c = c1_var.symbol
pseudo_huber_formula = c**2 * (sp.sqrt(1 + (residual / c) ** 2) - 1)

pseudo_huber = Loss(
    name="pseudo_huber",
    title="Pseudo-Huber (Charbonnier) loss",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(c1_var,),
    formula=pseudo_huber_formula,
    origin=Definition("Charbonnier et al., Two deterministic half-quadratic regularization algorithms, ICIP 1994"),
    use_case="smooth robust regression, optical flow",
    link="identity",
    label_format="real",
    claims=(
        derivative("dL/dyhat = r / sqrt(1 + (r/c)^2)", pseudo_huber_formula, yhat,
                   residual / sp.sqrt(1 + (residual / c) ** 2)),
        sign("convex: the Hessian (1 + (r/c)^2)^(-3/2) is positive", sp.diff(pseudo_huber_formula, yhat, 2), ">"),
        limit("tends to r^2/2 as c -> oo", pseudo_huber_formula, c, sp.oo, residual**2 / 2),
        # "L <= r^2/2" (true: sqrt(1 + x^2) <= 1 + x^2/2) came out unknown, with or without r = u > 0; stated instead
        # as the linear growth of the tail:
        limit("grows like c |r|: L - c r tends to -c^2 as yhat -> oo", pseudo_huber_formula - c * residual, yhat,
              sp.oo, -(c**2)),
        minimizer("minimized at yhat = y", pseudo_huber_formula, yhat, y),
    ),
    examples=(Example("r = 2, c = 1", pseudo_huber_formula, {yhat: 3, y: 1, c: 1}, 1.2360679775, 10, SCRATCH),),
)

# ------------------------------------------------------------------------------- Barron

alpha_var = var("alpha", interval("(0, 2)", 0, 2), r"\alpha", "shape: 2 is L2, 1 pseudo-Huber, 0 Cauchy",
                default=1.0)
alpha = alpha_var.symbol
x_over_c = residual / c
barron_base = x_over_c**2 / sp.Abs(alpha - 2) + 1
barron_formula = sp.Abs(alpha - 2) / alpha * (barron_base ** (alpha / 2) - 1)

barron = Loss(
    name="barron",
    title="Barron's general robust loss, 0 < alpha < 2",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(alpha_var, c1_var),
    formula=barron_formula,
    origin=Definition("Barron, A General and Adaptive Robust Loss Function, CVPR 2019"),
    use_case="robust regression with a tunable tail",
    link="identity",
    label_format="real",
    claims=(
        # Written with the exponent alpha/2 - 1 the right side is unknown to the prover (also with 2 - alpha for
        # |alpha - 2|); as b^(alpha/2) / b it is proved.
        derivative("dL/dyhat = (r/c^2) b^(alpha/2 - 1), b = (r/c)^2/|alpha - 2| + 1", barron_formula, yhat,
                   residual / c**2 * barron_base ** (alpha / 2) / barron_base),
        identity("alpha = 1 gives the pseudo-Huber loss divided by c^2", barron_formula.subs(alpha, 1),
                 pseudo_huber_formula / c**2),
        # The L2 limit as alpha -> 2 is left out: sympy.limit raises NotImplementedError on it (also written with
        # alpha = 2 - e, e -> 0), so the prover can only say unknown.
        limit("tends to log((r/c)^2/2 + 1) (Cauchy) as alpha -> 0", barron_formula, alpha, 0,
              sp.log(x_over_c**2 / 2 + 1)),
        # "nonnegative" is unknown to the prover (a power with a symbolic exponent), and "minimized at yhat = y" is
        # proved in about 13 s, too close to the 20 s budget on a loaded machine; the sign of the gradient is quick.
        sign("the gradient is positive where yhat > y", sp.diff(barron_formula, yhat).subs(yhat, y + u), ">",
             scope=beyond),
    ),
    examples=(Example("r = 2, alpha = 1/2, c = 1", barron_formula, {yhat: 3, y: 1, alpha: sp.Rational(1, 2), c: 1},
                      1.15134772569, 10, SCRATCH),),
)

# ------------------------------------------------------------------------- Geman-McClure

geman_mcclure_formula = residual**2 / (residual**2 + c**2)

geman_mcclure = Loss(
    name="geman_mcclure",
    title="Geman-McClure loss",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(c1_var,),
    formula=geman_mcclure_formula,
    origin=Definition("Geman and McClure, Statistical methods for tomographic image reconstruction, 1987"),
    use_case="redescending M-estimator: outliers get a vanishing gradient",
    link="identity",
    label_format="real",
    claims=(
        derivative("dL/dyhat = 2 r c^2 / (r^2 + c^2)^2", geman_mcclure_formula, yhat,
                   2 * residual * c**2 / (residual**2 + c**2) ** 2),
        inequality("bounded: L < 1", geman_mcclure_formula, "<", 1),
        limit("tends to 1 as yhat -> oo", geman_mcclure_formula, yhat, sp.oo, 1),
        limit("c^2 L tends to r^2 as c -> oo", c**2 * geman_mcclure_formula, c, sp.oo, residual**2),
        sign("convex in yhat", sp.diff(geman_mcclure_formula, yhat, 2), ">=", expected="refuted",
             note="false: the Hessian 2c^2(c^2 - 3r^2)/(r^2 + c^2)^3 is negative for |r| > c/sqrt(3)"),
        minimizer("minimized at yhat = y", geman_mcclure_formula, yhat, y),
    ),
    examples=(Example("r = 1.5, c = 2", geman_mcclure_formula, {yhat: sp.Rational(5, 2), y: 1, c: 2}, 0.36, 2,
                      SCRATCH),),
)

# -------------------------------------------------------------------------------- Welsch

welsch_formula = c**2 / 2 * (1 - sp.exp(-(residual / c) ** 2))

welsch = Loss(
    name="welsch",
    title="Welsch (Leclerc) loss",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(c1_var,),
    formula=welsch_formula,
    origin=Definition("Dennis and Welsch, Techniques for nonlinear least squares and robust regression, 1978"),
    use_case="redescending M-estimator with a Gaussian-shaped weight",
    link="identity",
    label_format="real",
    claims=(
        derivative("dL/dyhat = r exp(-(r/c)^2)", welsch_formula, yhat, residual * sp.exp(-(residual / c) ** 2)),
        inequality("bounded: L < c^2/2", welsch_formula, "<", c**2 / 2),
        limit("tends to r^2/2 as c -> oo", welsch_formula, c, sp.oo, residual**2 / 2),
        # "nonnegative" (1 - e^(-x^2) >= 0) is unknown to the prover, also with r = u > 0; the minimizer is proved.
        minimizer("minimized at yhat = y", welsch_formula, yhat, y),
    ),
    examples=(Example("r = 1, c = 1", welsch_formula, {yhat: 2, y: 1, c: 1}, 0.316060279414, 12, SCRATCH),),
)

# ------------------------------------------------------------------------ Cauchy / Lorentzian


def cauchy_density(obs: sp.Expr, location: sp.Expr, scale: sp.Expr) -> sp.Expr:
    """Cauchy pdf 1 / (pi c (1 + ((y - m)/c)^2))."""
    return 1 / (sp.pi * scale * (1 + ((obs - location) / scale) ** 2))


cauchy_formula = c**2 / 2 * sp.log(1 + (residual / c) ** 2)

cauchy = Loss(
    name="cauchy",
    title="Cauchy (Lorentzian) loss",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(c1_var,),
    formula=cauchy_formula,
    origin=Likelihood("Cauchy with location yhat and scale c", cauchy_density(y, yhat, c), y_var,
                      scale=2 / c**2, shift=sp.log(sp.pi * c)),
    use_case="regression with very heavy-tailed noise",
    link="identity",
    label_format="real",
    claims=(
        identity("-log P = (2/c^2) L + log(pi c)", -sp.log(cauchy_density(y, yhat, c)),
                 2 / c**2 * cauchy_formula + sp.log(sp.pi * c)),
        derivative("dL/dyhat = r / (1 + (r/c)^2)", cauchy_formula, yhat, residual / (1 + (residual / c) ** 2)),
        limit("tends to r^2/2 as c -> oo", cauchy_formula, c, sp.oo, residual**2 / 2),
        sign("convex in yhat", sp.diff(cauchy_formula, yhat, 2), ">=", expected="refuted",
             note="false: the Hessian is negative for |r| > c"),
        minimizer("minimized at yhat = y", cauchy_formula, yhat, y),
    ),
    examples=(Example("r = 3, c = 2", cauchy_formula, {yhat: 4, y: 1, c: 2}, 2.35730999268, 11, SCRATCH),),
)

# ------------------------------------------------------------------------------ Student-t

nu_var = var("nu", POSITIVE, r"\nu", "degrees of freedom", default=3.0)
sigma_var = var("sigma", POSITIVE, r"\sigma", "scale", default=1.0)
nu, sigma = nu_var.symbol, sigma_var.symbol
student_density = (sp.gamma((nu + 1) / 2) / (sp.gamma(nu / 2) * sp.sqrt(nu * sp.pi) * sigma)
                   * (1 + residual**2 / (nu * sigma**2)) ** (-(nu + 1) / 2))
student_formula = (nu + 1) / 2 * sp.log(1 + residual**2 / (nu * sigma**2))
student_shift = sp.log(sp.gamma(nu / 2)) - sp.log(sp.gamma((nu + 1) / 2)) + sp.log(sp.sqrt(nu * sp.pi) * sigma)

student_t_nll = Loss(
    name="student_t_nll",
    title="Student-t negative log-likelihood",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(nu_var, sigma_var),
    formula=student_formula,
    origin=Likelihood("Student-t with location yhat, scale sigma, nu degrees of freedom", student_density, y_var,
                      shift=student_shift),
    use_case="regression with heavy-tailed noise of known degrees of freedom",
    link="identity",
    label_format="real",
    claims=(
        derivative("dL/dyhat = (nu + 1) r / (nu sigma^2 + r^2)", student_formula, yhat,
                   (nu + 1) * residual / (nu * sigma**2 + residual**2)),
        limit("tends to the Gaussian NLL r^2/(2 sigma^2) as nu -> oo", student_formula, nu, sp.oo,
              residual**2 / (2 * sigma**2)),
        minimizer("minimized at yhat = y", student_formula, yhat, y),
        sign("nonnegative", student_formula, ">="),
    ),
    examples=(Example("r = 2, nu = 3, sigma = 1", student_formula, {yhat: 3, y: 1, nu: 3, sigma: 1},
                      1.69459572077, 11, SCRATCH),),
)

# ------------------------------------------------------------------------- Tukey biweight

c_tukey_var = scale_var(4.685, "rejection threshold (4.685: 95% efficiency under Gaussian noise)")
tukey_inside = c**2 / 6 * (1 - (1 - (residual / c) ** 2) ** 3)
tukey_formula = sp.Piecewise((tukey_inside, sp.Abs(residual) <= c), (c**2 / 6, True))

tukey_biweight = Loss(
    name="tukey_biweight",
    title="Tukey's biweight (bisquare) loss",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(c_tukey_var,),
    formula=tukey_formula,
    origin=Definition("Beaton and Tukey, The fitting of power series, meaning polynomials, illustrated on "
                      "band-spectroscopic data, Technometrics 1974"),
    use_case="redescending M-estimator that ignores residuals beyond c",
    link="identity",
    label_format="real",
    claims=(
        identity("the two branches agree at r = c (continuous)", tukey_inside.subs(yhat, y + c), c**2 / 6),
        # Stated on the inner branch: the derivative of the whole Piecewise at yhat = y + c s is unknown.
        derivative("the gradient is r (1 - (r/c)^2)^2 where |r| <= c", tukey_inside, yhat,
                   residual * (1 - (residual / c) ** 2) ** 2),
        identity("constant c^2/6 where r > c", tukey_formula.subs(yhat, y + c + u), c**2 / 6, scope=beyond),
        # On the whole Piecewise "L <= c^2/6" is unknown; on the inner branch at r = c s, |s| < 1, it is proved.
        inequality("bounded: L <= c^2/6 where |r| < c", tukey_inside.subs(yhat, y + c * s), "<=", c**2 / 6,
                   scope=inside),
    ),
    examples=(Example("r = 2, c = 4.685", tukey_formula, {yhat: 3, y: 1, c: sp.Rational(4685, 1000)},
                      1.6576630875, 10, SCRATCH),),
)

# ----------------------------------------------------------------------------------- Fair

fair_formula = c**2 * (sp.Abs(residual) / c - sp.log(1 + sp.Abs(residual) / c))

fair = Loss(
    name="fair",
    title="Fair loss",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(c1_var,),
    formula=fair_formula,
    origin=Definition("Fair, On the robust estimation of econometric models, 1974"),
    use_case="convex robust regression with a C2 penalty",
    link="identity",
    label_format="real",
    claims=(
        identity("the gradient is r / (1 + r/c) where r > 0", sp.diff(fair_formula, yhat).subs(yhat, y + u),
                 u / (1 + u / c), scope=beyond),
        identity("the gradient is r / (1 - r/c) where r < 0", sp.diff(fair_formula, yhat).subs(yhat, y - u),
                 -u / (1 + u / c), scope=beyond),
        sign("convex where r > 0", sp.diff(fair_formula, yhat, 2).subs(yhat, y + u), ">", scope=beyond),
        limit("tends to r^2/2 as c -> oo", fair_formula, c, sp.oo, residual**2 / 2),
    ),
    examples=(Example("r = 2, c = 1", fair_formula, {yhat: 3, y: 1, c: 1}, 0.901387711332, 12, SCRATCH),),
)

# ------------------------------------------------------------------------------- quantile

tau_var = var("tau", interval("(0, 1)", 0, 1), r"\tau", "quantile level", default=0.5,
              unset=Unset(sp.Rational(1, 2), "the median"))
tau = tau_var.symbol
quantile_formula = sp.Max(tau * (y - yhat), (tau - 1) * (y - yhat))

quantile = Loss(
    name="quantile",
    title="Quantile (pinball) loss",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(tau_var,),
    formula=quantile_formula,
    origin=Definition("Koenker and Bassett, Regression Quantiles, Econometrica 1978"),
    use_case="predicting a conditional quantile",
    link="identity",
    label_format="real",
    claims=(
        identity("tau u where y = yhat + u (under-prediction)", quantile_formula.subs(y, yhat + u), tau * u,
                 scope=beyond),
        identity("(1 - tau) u where y = yhat - u (over-prediction)", quantile_formula.subs(y, yhat - u),
                 (1 - tau) * u, scope=beyond),
        identity("tau = 1/2 gives half the absolute error", quantile_formula.subs(tau, sp.Rational(1, 2)),
                 sp.Abs(residual) / 2),
        # "nonnegative" on the whole Max is unknown to the prover; the gradient in a region is proved.
        identity("the gradient is -tau where y > yhat", sp.diff(quantile_formula, yhat).subs(y, yhat + u), -tau,
                 scope=beyond),
    ),
    examples=(Example("tau = 0.9, y = 3, yhat = 1", quantile_formula, {yhat: 1, y: 3, tau: sp.Rational(9, 10)},
                      1.8, 1, SCRATCH),),
)

# ----------------------------------------------------------------------- epsilon-insensitive

eps_var = var("epsilon", NONNEGATIVE, r"\varepsilon", "half-width of the tube without loss", default=0.1)
eps = eps_var.symbol
eps_formula = sp.Max(0, sp.Abs(residual) - eps)

epsilon_insensitive = Loss(
    name="epsilon_insensitive",
    title="Epsilon-insensitive loss",
    family="robust regression",
    output=yhat_var,
    target=y_var,
    params=(eps_var,),
    formula=eps_formula,
    origin=Definition("Vapnik, The Nature of Statistical Learning Theory, 1995 (support vector regression)"),
    use_case="support vector regression",
    link="identity",
    label_format="real",
    claims=(
        # With r = epsilon s, -1 < s < 1, this is unknown; split into 0 <= s < 1 on each side, it is proved.
        identity("zero inside the tube, 0 <= r < epsilon", eps_formula.subs(yhat, y + eps * w), 0, scope=tube),
        identity("zero inside the tube, -epsilon < r <= 0", eps_formula.subs(yhat, y - eps * w), 0, scope=tube),
        identity("|r| - epsilon where r > epsilon", eps_formula.subs(yhat, y + eps + u), u, scope=beyond),
        identity("epsilon = 0 gives the absolute error", eps_formula.subs(eps, 0), sp.Abs(residual)),
        inequality("below the absolute error", eps_formula, "<=", sp.Abs(residual)),
    ),
    examples=(Example("r = 2, epsilon = 0.5", eps_formula, {yhat: 3, y: 1, eps: sp.Rational(1, 2)}, 1.5, 1,
                      SCRATCH),),
)
