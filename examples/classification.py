r"""Binary classification: margin losses on ±1 labels and a noise-robust cross-entropy.

The exponential loss of AdaBoost and the logistic loss are functions of the
margin m = y·f with y ∈ {−1, +1}; the modified Huber loss of scikit-learn's
SGDClassifier is a squared hinge with a linear tail.  The generalized
cross-entropy interpolates between cross-entropy (q → 0) and the absolute
error of a probability (q = 1).
"""

import sympy as sp

from symloss.loss import Definition, Example, Likelihood, Loss, derivative, identity, inequality, limit, minimizer, sign
from symloss.notation import BINARY, POSITIVE, REAL, SIGNED, UNIT_OPEN, Scope, interval, var

SCRATCH = "computed with mpmath at 50 digits for this file (examples/_reference_values.py)"

f_var = var("f", REAL, "f", "raw score")
y_var = var("y", SIGNED, "y", "label in {-1, +1}")
q_var = var("q", UNIT_OPEN, "q", "true probability of the label +1")
u_var = var("u", POSITIVE, "u", "how far beyond a margin")
f, y, q, u = (v.symbol for v in (f_var, y_var, q_var, u_var))
true_probability = Scope((q_var,))
beyond = Scope((u_var,))


def expected(loss: sp.Expr) -> sp.Expr:
    """The loss averaged over y = +1 with probability q and y = -1 with probability 1 - q."""
    return q * loss.subs(y, 1) + (1 - q) * loss.subs(y, -1)


# ---------------------------------------------------------------------------- exponential

exponential_formula = sp.exp(-y * f)

exponential = Loss(
    name="exponential",
    title="Exponential loss (AdaBoost)",
    family="margin classification",
    output=f_var,
    target=y_var,
    formula=exponential_formula,
    origin=Definition("Freund and Schapire, A decision-theoretic generalization of on-line learning and an "
                      "application to boosting, 1997"),
    use_case="boosting",
    link="f/2 is half the log-odds",
    label_format="-1 or +1",
    claims=(
        derivative("dL/df = -y e^(-y f)", exponential_formula, f, -y * sp.exp(-y * f)),
        sign("convex in f", sp.diff(exponential_formula, f, 2), ">"),
        # "e^(-y f) >= 1 - y f" (e^x >= 1 + x) is unknown to the prover; the vanishing tail is proved instead.
        limit("tends to 0 as f -> oo for y = +1", exponential_formula.subs(y, 1), f, sp.oo, 0),
        minimizer("the expected loss is minimized at half the log-odds, f = log(q/(1 - q))/2",
                  expected(exponential_formula), f, sp.log(q / (1 - q)) / 2, scope=true_probability),
    ),
    examples=(Example("y = -1, f = 0.5", exponential_formula, {y: -1, f: sp.Rational(1, 2)}, 1.6487212707, 10,
                      SCRATCH),),
)

# ------------------------------------------------------------------------------- logistic

logistic_formula = sp.log(1 + sp.exp(-y * f))
logistic_density = 1 / (1 + sp.exp(-y * f))

logistic = Loss(
    name="logistic",
    title="Logistic loss on ±1 labels",
    family="margin classification",
    output=f_var,
    target=y_var,
    formula=logistic_formula,
    origin=Likelihood("P(y | f) = sigma(y f) on y in {-1, +1}", logistic_density, y_var, link="sigmoid"),
    use_case="logistic regression written on the margin (scikit-learn's SGDClassifier(loss='log_loss'))",
    link="sigmoid",
    label_format="-1 or +1",
    claims=(
        derivative("dL/df = -y / (1 + e^(y f))", logistic_formula, f, -y / (1 + sp.exp(y * f))),
        identity("equals BCE on logits with t = (1 + y)/2: log(1 + e^f) - t f", logistic_formula,
                 sp.log(1 + sp.exp(f)) - (1 + y) / 2 * f),
        sign("convex in f", sp.diff(logistic_formula, f, 2), ">"),
        minimizer("the expected loss is minimized at the log-odds f = log(q/(1 - q))",
                  expected(logistic_formula), f, sp.log(q / (1 - q)), scope=true_probability),
    ),
    examples=(Example("y = 1, f = -2", logistic_formula, {y: 1, f: -2}, 2.12692801104, 11, SCRATCH),),
)

