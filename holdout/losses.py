r"""Three held-out losses, one from each of three families, declared as a user would.

The Gumbel (extreme value) negative log-likelihood on a real target with location ŷ
and scale β; the wing loss of facial landmark regression, logarithmic for small
residuals and linear beyond w; and the smooth (Huberized) hinge of Rennie and
Srebro on the margin t = y·f with y ∈ {−1, +1}.  The stability rules were not
written or tuned with any of them in view (see README.md).
"""

import sympy as sp

from symloss.loss import Definition, Example, Likelihood, Loss, derivative, identity, limit, minimizer, sign
from symloss.notation import NONNEGATIVE, POSITIVE, REAL, SIGNED, UNIT_OPEN, Scope, var

SCRATCH = "computed with mpmath at 50 digits for this file (holdout/_reference_values.py)"

u_var = var("u", POSITIVE, "u", "how far beyond a threshold")
t_var = var("t", NONNEGATIVE, "t", "how far beyond a threshold, possibly on it")
s_var = var("s", UNIT_OPEN, "s", "where inside (0, 1) the point sits")
u, t, s = (v.symbol for v in (u_var, t_var, s_var))
beyond = Scope((u_var,))
on_or_beyond = Scope((t_var,))
inside = Scope((s_var,))

# ------------------------------------------------------------------------------------ Gumbel NLL

yhat_var = var("yhat", REAL, r"\hat{y}", "predicted location")
y_var = var("y", REAL, "y", "observed value")
beta_var = var("beta", POSITIVE, r"\beta", "scale of the Gumbel distribution", default=1.0)
yhat, y, beta = (v.symbol for v in (yhat_var, y_var, beta_var))
standardized = (y - yhat) / beta  # z = (y − ŷ)/β
gumbel_density = sp.exp(-standardized - sp.exp(-standardized)) / beta
gumbel_formula = standardized + sp.exp(-standardized) + sp.log(beta)
gumbel_gradient = (sp.exp(-standardized) - 1) / beta

gumbel_nll = Loss(
    name="gumbel_nll",
    title="Gumbel (extreme value) negative log-likelihood",
    family="extreme values",
    output=yhat_var,
    target=y_var,
    params=(beta_var,),
    formula=gumbel_formula,
    origin=Likelihood("Gumbel (maximum) with location yhat and scale beta", gumbel_density, y_var),
    use_case="regressing maxima: flood levels, peak loads, the largest of many",
    link="identity",
    label_format="real",
    claims=(
        derivative("dL/dyhat = (e^(-(y - yhat)/beta) - 1)/beta", gumbel_formula, yhat, gumbel_gradient),
        sign("convex in yhat", sp.diff(gumbel_formula, yhat, 2), ">"),
        minimizer("minimized at yhat = y", gumbel_formula, yhat, y),
        limit("the gradient tends to -1/beta as yhat -> -oo", gumbel_gradient, yhat, -sp.oo, -1 / beta),
        identity("symmetric in the residual: L(y = yhat + u) = L(y = yhat - u)", gumbel_formula.subs(y, yhat + u),
                 gumbel_formula.subs(y, yhat - u), scope=beyond, expected="refuted",
                 note="false: the Gumbel density is skewed; the loss grows like e^(u/beta) on one side and like "
                      "u/beta on the other"),
    ),
    examples=(Example("y = 2, yhat = 1, beta = 0.5", gumbel_formula, {y: 2, yhat: 1, beta: sp.Rational(1, 2)},
                      1.4421881027, 10, SCRATCH),),
)

# ------------------------------------------------------------------------------------ wing loss

w_var = var("w", POSITIVE, "w", "width of the logarithmic part", default=10.0)
eps_var = var("eps", POSITIVE, r"\epsilon", "curvature of the logarithmic part", default=2.0)
w, eps = w_var.symbol, eps_var.symbol
residual = yhat - y
wing_offset = w - w * sp.log(1 + w / eps)  # C: joins the two pieces at |r| = w
wing_log = w * sp.log(1 + sp.Abs(residual) / eps)
wing_linear = sp.Abs(residual) - wing_offset
wing_formula = sp.Piecewise((wing_log, sp.Abs(residual) < w), (wing_linear, True))
wing_gradient = sp.diff(wing_formula, yhat)

