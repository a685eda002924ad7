r"""Regression: a real target y and a prediction ŷ, residual r = ŷ − y.

Squared error is the negative log-likelihood of a Gaussian with fixed
variance, absolute error that of a Laplace distribution with fixed scale —
each up to a positive factor and an additive constant that do not move the
minimizer.  Huber and smooth L1 join a quadratic centre to linear tails
with a continuous slope; log-cosh does the same smoothly.  The Gaussian NLL
with a predicted variance, and the Poisson NLL on a log-rate, are the full
negative log-likelihoods.
"""

import sympy as sp

from symloss.likelihood import exponential_family, gaussian, laplace, poisson
from symloss.loss import Definition, Likelihood, Loss, derivative, identity, limit, sign
from symloss.notation import NONNEGATIVE, POSITIVE, REAL, Domain, Scope, var

t_var = var("t", NONNEGATIVE, "t", "how far inside a region")
u_var = var("u", POSITIVE, "u", "how far beyond a threshold")
yhat_var = var("yhat", REAL, r"\hat{y}", "prediction")
y_var = var("y", REAL, "y", "target")
r_var = var("r", REAL, "r", "residual")
sigma_var = var("sigma", POSITIVE, r"\sigma", "fixed noise standard deviation")
b_var = var("b", POSITIVE, "b", "fixed Laplace scale")
delta_var = var("delta", POSITIVE, r"\delta", "threshold between the quadratic and linear parts",
                default=1.0)
beta_var = var("beta", POSITIVE, r"\beta", "threshold of smooth L1", default=1.0)

yhat, y, r, sigma, b = (v.symbol for v in (yhat_var, y_var, r_var, sigma_var, b_var))
t, u = t_var.symbol, u_var.symbol
band = Scope((r_var, t_var, u_var))
delta, beta = delta_var.symbol, beta_var.symbol
residual = yhat - y
at_residual = {yhat: y + r}  # write ŷ = y + r to state facts about the residual

# --------------------------------------------------------------------------------------- MSE

mse_formula = residual**2
mse_scale, mse_shift = 1 / (2 * sigma**2), sp.log(2 * sp.pi * sigma**2) / 2

mse = Loss(
    name="mse",
    title="Mean squared error",
    family="regression",
    output=yhat_var,
    target=y_var,
    formula=mse_formula,
    origin=Likelihood("Gaussian, fixed variance sigma^2", gaussian(y, yhat, sigma**2), y_var,
                      scale=mse_scale, shift=mse_shift),
    use_case="regression with light-tailed noise",
    link="identity",
    label_format="real",
    claims=(
        identity("MSE is the Gaussian NLL with fixed sigma, up to a positive scale and a constant",
                 -sp.log(gaussian(y, yhat, sigma**2)), mse_scale * mse_formula + mse_shift, scope=Scope((sigma_var,))),
        derivative("dMSE/dyhat = 2(yhat - y)", mse_formula, yhat, 2 * residual),
        identity("exponential family: the unit-variance Gaussian NLL is A(yhat) - yhat y - log h(y), A = yhat^2/2",
                 -sp.log(gaussian(y, yhat, 1)),
                 -sp.log(exponential_family(y, yhat, yhat**2 / 2, sp.exp(-(y**2) / 2) / sp.sqrt(2 * sp.pi)))),
        derivative("exponential family: A'(yhat) = yhat = E[y], so dNLL/dyhat = E[T(y)] - T(y)",
                   -sp.log(gaussian(y, yhat, 1)), yhat, yhat - y),
    ),
)

# --------------------------------------------------------------------------------------- MAE

mae_formula = sp.Abs(residual)

mae = Loss(
    name="mae",
    title="Mean absolute error",
    family="regression",
    output=yhat_var,
    target=y_var,
    formula=mae_formula,
    origin=Likelihood("Laplace, fixed scale b", laplace(y, yhat, b), y_var, scale=1 / b, shift=sp.log(2 * b)),
    use_case="regression with outliers; estimates the conditional median",
    link="identity",
    label_format="real",
    claims=(
        identity("MAE is the Laplace NLL with fixed scale, up to a positive scale and a constant",
                 -sp.log(laplace(y, yhat, b)), mae_formula / b + sp.log(2 * b), scope=Scope((b_var,))),
        derivative("dMAE/dyhat = sign(yhat - y) away from yhat = y", mae_formula, yhat, sp.sign(residual)),
    ),
)

