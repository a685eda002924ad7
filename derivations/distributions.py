r"""Losses between distributions: KL divergence and the VAE objective.

The Kullback–Leibler divergence :math:`\mathrm{KL}(p\|q) = \sum_k p_k \log(p_k/q_k)`
is what cross-entropy adds to the entropy of the target,
:math:`H(p, q) = H(p) + \mathrm{KL}(p\|q)`, and it is never negative (Gibbs).
The variational autoencoder minimizes the negative evidence lower bound: a
reconstruction term plus the closed-form KL divergence of a diagonal
Gaussian encoder from the standard-normal prior.
"""

import sympy as sp

from symloss.loss import Definition, Loss, derivative, identity, sign
from symloss.notation import CLASS_COUNT, POSITIVE, REAL, REAL_VECTOR, SIMPLEX, UNIT_OPEN, Scope, index, var, vector

SHEET = 'the reference sheet "Loss Functions"'

classes_var = var("K", CLASS_COUNT, "K", "number of outcomes")
k_var, i_var = index("k"), index("i")
K, k, i = classes_var.symbol, k_var.symbol, i_var.symbol


def total(expr: sp.Expr) -> sp.Sum:
    """Σ_{k=1}^{K} expr."""
    return sp.Sum(expr, (k, 1, K))


# --------------------------------------------------------------------------- KL divergence

q_var = vector("q", SIMPLEX, "q", "model distribution")
p_var = vector("p", SIMPLEX, "p", "target distribution")
q, p = q_var.symbol, p_var.symbol
kl_formula = total(p[k] * sp.log(p[k] / q[k]))
cross_entropy = -total(p[k] * sp.log(q[k]))
entropy = -total(p[k] * sp.log(p[k]))
both_sum_to_one = (sp.Eq(sp.Sum(p[k], (k, 1, K)), 1), sp.Eq(sp.Sum(q[k], (k, 1, K)), 1))

u_var = var("u", POSITIVE, "u", "a likelihood ratio q_k/p_k")
a_var = var("a", UNIT_OPEN, "a", "p_1 for two outcomes")
b_var = var("b", UNIT_OPEN, "b", "q_1 for two outcomes")
u, a, b = u_var.symbol, a_var.symbol, b_var.symbol
kl_two = a * sp.log(a / b) + (1 - a) * sp.log((1 - a) / (1 - b))
phi = u - 1 - sp.log(u)  # φ(u) ≥ 0 with equality only at u = 1

kl_divergence = Loss(
    name="kl_divergence",
    title="Kullback–Leibler divergence",
    family="distributions",
    output=q_var,
    target=p_var,
    index=i_var,
    classes=classes_var,
    formula=kl_formula,
    origin=Definition("relative entropy of the target p from the model q"),
    use_case="matching a predicted distribution to a target distribution (distillation, VAEs)",
    link="identity (probabilities)",
    label_format="probability vector",
    claims=(
        identity("cross-entropy = entropy + KL: H(p, q) = H(p) + KL(p || q)", cross_entropy, entropy + kl_formula),
        identity("KL(p || p) = 0", kl_formula.xreplace({q: p}), 0),
        sign("Gibbs' inequality for two outcomes: KL(p || q) >= 0, its minimum 0 at q = p", kl_two, ">=",
             var=b, point=a, scope=Scope((a_var, b_var))),
        identity("KL(p || q) = sum_k p_k phi(q_k/p_k) with phi(u) = u - 1 - log u (both sum to one)", kl_formula,
                 total(p[k] * phi.subs(u, q[k] / p[k])), given=both_sum_to_one),
        sign("phi(u) = u - 1 - log u >= 0, so every term of that sum is >= 0: Gibbs' inequality for any K", phi, ">=",
             var=u, point=1, scope=Scope((u_var,))),
        derivative("dKL/dq_i = -p_i/q_i", kl_formula, q[i], -p[i] / q[i]),
    ),
)

# ----------------------------------------------------------------------------------- VAE

