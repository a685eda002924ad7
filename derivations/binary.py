r"""Binary classification: a label y ∈ {0, 1} (or ±1 for the margin losses).

The Bernoulli likelihood :math:`P(y \mid p) = p^{y}(1-p)^{1-y}` gives the
binary cross-entropy; with the logistic link :math:`p = \sigma(z)` the
gradient with respect to the logit collapses to :math:`\sigma(z) - y`.
Focal loss reweights it, hinge and squared hinge replace it by a margin,
MSE on a sigmoid output is kept to show why squared error saturates, and
the Brier score is the squared error of a probability.
"""

import sympy as sp

from symloss.functions import sigmoid, softplus
from symloss.likelihood import bernoulli
from symloss.loss import Definition, Example, Likelihood, Loss, derivative, identity, limit, minimizer, sign
from symloss.notation import (
    BINARY,
    NONNEGATIVE,
    POSITIVE,
    REAL,
    SIGNED,
    UNIT_CLOSED,
    UNIT_OPEN,
    Scope,
    Unset,
    var,
)

CLASSIFICATION = '"Classification Loss Functions"'
LESSON = '"16-04 — Loss Functions"'
SHEET = 'the reference sheet "Loss Functions"'
NOTEBOOK = '"Loss functions (notebook chapter)"'

p_var = var("p", UNIT_OPEN, r"\hat{p}", "predicted probability of the positive class")
z_var = var("z", REAL, "z", "logit")
f_var = var("f", REAL, "f", "raw score")
y_var = var("y", BINARY, "y", "label")
s_var = var("y", SIGNED, "y", "label in {-1, +1}")
q_var = var("q", UNIT_OPEN, "q", "true probability of the positive class")
t_var = var("t", NONNEGATIVE, "t", "how far inside a region")
u_var = var("u", POSITIVE, "u", "how far inside an open region")
gamma_var = var("gamma", NONNEGATIVE, r"\gamma", "focusing parameter", default=2.0)
# alpha = None: no class balancing (torchvision's alpha < 0).  alpha = y gives alpha_t = y^2 + (1 - y)^2, which is
# exactly 1 for either label, so the kernels compute that case from the same forms with the factor gone.
alpha_var = var("alpha", UNIT_CLOSED, r"\alpha", "weight of the positive class", default=0.25,
                unset=Unset(y_var.symbol, "no class balancing, alpha_t = 1 for both classes"))
pos_weight_var = var("pos_weight", POSITIVE, r"w_{+}", "weight of the positive term", default=1.0)

p, z, f, y, ys, q, t, u = (v.symbol for v in (p_var, z_var, f_var, y_var, s_var, q_var, t_var, u_var))
gamma, alpha, pos_weight = gamma_var.symbol, alpha_var.symbol, pos_weight_var.symbol
proper = Scope((q_var,))
region = Scope((t_var, u_var))

# ----------------------------------------------------------------------------------------------- BCE

bce_formula = -(y * sp.log(p) + (1 - y) * sp.log(1 - p))
bce_expected = q * bce_formula.subs(y, 1) + (1 - q) * bce_formula.subs(y, 0)

bce = Loss(
    name="bce",
    title="Binary cross-entropy",
    family="binary",
    output=p_var,
    target=y_var,
    formula=bce_formula,
    origin=Likelihood("Bernoulli", bernoulli(y, p), y_var, link="identity (p is a probability)"),
    use_case="binary classification with a probability output",
    link="identity (probabilities)",
    label_format="0 or 1",
    claims=(
        identity("BCE is the negative log of the Bernoulli likelihood", -sp.log(bernoulli(y, p)), bce_formula),
        derivative("dBCE/dp = (p - y)/(p(1 - p))", bce_formula, p, (p - y) / (p * (1 - p))),
        minimizer("expected BCE under a true probability q is minimized at p = q (proper scoring rule)",
                  bce_expected, p, q, scope=proper),
    ),
    examples=(
        *(
            Example(f"churn anchor, sample {n}: y = {label}, p = {prob}", bce_formula, {y: label, p: prob},
                    stated, 3, CLASSIFICATION)
            for n, (label, prob, stated) in enumerate(
                [(0, 0.541, 0.779), (1, 0.823, 0.195), (0, 0.312, 0.375), (1, 0.791, 0.234), (0, 0.458, 0.612)],
                start=1,
            )
        ),
        Example("churn anchor, cost (mean of the five)", bce_formula,
                {y: [0, 1, 0, 1, 0], p: [0.541, 0.823, 0.312, 0.791, 0.458]}, 0.439, 3, CLASSIFICATION,
                reduce="mean"),
        Example("code listing, printed BCE", bce_formula,
                {y: [0, 1, 0, 1, 0], p: [0.541, 0.823, 0.312, 0.791, 0.458]}, 0.4390, 4, CLASSIFICATION,
                reduce="mean"),
    ),
)