# ------------------------------------------------------------------------------------- Huber

huber_quadratic = residual**2 / 2
huber_linear = delta * (sp.Abs(residual) - delta / 2)
huber_formula = sp.Piecewise((huber_quadratic, (-delta <= residual) & (residual <= delta)), (huber_linear, True))
clip = sp.Max(-delta, sp.Min(delta, residual))
at_threshold = ({yhat: y + delta}, {yhat: y - delta})
huber_gradient = sp.diff(huber_formula, yhat)
# regions of the residual, through auxiliary t >= 0 and u > 0: |r| <= delta, r > delta, r < -delta
inside_band = {yhat: y + r, delta: sp.Abs(r) + t}
above_band = {yhat: y + delta + u}
below_band = {yhat: y - delta - u}

huber = Loss(
    name="huber",
    title="Huber loss",
    family="regression",
    output=yhat_var,
    target=y_var,
    params=(delta_var,),
    formula=huber_formula,
    origin=Definition("Huber (1964): quadratic for |r| <= delta, linear beyond"),
    use_case="robust regression: squared error near zero, absolute error for outliers",
    link="identity",
    label_format="real",
    claims=(
        identity("the two branches agree at r = delta (continuous)",
                 huber_quadratic.subs(at_threshold[0]), huber_linear.subs(at_threshold[0])),
        identity("the two branches agree at r = -delta (continuous)",
                 huber_quadratic.subs(at_threshold[1]), huber_linear.subs(at_threshold[1])),
        identity("the slopes of the two branches agree at r = delta (C1)",
                 sp.diff(huber_quadratic, yhat).subs(at_threshold[0]),
                 sp.diff(huber_linear, yhat).subs(at_threshold[0])),
        identity("the slopes of the two branches agree at r = -delta (C1)",
                 sp.diff(huber_quadratic, yhat).subs(at_threshold[1]),
                 sp.diff(huber_linear, yhat).subs(at_threshold[1])),
        identity("the Huber gradient is clip(r, -delta, delta) where |r| <= delta",
                 huber_gradient.subs(inside_band), clip.subs(inside_band), scope=band),
        identity("the Huber gradient is clip(r, -delta, delta) where r > delta",
                 huber_gradient.subs(above_band), clip.subs(above_band), scope=band),
        identity("the Huber gradient is clip(r, -delta, delta) where r < -delta",
                 huber_gradient.subs(below_band), clip.subs(below_band), scope=band),
    ),
)

smooth_l1_formula = sp.Piecewise((residual**2 / (2 * beta), (-beta < residual) & (residual < beta)),
                                 (sp.Abs(residual) - beta / 2, True))

smooth_clip = sp.Max(-1, sp.Min(1, residual / beta))

smooth_l1 = Loss(
    name="smooth_l1",
    title="Smooth L1 loss",
    family="regression",
    output=yhat_var,
    target=y_var,
    params=(beta_var,),
    formula=smooth_l1_formula,
    origin=Definition("Girshick (2015), Fast R-CNN box regression"),
    use_case="bounding-box regression",
    link="identity",
    label_format="real",
    claims=(
        identity("smooth_l1 with beta is Huber with delta = beta, divided by beta",
                 smooth_l1_formula, huber_formula.subs(delta, beta) / beta),
        *(
            identity(f"the smooth L1 gradient is clip(r/beta, -1, 1) where {where}",
                     sp.diff(smooth_l1_formula, yhat).subs(at), smooth_clip.subs(at), scope=band)
            for where, at in (
                ("r >= beta", {yhat: y + beta + t}),
                ("r <= -beta", {yhat: y - beta - t}),
            )
        ),
    ),
)

# ---------------------------------------------------------------------------------- log-cosh

log_cosh_formula = sp.log(sp.cosh(residual))
log_cosh_of_r = log_cosh_formula.subs(at_residual)

