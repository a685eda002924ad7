r"""Multiclass classification over K classes (K symbolic).

The categorical likelihood :math:`P(y \mid p) = \prod_k p_k^{y_k}` of a
one-hot label gives the cross-entropy :math:`-\sum_k y_k \log p_k`; with the
softmax link :math:`p_k = e^{z_k}/\sum_j e^{z_j}` its gradient in the logits
is :math:`p_i - y_i`.  Label smoothing, the focal weight and the Poly-1 term
modify it; the Crammer–Singer and Weston–Watkins hinges replace it by
margins between the true class and the others.

Vectors share one class axis: entries ``z[k]`` for k = 1..K; the gradient is
taken with respect to the entry ``z[i]``.
"""

import sympy as sp

from symloss.likelihood import ClassMax, categorical, entrywise, logsumexp, one_hot, smoothed, softmax
from symloss.loss import Definition, Example, Likelihood, Loss, derivative, identity, minimizer, sign
from symloss.notation import (
    CLASS_COUNT,
    DISTRIBUTION,
    NONNEGATIVE,
    ONE_HOT,
    POSITIVE,
    REAL,
    REAL_VECTOR,
    SIMPLEX,
    UNIT_HALF_OPEN,
    UNIT_OPEN,
    Scope,
    index,
    interval,
    var,
    vector,
)

CLASSIFICATION = '"Classification Loss Functions"'
LESSON = '"16-04 — Loss Functions"'
NOTEBOOK = '"Loss functions (notebook chapter)"'

classes_var = var("K", CLASS_COUNT, "K", "number of classes")
k_var, i_var, j_var, c_var = index("k"), index("i"), index("j"), index("c", "c")
p_var = vector("p", SIMPLEX, r"\hat{p}", "predicted class probabilities")
z_var = vector("z", REAL_VECTOR, "z", "logits")
y_var = vector("y", ONE_HOT, "y", "one-hot label (or an integer class index)")
soft_var = vector("y", DISTRIBUTION, "y", "one-hot or soft label (or an integer class index)")
v_var = vector("v", REAL_VECTOR, "v", "a direction in logit space")
m_var = var("m", REAL, "m", "a shift of every logit")
gamma_var = var("gamma", NONNEGATIVE, r"\gamma", "focusing parameter", default=2.0)
smoothing_var = var("label_smoothing", UNIT_HALF_OPEN, r"\varepsilon", "label smoothing", default=0.0)
epsilon_var = var("epsilon", interval("epsilon >= -1", -1, None, low_open=False), r"\varepsilon",
                  "weight of the first polynomial term", default=1.0)
margin_var = var("margin", POSITIVE, "m", "margin", default=1.0)

K, k, i, j, c = (v.symbol for v in (classes_var, k_var, i_var, j_var, c_var))
p, z, y, v = p_var.symbol, z_var.symbol, y_var.symbol, v_var.symbol
m, gamma, eps, epsilon, margin = (x.symbol for x in (m_var, gamma_var, smoothing_var, epsilon_var, margin_var))
sums_to_one = (sp.Eq(sp.Sum(y[k], (k, 1, K)), 1),)


def total(expr: sp.Expr) -> sp.Sum:
    """Σ_{k=1}^{K} expr."""
    return sp.Sum(expr, (k, 1, K))


prob = softmax(z, k, K)  # softmax(z)_k
prob_i = softmax(z, i, K)
label = Scope((c_var,))

# -------------------------------------------------------------- proper scoring (expected CE)

q_var = vector("q", SIMPLEX, "q", "true class probabilities")
q = q_var.symbol
expected_ce = -total(q[k] * sp.log(p[k]))  # E_{y ~ q}[CE(p, y)]
expected_gradient = sp.diff(expected_ce, p[i])
w_var = var("w", UNIT_OPEN, "w", "predicted probability of class 1 (K = 2)")
a_var = var("a", UNIT_OPEN, "a", "true probability of class 1 (K = 2)")
w, a = w_var.symbol, a_var.symbol
expected_ce_2 = -(a * sp.log(w) + (1 - a) * sp.log(1 - w))
proper = Scope((q_var,))

# ------------------------------------------------------------------------- cross-entropy

ce_formula = -total(y[k] * sp.log(p[k]))
one_hot_ce = entrywise(ce_formula, y, lambda n: one_hot(n, c))