# ------------------------------------------------------------------------- modified Huber

margin = y * f
squared_hinge_part = sp.Max(0, 1 - margin) ** 2
modified_huber_formula = sp.Piecewise((squared_hinge_part, margin >= -1), (-4 * margin, True))

modified_huber = Loss(
    name="modified_huber",
    title="Modified Huber loss",
    family="margin classification",
    output=f_var,
    target=y_var,
    formula=modified_huber_formula,
    origin=Definition("Zhang, Solving large scale linear prediction problems using stochastic gradient descent "
                      "algorithms, ICML 2004"),
    use_case="linear classifiers that also give probability estimates (SGDClassifier(loss='modified_huber'))",
    link="identity",
    label_format="-1 or +1",
    claims=(
        identity("the two branches agree at y f = -1 (continuous)", squared_hinge_part.subs(f, -y),
                 (-4 * margin).subs(f, -y)),
        identity("linear, 4(1 + u), where y f = -1 - u", modified_huber_formula.subs(f, -y * (1 + u)), 4 * (1 + u),
                 scope=beyond),
        identity("zero where y f = 1 + u", modified_huber_formula.subs(f, y * (1 + u)), 0, scope=beyond),
        inequality("below the squared hinge", modified_huber_formula, "<=", squared_hinge_part),
    ),
    examples=(
        Example("y = 1, f = -0.5 (quadratic part)", modified_huber_formula, {y: 1, f: -sp.Rational(1, 2)}, 2.25, 2,
                SCRATCH),
        Example("y = 1, f = -3 (linear part)", modified_huber_formula, {y: 1, f: -3}, 12, 0, SCRATCH),
    ),
)

# ------------------------------------------------------------------ generalized cross-entropy

p_var = var("p", UNIT_OPEN, r"\hat{p}", "predicted probability of the positive class")
b_var = var("y", BINARY, "y", "label in {0, 1}")
gce_q_var = var("q", interval("(0, 1]", 0, 1, high_open=False), "q", "truncation exponent: 0 is CE, 1 is MAE",
                default=0.7)
p, b, gq = p_var.symbol, b_var.symbol, gce_q_var.symbol
p_label = p**b * (1 - p) ** (1 - b)  # the probability given to the observed label
gce_formula = (1 - p_label**gq) / gq

generalized_cross_entropy = Loss(
    name="generalized_cross_entropy",
    title="Generalized cross-entropy (binary)",
    family="noisy-label classification",
    output=p_var,
    target=b_var,
    params=(gce_q_var,),
    formula=gce_formula,
    origin=Definition("Zhang and Sabuncu, Generalized Cross Entropy Loss for Training Deep Neural Networks with "
                      "Noisy Labels, NeurIPS 2018"),
    use_case="classification with noisy labels",
    link="identity (probabilities)",
    label_format="0 or 1",
    claims=(
        limit("tends to the cross-entropy -log p_y as q -> 0", gce_formula, gq, 0, -sp.log(p_label)),
        identity("q = 1 gives the absolute error |y - p|", gce_formula.subs(gq, 1), sp.Abs(b - p)),
        derivative("dL/dp = -p_y^q (y/p - (1 - y)/(1 - p))", gce_formula, p,
                   -(p_label**gq) * (b / p - (1 - b) / (1 - p))),
        inequality("bounded: L < 1/q", gce_formula, "<", 1 / gq),
    ),
    examples=(Example("y = 1, p = 0.3, q = 0.7", gce_formula, {b: 1, p: sp.Rational(3, 10), gq: sp.Rational(7, 10)},
                      0.813554828214, 12, SCRATCH),),
)