# ------------------------------------------------------------------------------- BCE on logits

logit_formula = -(pos_weight * y * sp.log(sigmoid(z)) + (1 - y) * sp.log(1 - sigmoid(z)))
unweighted = logit_formula.subs(pos_weight, 1)

bce_with_logits = Loss(
    name="bce_with_logits",
    title="Binary cross-entropy on logits",
    family="binary",
    output=z_var,
    target=y_var,
    params=(pos_weight_var,),
    formula=logit_formula,
    origin=Likelihood("Bernoulli (positive term weighted by pos_weight)",
                      sigmoid(z) ** (pos_weight * y) * (1 - sigmoid(z)) ** (1 - y), y_var, link="sigmoid"),
    use_case="binary classification from a logit; pos_weight rebalances rare positives",
    link="sigmoid",
    label_format="0 or 1",
    claims=(
        derivative("dsigma/dz = sigma(1 - sigma)", sigmoid(z), z, sigmoid(z) * (1 - sigmoid(z))),
        identity("sigma(-z) = 1 - sigma(z)", sigmoid(-z), 1 - sigmoid(z)),
        identity("log sigma(z) = -softplus(-z)", sp.log(sigmoid(z)), -softplus(-z)),
        identity("log(1 - sigma(z)) = -softplus(z)", sp.log(1 - sigmoid(z)), -softplus(z)),
        derivative("dBCE(sigma(z), y)/dz = sigma(z) - y", unweighted, z, sigmoid(z) - y),
        derivative("with pos_weight: dL/dz = (pos_weight y + 1 - y) sigma(z) - pos_weight y", logit_formula, z,
                   (pos_weight * y + 1 - y) * sigmoid(z) - pos_weight * y),
        derivative("the Hessian in the logit is sigma(1 - sigma)", unweighted, z,
                   sigmoid(z) * (1 - sigmoid(z)), order=2),
        sign("BCE is convex in the logit (Hessian >= 0)", sp.diff(logit_formula, z, 2), ">="),
        identity("exponential family: the Bernoulli NLL in the natural parameter is A(z) - z y with A = softplus",
                 unweighted, softplus(z) - z * y),
        derivative("exponential family: A'(z) = sigma(z) = E[y], so dNLL/dz = E[T(y)] - T(y)", softplus(z), z,
                   sigmoid(z)),
    ),
    examples=(
        Example("Example 1: loss at y = 1, z = -2", logit_formula, {y: 1, z: -2, pos_weight: 1}, 2.1269, 4, LESSON),
        Example("Example 1: gradient at y = 1, z = -2", sp.Derivative(logit_formula, z),
                {y: 1, z: -2, pos_weight: 1}, -0.8808, 4, LESSON),
        Example("Problem 1: p = sigma(3)", sigmoid(z), {z: 3}, 0.9526, 4, LESSON),
        Example("Problem 1: BCE at y = 0, z = 3", logit_formula, {y: 0, z: 3, pos_weight: 1}, 3.049, 3, LESSON),
        Example("Problem 1: BCE gradient at y = 0, z = 3", sp.Derivative(logit_formula, z),
                {y: 0, z: 3, pos_weight: 1}, 0.9526, 4, LESSON),
        Example("confidently wrong: p = 0.99, y = 0, BCE gradient", sp.Derivative(logit_formula, z),
                {y: 0, z: sp.log(99), pos_weight: 1}, 0.99, 2, NOTEBOOK),
    ),
)