cross_entropy = Loss(
    name="cross_entropy",
    title="Categorical cross-entropy (probabilities)",
    family="multiclass",
    output=p_var,
    target=y_var,
    index=i_var,
    classes=classes_var,
    formula=ce_formula,
    origin=Likelihood("Categorical", categorical(y, p, k, K), y_var, link="identity (p is a probability vector)"),
    use_case="mutually exclusive classes, probabilities from a softmax layer",
    link="identity (probabilities)",
    label_format="one-hot or integer index",
    claims=(
        identity("CE is the negative log of the categorical likelihood", -sp.log(categorical(y, p, k, K)),
                 ce_formula),
        identity("with a one-hot label e_c, CE is -log p_c", one_hot_ce, -sp.log(p[c]),
                 scope=label),
        identity("integer-label CE (-log of the gathered probability) equals one-hot CE",
                 -sp.log(total(one_hot(k, c) * p[k])), one_hot_ce, scope=label),
        derivative("dCE/dp_i = -y_i/p_i", ce_formula, p[i], -y[i] / p[i]),
        identity("expected CE under true probabilities q is stationary on the simplex at p = q: its gradient there "
                 "is the constant vector -1 (Lagrange multiplier 1)", expected_gradient.xreplace({p: q}), -1,
                 scope=proper),
        identity("the Hessian of the expected CE in p is diagonal, diag(q_k/p_k^2)",
                 sp.diff(expected_gradient, p[j]), sp.KroneckerDelta(i, j) * q[i] / p[i] ** 2,
                 scope=Scope((q_var, j_var))),
        sign("the Hessian's diagonal q_i/p_i^2 is positive, so p = q is the minimum on the simplex",
             sp.diff(expected_ce, p[i], 2), ">", scope=proper),
        minimizer("expected CE is minimized at the true probability (K = 2)", expected_ce_2, w, a,
                  scope=Scope((w_var, a_var))),
    ),
    examples=(
        *(
            Example(f"iris anchor, prediction {probs}", ce_formula, {y: [1, 0, 0], p: probs}, stated, 3,
                    CLASSIFICATION)
            for probs, stated in (
                ([0.742, 0.202, 0.055], 0.298),
                ([0.300, 0.500, 0.200], 1.204),
                ([0.950, 0.030, 0.020], 0.051),
            )
        ),
        Example("sparse CCE: integer label (first class)", -sp.log(p[c]), {c: 1, p: [0.742, 0.202, 0.055]}, 0.298,
                3, CLASSIFICATION),
        Example("code listing, printed CCE", ce_formula, {y: [1, 0, 0], p: [0.742, 0.202, 0.055]}, 0.2978, 4,
                CLASSIFICATION),
        Example("Problem 5: always predicting [0.9, 0.1] on 90/10 labels", ce_formula,
                {y: [0.9, 0.1], p: [0.9, 0.1]}, 0.325, 3, LESSON),
        Example("Problem 5: always predicting [1, 0] on 90/10 labels", ce_formula,
                {y: [0.9, 0.1], p: [1, 0]}, sp.oo, 0, LESSON),
    ),
)

# ------------------------------------------------------------------- softmax cross-entropy

smoothed_y = smoothed(soft_var.symbol, k, K, eps)
ys = soft_var.symbol
sce_formula = -total(smoothed_y * sp.log(prob))
plain_sce = sce_formula.subs(eps, 0)
uniform_ce = total(-sp.log(prob)) / K
soft_sums_to_one = (sp.Eq(sp.Sum(ys[k], (k, 1, K)), 1),)
lse = logsumexp(z, K)
quadratic_form = total(prob * v[k] ** 2) - total(prob * v[k]) ** 2  # vᵀ(diag(p) − p pᵀ)v
mean_v = total(prob * v[k]).xreplace({k: index("l").symbol})  # p·v, summed over a second index l
variance = total(prob * (v[k] - mean_v) ** 2)

