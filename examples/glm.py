r"""Generalized linear models: positive or count targets with a log link.

The model predicts z = log μ (or the rate μ itself).  Gamma, inverse Gaussian
and negative binomial negative log-likelihoods with a log link, the Tweedie
loss between Poisson and gamma, the Poisson NLL on a rate (Keras' Poisson
loss), and the mean squared logarithmic error.
"""

import sympy as sp

from symloss.likelihood import poisson
from symloss.loss import Definition, Example, Likelihood, Loss, derivative, identity, inequality, limit, minimizer, sign
from symloss.notation import NONNEGATIVE, POSITIVE, REAL, Domain, Scope, interval, var

SCRATCH = "computed with mpmath at 50 digits for this file (examples/_reference_values.py)"
COUNT = Domain("count {0, 1, 2, ...}", low=0, low_open=False, integer=True)

z_var = var("z", REAL, "z", "log of the predicted mean, z = log mu")
y_var = var("y", POSITIVE, "y", "observed positive value")
u_var = var("u", POSITIVE, "u", "a positive value of the target")
z, y, u = z_var.symbol, y_var.symbol, u_var.symbol
positive_target = Scope((u_var,))

# ------------------------------------------------------------------------------ gamma NLL

k_var = var("k", POSITIVE, "k", "gamma shape, fixed")
k = k_var.symbol
gamma_density = y ** (k - 1) * sp.exp(-k * y * sp.exp(-z)) * (k * sp.exp(-z)) ** k / sp.gamma(k)
gamma_formula = z + y * sp.exp(-z)
gamma_shift = -(k - 1) * sp.log(y) - k * sp.log(k) + sp.log(sp.gamma(k))

gamma_nll = Loss(
    name="gamma_nll",
    title="Gamma NLL with a log link",
    family="glm",
    output=z_var,
    target=y_var,
    formula=gamma_formula,
    origin=Likelihood("Gamma with mean exp(z) and fixed shape k", gamma_density, y_var, link="exp",
                      scale=k, shift=gamma_shift),
    use_case="positive skewed targets: claim sizes, durations",
    link="exp",
    label_format="positive real",
    claims=(
        identity("-log P = k (z + y e^-z) + shift", -sp.log(gamma_density), k * gamma_formula + gamma_shift,
                 scope=Scope((k_var,))),
        derivative("dL/dz = 1 - y e^-z", gamma_formula, z, 1 - y * sp.exp(-z)),
        sign("convex in z", sp.diff(gamma_formula, z, 2), ">"),
        minimizer("minimized at z = log y", gamma_formula, z, sp.log(y)),
    ),
    examples=(Example("y = 2, z = 0.5", gamma_formula, {y: 2, z: sp.Rational(1, 2)}, 1.71306131943, 11, SCRATCH),),
)

# -------------------------------------------------------------------------------- Tweedie

p_var = var("p", interval("(1, 2)", 1, 2), "p", "Tweedie power, between Poisson (1) and gamma (2)", default=1.5)
y0_var = var("y", NONNEGATIVE, "y", "observed nonnegative value (zero allowed)")
p, y0 = p_var.symbol, y0_var.symbol
tweedie_formula = -y0 * sp.exp((1 - p) * z) / (1 - p) + sp.exp((2 - p) * z) / (2 - p)