# ----------------------------------------------------------------------------------------- focal

p_true = y * p + (1 - y) * (1 - p)  # probability given to the true class
q_true = y * (1 - p) + (1 - y) * p  # 1 - p_t, written so that neither label value forms it by cancellation
focal_formula = -((1 - p_true) ** gamma) * sp.log(p_true)
# d2FL/dp2 = q_t^(gamma-1) (gamma (gamma-1) (-log p_t)/q_t + 2 gamma/p_t) + q_t^gamma/p_t^2: every term is >= 0
# for gamma >= 1, and for gamma < 1 the negative one is at most half the 2 gamma/p_t beside it (-log p_t <= q_t/p_t),
# so no digit is lost; (-log p_t)/q_t -> 1 as q_t -> 0, so gamma = 0 and a tiny q_t give no 0 * inf
focal_hessian = (q_true ** (gamma - 1) * (gamma * (gamma - 1) * (-sp.log(p_true)) / q_true + 2 * gamma / p_true)
                 + q_true**gamma / p_true**2)

focal = Loss(
    name="focal",
    title="Focal loss (probabilities)",
    family="binary",
    output=p_var,
    target=y_var,
    params=(gamma_var,),
    formula=focal_formula,
    hessian_form=focal_hessian,
    origin=Definition("cross-entropy of the true class, down-weighted by (1 - p_t)^gamma"),
    use_case="class imbalance: easy examples contribute little",
    link="identity (probabilities)",
    label_format="0 or 1",
    claims=(
        identity("with gamma = 0 focal loss is BCE", focal_formula.subs(gamma, 0), bce_formula),
        sign("focal loss is non-increasing in gamma, so with the gamma = 0 identity focal <= BCE for gamma >= 0",
             sp.diff(focal_formula, gamma), "<="),
    ),
    examples=(
        *(
            Example(f"easy sample p_t = 0.9, gamma = {g}", focal_formula, {y: 1, p: 0.9, gamma: g}, stated, 4,
                    CLASSIFICATION)
            for g, stated in ((0, 0.1054), (1, 0.0105), (2, 0.0011))
        ),
        Example("Example 3: CE of the easy example (p = 0.95)", focal_formula, {y: 1, p: 0.95, gamma: 0}, 0.0513, 4,
                LESSON),
        Example("Example 3: focal loss of the easy example (gamma = 2)", focal_formula, {y: 1, p: 0.95, gamma: 2},
                0.000128, 6, LESSON),
        Example("Example 3: CE of the hard example (p = 0.05)", focal_formula, {y: 1, p: 0.05, gamma: 0}, 2.996, 3,
                LESSON),
        Example("Example 3: focal loss of the hard example (gamma = 2)", focal_formula, {y: 1, p: 0.05, gamma: 2},
                2.704, 3, LESSON),
    ),
)

# ------------------------------------------------------------------------------- focal on logits

sigma_true = y * sigmoid(z) + (1 - y) * (1 - sigmoid(z))
alpha_true = alpha * y + (1 - alpha) * (1 - y)
focal_logit_formula = -alpha_true * (1 - sigma_true) ** gamma * sp.log(sigma_true)
focal_logit_gradient = alpha_true * (2 * y - 1) * (1 - sigma_true) ** gamma * (
    gamma * sigma_true * sp.log(sigma_true) - (1 - sigma_true)
)
# The Hessian in a = (2y - 1) z, with s = sigma(a) = p_t, q = 1 - s and l = -log s = softplus(-a):
#   alpha_t q^gamma s B,  B = gamma^2 s l + (1 + 2 gamma) q - gamma q l.
# B changes sign (near |z| = 2.8 for gamma = 2), and for a < 0 its terms (1 + 2 gamma) q and gamma q l nearly cancel;
# with m = max(-a, 0) and L = l - m (= log(1 + e^(-|a|)) < log 2, the softplus_tail rule),
#   B = q (1 + 2 gamma - gamma m) - gamma q L + gamma^2 s l
# cancels only the exact numbers 1 + 2 gamma - gamma m and keeps the rounding error of l out of the difference.
# Each term of s B carries its own factor s: where s is subnormal (z = -710, y = 1) it meets the large
# 1 + 2 gamma - gamma m before anything smaller, so the product is normal after one rounding.
whole_l = sp.Max((1 - 2 * y) * z, 0)  # m = max(-a, 0)
scaled_curvature = (sigma_true * (1 - sigma_true) * (1 + 2 * gamma - gamma * whole_l)
                    - gamma * sigma_true * (1 - sigma_true) * (-sp.log(sigma_true) - whole_l)
                    - gamma**2 * sigma_true**2 * sp.log(sigma_true))