softmax_cross_entropy = Loss(
    name="softmax_cross_entropy",
    title="Softmax cross-entropy (logits)",
    family="multiclass",
    output=z_var,
    target=soft_var,
    params=(smoothing_var,),
    index=i_var,
    classes=classes_var,
    formula=sce_formula,
    origin=Likelihood("Categorical (label-smoothed counts)", categorical(smoothed_y, prob, k, K), soft_var,
                      link="softmax"),
    use_case="multiclass classification from logits; label smoothing against overconfidence",
    link="softmax",
    label_format="integer index, one-hot or soft",
    claims=(
        derivative("dsoftmax_i/dz_j = p_i (delta_ij - p_j)", softmax(z, i, K, k), z[j],
                   prob_i * (sp.KroneckerDelta(i, j) - softmax(z, j, K, k)), scope=Scope((j_var,))),
        derivative("dCE(softmax(z), y)/dz_i = softmax(z)_i - y_i", plain_sce, z[i], prob_i - ys[i],
                   given=soft_sums_to_one),
        identity("exponential family: the categorical NLL in the logits is A(z) - sum_k y_k z_k, A = logsumexp",
                 plain_sce, lse - total(ys[k] * z[k]), given=soft_sums_to_one),
        derivative("exponential family: dA/dz_i = softmax(z)_i = E[y_i], so dNLL/dz_i = E[T(y)]_i - T(y)_i", lse,
                   z[i], prob_i),
        identity("label smoothing: CE with smoothed targets = (1 - eps) CE(y) + eps mean_k(-log p_k)",
                 sce_formula, (1 - eps) * plain_sce + eps * uniform_ce),
        identity("softmax is shift-invariant", entrywise(prob_i, z, lambda n: z[n] + m), prob_i,
                 scope=Scope((m_var,))),
        identity("logsumexp(z) = m + logsumexp(z - m)", lse, m + entrywise(lse, z, lambda n: z[n] - m),
                 scope=Scope((m_var,))),
        derivative("the diagonal Hessian is p_i (1 - p_i)", plain_sce, z[i], prob_i * (1 - prob_i), order=2,
                   given=soft_sums_to_one),
        identity("v^T (diag(p) - p p^T) v equals the variance sum_k p_k (v_k - p.v)^2", quadratic_form, variance,
                 scope=Scope((v_var,))),
        sign("hence the Hessian diag(p) - p p^T is positive semidefinite: the variance is >= 0", variance, ">=",
             scope=Scope((v_var,))),
    ),
    examples=(
        *(
            Example(f"Example 2: softmax entry {n} of z = [2.0, 1.0, 0.1]", prob_i, {z: [2.0, 1.0, 0.1], i: n},
                    stated, 4, LESSON)
            for n, stated in ((1, 0.6590), (2, 0.2424), (3, 0.0986))
        ),
        Example("Example 2: loss, true class 2", sce_formula, {z: [2.0, 1.0, 0.1], ys: [0, 1, 0], eps: 0}, 1.417,
                3, LESSON),
        *(
            Example(f"Example 2: gradient entry {n}", sp.Derivative(sce_formula, z[i]),
                    {z: [2.0, 1.0, 0.1], ys: [0, 1, 0], eps: 0, i: n}, stated, 4, LESSON)
            for n, stated in ((1, 0.6590), (2, -0.7576), (3, 0.0986))
        ),
        *(
            Example(f"stable softmax of [1000, 999, 998], entry {n}", prob_i, {z: [1000, 999, 998], i: n},
                    stated, 3, NOTEBOOK)
            for n, stated in ((1, 0.665), (2, 0.245), (3, 0.090))
        ),
    ),
)

# ------------------------------------------------------------------------- softmax focal

pk_var = var("pk", UNIT_OPEN, "p_k", "probability of one class")
pk = pk_var.symbol
focal_formula = -total(ys[k] * (1 - prob) ** gamma * sp.log(prob))


def xlogx_ratio(q: sp.Expr) -> sp.Expr:
    """m(q) = q log q / (1 - q), in [-1, 0] on [0, 1]."""
    return q * sp.log(q) / (1 - q)


def focal_weight(q: sp.Expr) -> sp.Expr:
    """w(q) = q d/dq [-(1 - q)^gamma log q] = (1 - q)^gamma (gamma m(q) - 1): with p = softmax(z),
    dFL/dz_i = sum_k y_k w(p_k) (delta_ki - p_i)."""
    return (1 - q) ** gamma * (gamma * xlogx_ratio(q) - 1)


def focal_curvature(q: sp.Expr) -> sp.Expr:
    """v(q) = q w'(q) = gamma (1 - q)^gamma (2q + (1 - gamma q) m(q)) / (1 - q)."""
    return gamma * (1 - q) ** gamma * (2 * q + (1 - gamma * q) * xlogx_ratio(q)) / (1 - q)