wing = Loss(
    name="wing",
    title="Wing loss",
    family="landmark regression",
    output=yhat_var,
    target=y_var,
    params=(w_var, eps_var),
    formula=wing_formula,
    origin=Definition("Feng et al., Wing Loss for Robust Facial Landmark Localisation with Convolutional Neural "
                      "Networks, CVPR 2018"),
    use_case="facial landmark localisation: amplifies small and medium residuals",
    link="identity",
    label_format="real",
    claims=(
        identity("the two pieces agree at |r| = w (continuous)", wing_log.subs(yhat, y + w),
                 wing_linear.subs(yhat, y + w)),
        # Written with r = s w, s in (0, 1), this was unknown (the condition |s w| < w stayed unsimplified);
        # with w = |r| + u it is proved, on both sides of zero at once.
        identity("dL/dyhat = w sign(r)/(eps + |r|) where |r| < w", wing_gradient.subs(w, sp.Abs(residual) + u),
                 (sp.Abs(residual) + u) * sp.sign(residual) / (eps + sp.Abs(residual)), scope=beyond),
        identity("dL/dyhat = 1 where r = w + u", wing_gradient.subs(yhat, y + w + u), 1, scope=beyond),
        identity("the slopes of the two pieces agree at r = w (C1)", sp.diff(wing_log, yhat).subs(yhat, y + w),
                 sp.diff(wing_linear, yhat).subs(yhat, y + w), expected="refuted",
                 note="false: the logarithmic piece has slope w/(eps + w) < 1 at r = w, the linear piece 1"),
        sign("nonnegative", wing_formula, ">="),
        # "minimized at yhat = y" was unknown (no strategy for a piecewise of Abs); the sign of the gradient on
        # each side of y says the same and is proved.
        sign("the gradient is positive where yhat > y", wing_gradient.subs(yhat, y + u), ">", scope=beyond),
        sign("the gradient is negative where yhat < y", wing_gradient.subs(yhat, y - u), "<", scope=beyond),
    ),
    examples=(
        Example("r = 1, w = 10, eps = 2 (logarithmic part)", wing_formula, {yhat: 2, y: 1, w: 10, eps: 2},
                4.0546510811, 10, SCRATCH),
        Example("r = 15, w = 10, eps = 2 (linear part)", wing_formula, {yhat: 16, y: 1, w: 10, eps: 2},
                22.9175946923, 10, SCRATCH),
    ),
)

# ---------------------------------------------------------------------------------- smooth hinge

f_var = var("f", REAL, "f", "raw score")
label_var = var("y", SIGNED, "y", "label in {-1, +1}")
f, label = f_var.symbol, label_var.symbol
margin = label * f
hinge_linear = sp.Rational(1, 2) - margin
hinge_quadratic = (1 - margin) ** 2 / 2
smooth_hinge_formula = sp.Piecewise((hinge_linear, margin <= 0), (hinge_quadratic, margin < 1), (0, True))

smooth_hinge = Loss(
    name="smooth_hinge",
    title="Smooth (Huberized) hinge loss",
    family="margin classification",
    output=f_var,
    target=label_var,
    formula=smooth_hinge_formula,
    origin=Definition("Rennie and Srebro, Loss Functions for Preference Levels: Regression with Discrete Ordered "
                      "Labels, IJCAI Workshop on Advances in Preference Handling, 2005"),
    use_case="a differentiable hinge for gradient-based SVM training",
    link="identity (raw score)",
    label_format="-1 or +1",
    claims=(
        identity("zero where y f = 1 + t", smooth_hinge_formula.subs(f, (1 + t) / label), 0, scope=on_or_beyond),
        identity("linear, 1/2 + u, where y f = -u", smooth_hinge_formula.subs(f, -u / label),
                 sp.Rational(1, 2) + u, scope=beyond),
        identity("dL/df = -y (1 - s) where y f = s in (0, 1)",
                 sp.diff(smooth_hinge_formula, f).subs(f, s / label), -label * (1 - s), scope=inside),
        identity("the slopes of the linear and quadratic pieces agree at y f = 0 (C1)",
                 sp.diff(hinge_linear, f).subs(f, 0), sp.diff(hinge_quadratic, f).subs(f, 0)),
        identity("the curvatures of the quadratic and zero pieces agree at y f = 1 (C2)",
                 sp.diff(hinge_quadratic, f, 2).subs(f, 1 / label), 0, expected="refuted",
                 note="false: the quadratic piece has curvature y^2 = 1 up to y f = 1, the zero piece 0"),
    ),
    examples=(
        Example("y = 1, f = 0.5 (quadratic part)", smooth_hinge_formula, {label: 1, f: sp.Rational(1, 2)}, 0.125, 3,
                SCRATCH),
        Example("y = -1, f = 0.5 (linear part)", smooth_hinge_formula, {label: -1, f: sp.Rational(1, 2)}, 1.0, 1,
                SCRATCH),
    ),
)