tweedie = Loss(
    name="tweedie",
    title="Tweedie loss with a log link, 1 < p < 2",
    family="glm",
    output=z_var,
    target=y0_var,
    params=(p_var,),
    formula=tweedie_formula,
    origin=Definition("Jorgensen, The Theory of Dispersion Models, 1997; the Tweedie objective of XGBoost/LightGBM"),
    use_case="nonnegative targets with a point mass at zero: insurance losses, rainfall",
    link="exp",
    label_format="nonnegative real",
    claims=(
        derivative("dL/dz = e^((2-p) z) - y e^((1-p) z)", tweedie_formula, z,
                   sp.exp((2 - p) * z) - y0 * sp.exp((1 - p) * z)),
        sign("convex in z", sp.diff(tweedie_formula, z, 2), ">"),
        minimizer("minimized at z = log y where y > 0", tweedie_formula.subs(y0, u), z, sp.log(u),
                  scope=positive_target),
        limit("plus y/(1 - p), tends to the Poisson NLL e^z - y z as p -> 1", tweedie_formula + y0 / (1 - p), p, 1,
              sp.exp(z) - y0 * z),
        limit("minus 1/(2 - p), tends to the gamma NLL z + y e^-z as p -> 2", tweedie_formula - 1 / (2 - p), p, 2,
              z + y0 * sp.exp(-z)),
    ),
    examples=(Example("y = 2, z = 0.3, p = 1.5", tweedie_formula,
                      {y0: 2, z: sp.Rational(3, 10), p: sp.Rational(3, 2)}, 5.76650039116, 11, SCRATCH),),
)

# ---------------------------------------------------------------------- negative binomial

theta_var = var("theta", POSITIVE, r"\theta", "dispersion (inverse overdispersion)", default=1.0)
n_var = var("y", COUNT, "y", "observed count")
theta, n = theta_var.symbol, n_var.symbol
mean = sp.exp(z)
nb_density = (sp.gamma(n + theta) / (sp.gamma(theta) * sp.factorial(n))
              * (theta / (theta + mean)) ** theta * (mean / (theta + mean)) ** n)
nb_formula = (n + theta) * sp.log(theta + sp.exp(z)) - n * z
nb_shift = -sp.log(sp.gamma(n + theta)) + sp.log(sp.gamma(theta)) + sp.log(sp.factorial(n)) - theta * sp.log(theta)

negative_binomial_nll = Loss(
    name="negative_binomial_nll",
    title="Negative binomial NLL with a log link",
    family="glm",
    output=z_var,
    target=n_var,
    params=(theta_var,),
    formula=nb_formula,
    origin=Likelihood("negative binomial with mean exp(z) and dispersion theta", nb_density, n_var, link="exp",
                      shift=nb_shift),
    use_case="overdispersed counts (read counts, demand)",
    link="exp",
    label_format="nonnegative integer",
    claims=(
        derivative("dL/dz = theta (e^z - y) / (theta + e^z)", nb_formula, z,
                   theta * (sp.exp(z) - n) / (theta + sp.exp(z))),
        sign("convex in z", sp.diff(nb_formula, z, 2), ">"),
        limit("minus (y + theta) log theta, tends to the Poisson NLL e^z - y z as theta -> oo",
              nb_formula - (n + theta) * sp.log(theta), theta, sp.oo, sp.exp(z) - n * z),
        minimizer("minimized at z = log y where y > 0", nb_formula.subs(n, u), z, sp.log(u), scope=positive_target),
    ),
    examples=(Example("y = 3, z = 1, theta = 2", nb_formula, {n: 3, z: 1, theta: 2}, 4.75722356966, 11, SCRATCH),),
)

# ------------------------------------------------------------------------ inverse Gaussian

lam_var = var("lam", POSITIVE, r"\lambda", "inverse Gaussian shape, fixed")
lam = lam_var.symbol
ig_density = sp.sqrt(lam / (2 * sp.pi * y**3)) * sp.exp(-lam * (y - sp.exp(z)) ** 2 / (2 * sp.exp(2 * z) * y))
ig_formula = y * sp.exp(-2 * z) - 2 * sp.exp(-z)
ig_shift = lam / (2 * y) + sp.log(2 * sp.pi * y**3 / lam) / 2