# dp_k/dz_i = p_k (delta_ki - p_i), so dFL/dz_i = y_i w_i - p_i sum_k y_k w_k; written as
# y_i w_i (1 - p_i) - p_i (sum_k y_k w_k - y_i w_i) so that the labelled class is not 1 - p by cancellation
focal_weights = total(ys[k] * focal_weight(prob))
focal_gradient = ys[i] * focal_weight(prob_i) * (1 - prob_i) - prob_i * (focal_weights - ys[i] * focal_weight(prob_i))
# d2FL/dz_i2 = sum_k y_k [v_k (delta_ki - p_i)^2 - w_k p_i (1 - p_i)]; the own term y_i v_i (1 - p_i)^2 kept whole
focal_hessian = (ys[i] * focal_curvature(prob_i) * (1 - prob_i) ** 2
                 + prob_i ** 2 * (total(ys[k] * focal_curvature(prob)) - ys[i] * focal_curvature(prob_i))
                 - prob_i * (1 - prob_i) * focal_weights)

softmax_focal = Loss(
    name="softmax_focal",
    title="Softmax focal loss",
    family="multiclass",
    output=z_var,
    target=soft_var,
    params=(gamma_var,),
    index=i_var,
    classes=classes_var,
    formula=focal_formula,
    gradient_form=focal_gradient,
    hessian_form=focal_hessian,
    origin=Definition("focal loss of Lin et al. (2017) over softmax probabilities"),
    use_case="multiclass problems with many easy examples",
    link="softmax",
    label_format="integer index, one-hot or soft",
    claims=(
        identity("with gamma = 0 softmax focal loss is softmax cross-entropy", focal_formula.subs(gamma, 0),
                 plain_sce),
        sign("each class term -(1 - p)^gamma log p is non-increasing in gamma, so softmax focal <= softmax CE",
             sp.diff(-(1 - pk) ** gamma * sp.log(pk), gamma), "<=", scope=Scope((pk_var,))),
    ),
)

# ------------------------------------------------------------------- Crammer–Singer hinge

hinge_cs_formula = ClassMax(1 - y[k] + z[k], (k, 1, K)) - total(y[k] * z[k])
z1, z2, z3 = (var(f"z{n}", REAL, f"z_{n}", f"score of class {n}") for n in (1, 2, 3))
three_scores = Scope((z1, z2, z3))
s1, s2, s3 = z1.symbol, z2.symbol, z3.symbol


def three_classes(expr: sp.Expr) -> sp.Expr:
    """``expr`` for K = 3 and true class 1, scores as the scalars z1, z2, z3."""
    one_hot_first = entrywise(expr, y, lambda n: one_hot(n, 1)).xreplace({K: 3}).doit()
    return one_hot_first.xreplace({z[1]: s1, z[2]: s2, z[3]: s3})


cs3 = three_classes(hinge_cs_formula)
best_wrong = sp.Max(s2, s3)
t_var = var("t", NONNEGATIVE, "t", "how far inside a region")
u_var = var("u", POSITIVE, "u", "how far outside a region")
t3_var = var("t3", NONNEGATIVE, "t_3", "how far inside a region")
t, u, t3 = t_var.symbol, u_var.symbol, t3_var.symbol

multiclass_hinge = Loss(
    name="multiclass_hinge",
    title="Multiclass hinge (Crammer–Singer)",
    family="multiclass",
    output=z_var,
    target=y_var,
    index=i_var,
    classes=classes_var,
    formula=hinge_cs_formula,
    origin=Definition("Crammer and Singer (2001): max(0, 1 + max_{j != c} z_j - z_c)"),
    use_case="multiclass maximum-margin classification",
    link="identity (scores)",
    label_format="one-hot or integer index",
    claims=(
        identity("with a one-hot label the class-max form is max(0, 1 + max_{j != c} z_j - z_c) (K = 3, c = 1)",
                 cs3, sp.Max(0, 1 + best_wrong - s1), scope=three_scores),
        identity("zero when the margin over the best wrong class is >= 1 (K = 3, c = 1)",
                 cs3.subs(s1, best_wrong + 1 + t), 0, scope=Scope((z1, z2, z3, t_var))),
        sign("positive when the margin over the best wrong class is < 1 (K = 3, c = 1)",
             cs3.subs(s1, best_wrong + 1 - u), ">", scope=Scope((z1, z2, z3, u_var))),
    ),
)

# ------------------------------------------------------------------- Weston–Watkins hinge

multi_margin_formula = total((1 - y[k]) * sp.Max(0, margin - sp.Sum(y[j] * z[j], (j, 1, K)) + z[k])) / K