log_cosh = Loss(
    name="log_cosh",
    title="Log-cosh loss",
    family="regression",
    output=yhat_var,
    target=y_var,
    formula=log_cosh_formula,
    origin=Definition("log of the hyperbolic cosine of the residual"),
    use_case="smooth robust regression with a positive second derivative (second-order optimizers, boosting)",
    link="identity",
    label_format="real",
    claims=(
        derivative("the log-cosh gradient is tanh(r)", log_cosh_formula, yhat, sp.tanh(residual)),
        derivative("the log-cosh Hessian is sech^2(r)", log_cosh_formula, yhat, 1 / sp.cosh(residual) ** 2, order=2),
        sign("the log-cosh Hessian is positive", 1 / sp.cosh(residual) ** 2, ">"),
        *(
            identity(f"log cosh r and r^2/2 have the same derivative of order {n} at r = 0, so they differ by O(r^4)",
                     sp.diff(log_cosh_of_r, r, n).subs(r, 0), sp.diff(r**2 / 2, r, n).subs(r, 0))
            for n in range(4)
        ),
        limit("as r -> +oo: log cosh r - (|r| - log 2) tends to 0",
              log_cosh_of_r - (sp.Abs(r) - sp.log(2)), r, sp.oo, 0, scope=Scope((r_var,))),
        limit("as r -> -oo: log cosh r - (|r| - log 2) tends to 0",
              log_cosh_of_r - (sp.Abs(r) - sp.log(2)), r, -sp.oo, 0, scope=Scope((r_var,))),
    ),
)

# ------------------------------------------------------------------------------ Gaussian NLL

var_var = var("var", POSITIVE, r"s", "predicted variance")
variance = var_var.symbol
gaussian_nll_formula = (sp.log(variance) + residual**2 / variance) / 2

gaussian_nll = Loss(
    name="gaussian_nll",
    title="Gaussian negative log-likelihood",
    family="regression",
    output=yhat_var,
    target=y_var,
    inputs=(var_var,),
    formula=gaussian_nll_formula,
    origin=Likelihood("Gaussian with predicted mean and variance", gaussian(y, yhat, variance), y_var,
                      shift=sp.log(2 * sp.pi) / 2),
    use_case="heteroscedastic regression: the model predicts a mean and a variance",
    link="identity",
    label_format="real",
    claims=(
        identity("gaussian_nll follows from the Gaussian pdf, up to the constant log(2 pi)/2",
                 -sp.log(gaussian(y, yhat, variance)), gaussian_nll_formula + sp.log(2 * sp.pi) / 2),
        derivative("dNLL/dmean = (mean - y)/var", gaussian_nll_formula, yhat, residual / variance),
        derivative("dNLL/dvar = (1 - (y - mean)^2/var)/(2 var)", gaussian_nll_formula, variance,
                   (1 - residual**2 / variance) / (2 * variance)),
    ),
)

# ------------------------------------------------------------------------------- Poisson NLL

COUNT = Domain("count {0, 1, 2, ...}", low=0, low_open=False, integer=True)
log_rate_var = var("z", REAL, "z", "log of the predicted rate")
count_var = var("y", COUNT, "y", "observed count")
z, n = log_rate_var.symbol, count_var.symbol
poisson_nll_formula = sp.exp(z) - n * z

poisson_nll = Loss(
    name="poisson_nll",
    title="Poisson negative log-likelihood (log-rate input)",
    family="regression",
    output=log_rate_var,
    target=count_var,
    formula=poisson_nll_formula,
    origin=Likelihood("Poisson with rate exp(z)", poisson(n, sp.exp(z)), count_var, link="exp",
                      shift=sp.log(sp.factorial(n))),
    use_case="count regression",
    link="exp",
    label_format="nonnegative integer",
    claims=(
        identity("poisson_nll follows from the Poisson pmf, up to the constant log(y!)",
                 -sp.log(poisson(n, sp.exp(z))), poisson_nll_formula + sp.log(sp.factorial(n))),
        derivative("exponential family: A(z) = exp(z), A'(z) = exp(z) = E[y], so dNLL/dz = E[T(y)] - T(y)",
                   poisson_nll_formula, z, sp.exp(z) - n),
        sign("convex in the log-rate", sp.diff(poisson_nll_formula, z, 2), ">"),
    ),
)