inverse_gaussian_nll = Loss(
    name="inverse_gaussian_nll",
    title="Inverse Gaussian NLL with a log link",
    family="glm",
    output=z_var,
    target=y_var,
    formula=ig_formula,
    origin=Likelihood("inverse Gaussian with mean exp(z) and fixed shape lambda", ig_density, y_var, link="exp",
                      scale=lam / 2, shift=ig_shift),
    use_case="positive targets whose variance grows as the cube of the mean",
    link="exp",
    label_format="positive real",
    claims=(
        derivative("dL/dz = 2 e^-z - 2 y e^-2z", ig_formula, z, 2 * sp.exp(-z) - 2 * y * sp.exp(-2 * z)),
        minimizer("minimized at z = log y", ig_formula, z, sp.log(y)),
        inequality("L >= -1/y, its value at the minimum", ig_formula, ">=", -1 / y),
        sign("convex in z", sp.diff(ig_formula, z, 2), ">=", expected="refuted",
             note="false: the Hessian 2 e^-z (2 y e^-z - 1) is negative where e^z > 2y"),
    ),
    examples=(Example("y = 2, z = 0.5", ig_formula, {y: 2, z: sp.Rational(1, 2)}, -0.477302437082, 12, SCRATCH),),
)

# --------------------------------------------------------------------------- Poisson on a rate

mu_var = var("mu", POSITIVE, r"\mu", "predicted rate")
mu = mu_var.symbol
poisson_rate_formula = mu - n * sp.log(mu)

poisson_rate_nll = Loss(
    name="poisson_rate_nll",
    title="Poisson NLL on a rate (no log link)",
    family="glm",
    output=mu_var,
    target=n_var,
    formula=poisson_rate_formula,
    origin=Likelihood("Poisson with rate mu", poisson(n, mu), n_var, shift=sp.log(sp.factorial(n))),
    use_case="counts with a positive rate output (keras.losses.Poisson, torch PoissonNLLLoss(log_input=False))",
    link="identity (mu is a rate)",
    label_format="nonnegative integer",
    claims=(
        derivative("dL/dmu = 1 - y/mu", poisson_rate_formula, mu, 1 - n / mu),
        sign("convex in mu", sp.diff(poisson_rate_formula, mu, 2), ">="),
        minimizer("minimized at mu = y where y > 0", poisson_rate_formula.subs(n, u), mu, u, scope=positive_target),
    ),
    examples=(Example("y = 3, mu = 2.5", poisson_rate_formula, {n: 3, mu: sp.Rational(5, 2)}, -0.248872195622, 12,
                      SCRATCH),),
)

# ---------------------------------------------------------------------------------- MSLE

yhat_nn_var = var("yhat", NONNEGATIVE, r"\hat{y}", "nonnegative prediction")
y_nn_var = var("y", NONNEGATIVE, "y", "nonnegative target")
yhat_nn, y_nn = yhat_nn_var.symbol, y_nn_var.symbol
log_gap = sp.log(1 + yhat_nn) - sp.log(1 + y_nn)
msle_formula = log_gap**2

msle = Loss(
    name="msle",
    title="Mean squared logarithmic error",
    family="glm",
    output=yhat_nn_var,
    target=y_nn_var,
    formula=msle_formula,
    origin=Definition("keras.losses.MeanSquaredLogarithmicError: squared error of log(1 + y)"),
    use_case="nonnegative targets spanning orders of magnitude, relative errors",
    link="identity",
    label_format="nonnegative real",
    claims=(
        derivative("dL/dyhat = 2 (log(1 + yhat) - log(1 + y)) / (1 + yhat)", msle_formula, yhat_nn,
                   2 * log_gap / (1 + yhat_nn)),
        minimizer("minimized at yhat = y", msle_formula, yhat_nn, y_nn),
        sign("convex in yhat", sp.diff(msle_formula, yhat_nn, 2), ">=", expected="refuted",
             note="false: the Hessian 2 (1 - log((1 + yhat)/(1 + y))) / (1 + yhat)^2 is negative once "
                  "1 + yhat > e (1 + y)"),
    ),
    examples=(Example("yhat = 3, y = 1", msle_formula, {yhat_nn: 3, y_nn: 1}, 0.480453013918, 12, SCRATCH),),
)