multi_margin = Loss(
    name="multi_margin",
    title="Multiclass margin loss (Weston–Watkins, PyTorch MultiMarginLoss)",
    family="multiclass",
    output=z_var,
    target=y_var,
    params=(margin_var,),
    index=i_var,
    classes=classes_var,
    formula=multi_margin_formula,
    origin=Definition("Weston and Watkins (1999); PyTorch MultiMarginLoss with p = 1: "
                      "(1/K) sum_{k != c} max(0, margin - z_c + z_k)"),
    use_case="multiclass maximum-margin classification, one margin per wrong class",
    link="identity (scores)",
    label_format="one-hot or integer index",
    claims=(
        identity("at equal scores every wrong class costs the margin: loss = margin (K - 1)/K",
                 entrywise(multi_margin_formula, z, lambda n: m), margin * (K - 1) / K, scope=Scope((m_var,)),
                 given=sums_to_one),
        identity("zero when the true class beats every other by the margin (K = 3, c = 1)",
                 three_classes(multi_margin_formula).subs({s2: s1 - margin - t, s3: s1 - margin - t3}), 0,
                 scope=Scope((z1, t_var, t3_var))),
    ),
)

# ----------------------------------------------------------------------------------- Poly-1

p_true = total(ys[k] * prob)
poly1_formula = plain_sce + epsilon * (1 - p_true)


def others(expr: sp.Expr) -> sp.Expr:
    """Σ_{k ≠ i} expr, as Σ_k expr minus its term k = i (the kernels sum the other classes directly)."""
    return total(expr) - expr.xreplace({k: i})


# The forms the kernels compute, each a sum of terms >= 0 for -1 <= epsilon <= 1, so that nothing cancels where
# p_t -> 1 and epsilon = -1 makes the loss second order in 1 - p_t.  With q = 1 - p and the sums over the
# other classes C_i = Σ_{k≠i} y_k p_k, B_i = Σ_{k≠i} y_k q_k, U_i = Σ_{k≠i} (1 - y_k) p_k (so 1 - y_i = B_i + C_i):
#   value:    Σ_k y_k (-(log p_k + q_k)) + (1 + epsilon) Σ_k y_k q_k, where -(log p + q) = q^2/2 + q^3/3 + … >= 0
#   gradient: p_i (B_i + (1 + epsilon) C_i) - y_i q_i ((1 + epsilon) p_i + q_i)
#   Hessian:  p_i (U_i (p_i (1 + epsilon y_i) + q_i (1 - epsilon y_i))
#                  + C_i (p_i (1 - epsilon (1 - y_i)) + q_i (1 + epsilon (1 - y_i))))
missed = total(ys[k] * (1 - prob))  # 1 - p_t, summed over the classes since Σ_k y_k = 1
labelled_others = others(ys[k] * prob)
missed_others = others(ys[k] * (1 - prob))
unlabelled_others = others((1 - ys[k]) * prob)
poly1_value = -total(ys[k] * (sp.log(prob) + 1 - prob)) + (1 + epsilon) * missed
poly1_gradient = (prob_i * (missed_others + (1 + epsilon) * labelled_others)
                  - ys[i] * (1 - prob_i) * ((1 + epsilon) * prob_i + (1 - prob_i)))
poly1_hessian = prob_i * (
    unlabelled_others * (prob_i * (1 + epsilon * ys[i]) + (1 - prob_i) * (1 - epsilon * ys[i]))
    + labelled_others * (prob_i * (1 - epsilon * (1 - ys[i])) + (1 - prob_i) * (1 + epsilon * (1 - ys[i]))))

poly1 = Loss(
    name="poly1",
    title="Poly-1 cross-entropy",
    family="multiclass",
    output=z_var,
    target=soft_var,
    params=(epsilon_var,),
    index=i_var,
    classes=classes_var,
    formula=poly1_formula,
    value_form=poly1_value,
    gradient_form=poly1_gradient,
    hessian_form=poly1_hessian,
    origin=Definition("Leng et al. (2022): cross-entropy plus epsilon (1 - p_t)"),
    use_case="classification where re-weighting the leading polynomial term of CE helps",
    link="softmax",
    label_format="integer index, one-hot or soft",
    claims=(
        identity("with epsilon = 0 Poly-1 is softmax cross-entropy", poly1_formula.subs(epsilon, 0), plain_sce),
        derivative("dPoly1/dz_i = p_i - y_i - epsilon p_i (y_i - p_t)", poly1_formula, z[i],
                   prob_i - ys[i] - epsilon * prob_i * (ys[i] - p_true), given=soft_sums_to_one),
    ),
)