focal_logit_hessian = alpha_true * (1 - sigma_true) ** gamma * scaled_curvature

focal_with_logits = Loss(
    name="focal_with_logits",
    title="Focal loss on logits (RetinaNet form)",
    family="binary",
    output=z_var,
    target=y_var,
    params=(gamma_var, alpha_var),
    formula=focal_logit_formula,
    hessian_form=focal_logit_hessian,
    origin=Definition("alpha-balanced focal loss of Lin et al. (2017) with p = sigma(z)"),
    use_case="dense detection and heavy class imbalance",
    link="sigmoid",
    label_format="0 or 1",
    claims=(
        derivative("dFL/dz = alpha_t (2y - 1)(1 - p_t)^gamma (gamma p_t log p_t - (1 - p_t))",
                   focal_logit_formula, z, focal_logit_gradient),
        identity("with gamma = 0 it is alpha_t-weighted BCE on logits", focal_logit_formula.subs(gamma, 0),
                 alpha_true * unweighted),
    ),
)

# ----------------------------------------------------------------------------------------- hinge

hinge_formula = sp.Max(0, 1 - ys * f)
hinge_gradient = sp.diff(hinge_formula, f)
outside = (1 + t) / ys  # y f = 1 + t >= 1: the margin is met
inside = (1 - u) / ys  # y f = 1 - u < 1: the margin is violated
score_of = 2 * p - 1  # a probability read as a score in (-1, 1)
hinge_expected = q * hinge_formula.subs({ys: 1, f: score_of}) + (1 - q) * hinge_formula.subs({ys: -1, f: score_of})

hinge = Loss(
    name="hinge",
    title="Hinge loss",
    family="binary",
    output=f_var,
    target=s_var,
    formula=hinge_formula,
    origin=Definition("the soft-margin SVM loss"),
    use_case="maximum-margin classification (SVM-style)",
    link="identity (raw score)",
    label_format="-1 or +1",
    claims=(
        identity("hinge is zero where y f >= 1", hinge_formula.subs(f, outside), 0, scope=region),
        sign("hinge is positive where y f < 1", hinge_formula.subs(f, inside), ">", scope=region),
        identity("dhinge/df = -y where y f < 1", hinge_gradient.subs(f, inside), -ys, scope=region),
        identity("dhinge/df = 0 where y f > 1", hinge_gradient.subs(f, (1 + u) / ys), 0, scope=region),
        minimizer("hinge is strictly proper: expected hinge of the score 2p - 1 is minimized at p = q",
                  hinge_expected, p, q, scope=Scope((q_var, p_var)), expected="refuted",
                  note="false: the expected hinge is linear in p, so its minimum sits at an end of (0, 1)"),
    ),
    examples=(
        *(
            Example(f"y = +1, score {score}", hinge_formula, {ys: 1, f: score}, stated, 1, CLASSIFICATION)
            for score, stated in ((0.9, 0.1), (0.5, 0.5), (-0.5, 1.5), (-0.9, 1.9))
        ),
        Example("code listing, printed hinge (y = [1, 1, -1], scores [0.9, 0.5, 0.5])", hinge_formula,
                {ys: [1, 1, -1], f: [0.9, 0.5, 0.5]}, 0.2500, 4, CLASSIFICATION, reduce="mean"),
        Example("quiz Q5: loss at y = -1, z = 0.5", hinge_formula, {ys: -1, f: 0.5}, 1.5, 1, LESSON),
        Example("quiz Q5: gradient at y = -1, z = 0.5", sp.Derivative(hinge_formula, f), {ys: -1, f: 0.5}, 1, 0,
                LESSON),
    ),
)