mu_var = vector("mu", REAL_VECTOR, r"\mu", "encoder means, one per latent dimension")
logvar_var = vector("logvar", REAL_VECTOR, r"\log\sigma^2", "encoder log-variances")
nll_var = var("nll", REAL, r"-\log p(x \mid z)", "reconstruction term -log p(x | z) from the decoder")
mu, logvar, nll = mu_var.symbol, logvar_var.symbol, nll_var.symbol

gaussian_kl = (mu[k] ** 2 + sp.exp(logvar[k]) - 1 - logvar[k]) / 2  # KL(N(μ_k, σ_k²) || N(0, 1))
negative_elbo = nll + total(gaussian_kl)

w_var = var("w", REAL, "w", "latent value")
m_var = var("m", REAL, "m", "encoder mean")
s_var = var("s", POSITIVE, "s", "encoder standard deviation")
w, m, s = w_var.symbol, m_var.symbol, s_var.symbol
encoder = sp.exp(-((w - m) ** 2) / (2 * s**2)) / sp.sqrt(2 * sp.pi * s**2)
prior = sp.exp(-(w**2) / 2) / sp.sqrt(2 * sp.pi)
log_ratio = sp.expand(sp.expand_log(sp.log(encoder) - sp.log(prior), force=True))

# a finite latent variable: p(x, z = k) = c·r_k with evidence p(x) = c and posterior r
c_var = var("c", UNIT_OPEN, "c", "evidence p(x)")
r_var = vector("r", SIMPLEX, "r", "posterior p(z | x)")
e_var = vector("e", SIMPLEX, "e", "variational distribution q(z | x)")
c, r, e = c_var.symbol, r_var.symbol, e_var.symbol
elbo_finite = total(e[k] * sp.log(c * r[k] / e[k]))
kl_to_posterior = total(e[k] * sp.log(e[k] / r[k]))
elbo_two = a * sp.log(c * b / a) + (1 - a) * sp.log(c * (1 - b) / (1 - a))

vae_elbo = Loss(
    name="vae_elbo",
    title="Negative ELBO of a Gaussian VAE",
    family="distributions",
    output=mu_var,
    target=nll_var,
    inputs=(logvar_var,),
    index=i_var,
    classes=classes_var,
    formula=negative_elbo,
    origin=Definition("Kingma and Welling (2014): reconstruction plus KL(q(z | x) || N(0, I)) in closed form"),
    use_case="training variational autoencoders",
    link="identity (encoder mean and log-variance)",
    label_format="reconstruction term",
    claims=(
        identity("the log-density ratio of N(m, s^2) to N(0, 1), averaged over the encoder, gives "
                 "KL = (m^2 + s^2 - 1 - log s^2)/2 (E[w] = m, E[w^2] = m^2 + s^2)",
                 log_ratio.subs(w**2, m**2 + s**2).subs(w, m), (m**2 + s**2 - 1 - sp.log(s**2)) / 2,
                 scope=Scope((m_var, s_var, w_var))),
        identity("the log-density ratio is a quadratic in w, so its mean needs only E[w] and E[w^2]",
                 sp.diff(log_ratio, w, 3), 0, scope=Scope((m_var, s_var, w_var))),
        identity("each latent term of the loss is KL(N(mu_k, sigma_k^2) || N(0, 1)) with sigma_k^2 = exp(logvar_k)",
                 gaussian_kl.subs({mu[k]: m, logvar[k]: sp.log(s**2)}), (m**2 + s**2 - 1 - sp.log(s**2)) / 2,
                 scope=Scope((m_var, s_var))),
        identity("finite latent: ELBO = log p(x) - KL(q || posterior)", elbo_finite, sp.log(c) - kl_to_posterior,
                 given=(sp.Eq(sp.Sum(e[k], (k, 1, K)), 1),), scope=Scope((c_var, r_var, e_var))),
        sign("finite latent, two values: ELBO <= log p(x) (Jensen), with equality when q is the posterior",
             sp.log(c) - elbo_two, ">=", var=a, point=b, scope=Scope((a_var, b_var, c_var))),
        derivative("d(-ELBO)/dmu_i = mu_i", negative_elbo, mu[i], mu[i]),
        derivative("d(-ELBO)/dlogvar_i = (exp(logvar_i) - 1)/2", negative_elbo, logvar[i], (sp.exp(logvar[i]) - 1) / 2),
    ),
)
