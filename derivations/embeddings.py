r"""Metric learning: losses on distances and similarities between embeddings.

The contrastive loss pulls similar pairs together and pushes dissimilar
pairs beyond a margin; the triplet loss asks the negative to be farther
from the anchor than the positive by a margin; NT-Xent (SimCLR) is softmax
cross-entropy over one row of similarities divided by a temperature.
Embedding vectors share one axis, the embedding dimension k = 1..K.
"""

import sympy as sp

from symloss.likelihood import entrywise, logsumexp, softmax
from symloss.loss import Definition, Loss, derivative, identity, sign
from symloss.notation import BINARY, CLASS_COUNT, NONNEGATIVE, ONE_HOT, POSITIVE, REAL_VECTOR, Scope, index, var, vector

t_var = var("t", NONNEGATIVE, "t", "how far inside a region")
u_var = var("u", POSITIVE, "u", "how far outside a region")
t, u = t_var.symbol, u_var.symbol
regions = Scope((t_var, u_var))
margin_var = var("margin", POSITIVE, "m", "margin", default=1.0)
margin = margin_var.symbol

# ---------------------------------------------------------------------------- contrastive

d_var = var("d", NONNEGATIVE, "d", "distance between the two embeddings")
y_var = var("y", BINARY, "y", "1 for a similar pair, 0 for a dissimilar one")
d, y = d_var.symbol, y_var.symbol
contrastive_formula = y * d**2 + (1 - y) * sp.Max(0, margin - d) ** 2

contrastive = Loss(
    name="contrastive",
    title="Contrastive loss",
    family="embeddings",
    output=d_var,
    target=y_var,
    params=(margin_var,),
    formula=contrastive_formula,
    origin=Definition("Hadsell, Chopra and LeCun (2006)"),
    use_case="siamese networks: similar pairs close, dissimilar pairs at least a margin apart",
    link="identity (distance)",
    label_format="0 or 1 (similar)",
    claims=(
        identity("a similar pair costs nothing at d = 0", contrastive_formula.subs({y: 1, d: 0}), 0),
        sign("a similar pair at d > 0 costs d^2 > 0", contrastive_formula.subs({y: 1, d: u}), ">", scope=regions),
        identity("a dissimilar pair costs nothing where d >= margin", contrastive_formula.subs({y: 0, d: margin + t}),
                 0, scope=regions),
        sign("a dissimilar pair closer than the margin costs (margin - d)^2 > 0",
             contrastive_formula.subs({y: 0, margin: d + u}), ">", scope=regions),
        derivative("dL/dd = 2 y d - 2 (1 - y) max(0, margin - d)", contrastive_formula, d,
                   2 * y * d - 2 * (1 - y) * sp.Max(0, margin - d)),
    ),
)

# -------------------------------------------------------------------------------- triplet

dims_var = var("K", CLASS_COUNT, "K", "embedding dimension")
k_var, i_var, j_var = index("k"), index("i"), index("j")
K, k, i = dims_var.symbol, k_var.symbol, i_var.symbol
anchor_var = vector("a", REAL_VECTOR, "a", "anchor embedding")
positive_var = vector("pos", REAL_VECTOR, "p", "positive embedding")
negative_var = vector("neg", REAL_VECTOR, "n", "negative embedding")
anchor, positive, negative = anchor_var.symbol, positive_var.symbol, negative_var.symbol
to_positive = sp.Sum((anchor[k] - positive[k]) ** 2, (k, 1, K))  # squared distance anchor–positive
to_negative = sp.Sum((anchor[k] - negative[k]) ** 2, (k, 1, K))
triplet_formula = sp.Max(0, to_positive - to_negative + margin)
triplet_gradient = sp.diff(triplet_formula, anchor[i])
satisfied = {to_negative: to_positive + margin + t}  # the negative is farther by at least the margin
strictly_satisfied = {to_negative: to_positive + margin + u}
violated = {to_negative: to_positive + margin - u}

triplet = Loss(
    name="triplet",
    title="Triplet margin loss (squared distances)",
    family="embeddings",
    output=anchor_var,
    target=positive_var,
    inputs=(negative_var,),
    params=(margin_var,),
    index=i_var,
    classes=dims_var,
    formula=triplet_formula,
    origin=Definition("Schroff, Kalenichenko and Philbin (2015), FaceNet"),
    use_case="metric learning: an anchor closer to its positive than to its negative",
    link="identity (embeddings)",
    label_format="positive embedding",
    claims=(
        identity("zero where |a - n|^2 >= |a - p|^2 + margin", triplet_formula.xreplace(satisfied), 0, scope=regions),
        sign("positive where |a - n|^2 < |a - p|^2 + margin", triplet_formula.xreplace(violated), ">", scope=regions),
        identity("the anchor gradient is zero where the margin is strictly met",
                 triplet_gradient.xreplace(strictly_satisfied), 0,
                 scope=regions),
        identity("the anchor gradient is 2 (n_i - p_i) where the margin is violated",
                 triplet_gradient.xreplace(violated), 2 * (negative[i] - positive[i]), scope=regions),
    ),
)

# -------------------------------------------------------------------------------- NT-Xent

similarity_var = vector("s", REAL_VECTOR, "s", "similarities of the anchor to the other samples (self excluded)")
target_var = vector("y", ONE_HOT, "y", "marks the positive sample")
temperature_var = var("temperature", POSITIVE, r"\tau", "temperature", default=0.5)
sim, tgt, tau = similarity_var.symbol, target_var.symbol, temperature_var.symbol
scaled = entrywise(softmax(sim, k, K), sim, lambda n: sim[n] / tau)
nt_xent_formula = -sp.Sum(tgt[k] * sp.log(scaled), (k, 1, K))
scaled_i = scaled.xreplace({k: i})
positive_is_one = (sp.Eq(sp.Sum(tgt[k], (k, 1, K)), 1),)  # exactly one positive in the row

nt_xent = Loss(
    name="nt_xent",
    title="NT-Xent (normalized temperature-scaled cross-entropy)",
    family="embeddings",
    output=similarity_var,
    target=target_var,
    params=(temperature_var,),
    index=i_var,
    classes=dims_var,
    formula=nt_xent_formula,
    origin=Definition("Chen et al. (2020), SimCLR: softmax cross-entropy over one row of cosine similarities "
                      "divided by the temperature; the self-similarity is left out of the row (or masked as -inf)"),
    use_case="contrastive self-supervised learning",
    link="softmax of similarity / temperature",
    label_format="one-hot or integer index of the positive",
    claims=(
        identity("NT-Xent is softmax cross-entropy of the logits s/temperature: logsumexp(s/tau) - s_pos/tau",
                 nt_xent_formula, entrywise(logsumexp(sim, K), sim, lambda n: sim[n] / tau)
                 - sp.Sum(tgt[k] * sim[k], (k, 1, K)) / tau, given=positive_is_one),
        derivative("dNT-Xent/ds_i = (softmax(s/tau)_i - y_i)/tau", nt_xent_formula, sim[i], (scaled_i - tgt[i]) / tau,
                   given=positive_is_one),
    ),
)