squared_hinge_formula = sp.Max(0, 1 - ys * f) ** 2

squared_hinge = Loss(
    name="squared_hinge",
    title="Squared hinge loss",
    family="binary",
    output=f_var,
    target=s_var,
    formula=squared_hinge_formula,
    origin=Definition("the L2-SVM loss"),
    use_case="margin classification with a differentiable loss",
    link="identity (raw score)",
    label_format="-1 or +1",
    claims=(
        identity("squared hinge is zero where y f >= 1", squared_hinge_formula.subs(f, outside), 0, scope=region),
        derivative("dL/df = -2 y max(0, 1 - y f)", squared_hinge_formula, f, -2 * ys * sp.Max(0, 1 - ys * f)),
    ),
)

# ------------------------------------------------------------------------------ MSE on a sigmoid

mse_sigmoid_formula = (sigmoid(z) - y) ** 2
mse_sigmoid_gradient = 2 * (sigmoid(z) - y) * sigmoid(z) * (1 - sigmoid(z))

mse_sigmoid = Loss(
    name="mse_sigmoid",
    title="Squared error on a sigmoid output",
    family="binary",
    output=z_var,
    target=y_var,
    formula=mse_sigmoid_formula,
    origin=Definition("squared error between sigma(z) and the label; kept to show gradient saturation"),
    use_case="none: a cautionary example (its gradient vanishes when confidently wrong)",
    link="sigmoid",
    label_format="0 or 1",
    claims=(
        derivative("d/dz (sigma(z) - y)^2 = 2(sigma - y) sigma (1 - sigma)", mse_sigmoid_formula, z,
                   mse_sigmoid_gradient),
        limit("with y = 1 the MSE gradient tends to 0 as z -> -oo (saturation)",
              mse_sigmoid_gradient.subs(y, 1), z, -sp.oo, 0),
        limit("with y = 1 the BCE gradient tends to -1 as z -> -oo", (sigmoid(z) - y).subs(y, 1), z, -sp.oo, -1),
    ),
    examples=(
        Example("Example 1: MSE gradient at y = 1, z = -2", sp.Derivative(mse_sigmoid_formula, z), {y: 1, z: -2},
                -0.1849, 4, LESSON),
        Example("Problem 1: MSE at y = 0, z = 3", mse_sigmoid_formula, {y: 0, z: 3}, 0.9074, 4, LESSON),
        Example("Problem 1: MSE gradient at y = 0, z = 3", sp.Derivative(mse_sigmoid_formula, z), {y: 0, z: 3},
                0.0860, 4, LESSON),
        Example("confidently wrong: p = 0.99, y = 0, MSE gradient", sp.Derivative(mse_sigmoid_formula, z),
                {y: 0, z: sp.log(99)}, 0.0196, 4, NOTEBOOK),
    ),
)

# ----------------------------------------------------------------------------------------- Brier

brier_p_var = var("p", UNIT_CLOSED, r"\hat{p}", "predicted probability of the positive class")
bp = brier_p_var.symbol
brier_formula = (bp - y) ** 2
brier_expected = q * brier_formula.subs(y, 1) + (1 - q) * brier_formula.subs(y, 0)

brier = Loss(
    name="brier",
    title="Brier score",
    family="binary",
    output=brier_p_var,
    target=y_var,
    formula=brier_formula,
    origin=Definition("squared error of a predicted probability (Brier, 1950)"),
    use_case="evaluating calibrated probabilities",
    link="identity (probabilities)",
    label_format="0 or 1",
    claims=(
        derivative("dBrier/dp = 2(p - y)", brier_formula, bp, 2 * (bp - y)),
        minimizer("expected Brier score under a true probability q is minimized at p = q (proper scoring rule)",
                  brier_expected, bp, q, scope=proper),
    ),
)
