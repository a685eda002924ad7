"""Tests for symloss.declare.loss: declarations validate themselves and bind claims."""

import pytest
import sympy as sp

import symloss.declare.loss as decl
from symloss.declare import notation as n
from symloss.declare.functions import sigmoid

z = n.var("z")
y = n.var("y", n.BINARY)
gamma = n.var("gamma", n.NONNEGATIVE)


def make_loss(**changes: object) -> decl.Loss:
    fields: dict[str, object] = dict(
        name="toy",
        title="Toy",
        family="binary",
        output=z,
        target=y,
        formula=-y.symbol * sp.log(sigmoid(z.symbol)),
        origin=decl.Definition(),
        params=(gamma,),
        claims=(decl.identity("zero at y = 0", sp.S.Zero, sp.S.Zero),),
        given=(sp.Eq(y.symbol**2, y.symbol),),
    )
    fields.update(changes)
    return decl.Loss(**fields)


def test_claims_are_bound_to_the_loss_scope_and_given() -> None:
    claim = make_loss().claims[0]
    assert claim.scope.domains()[y.symbol] is n.BINARY
    assert claim.scope.domains()[gamma.symbol] is n.NONNEGATIVE
    assert claim.given == (sp.Eq(y.symbol**2, y.symbol),)


def test_binding_does_not_repeat_a_given_the_claim_already_has() -> None:
    eq = sp.Eq(y.symbol**2, y.symbol)
    claim = decl.identity("c", 0, 0, given=(eq,))
    assert make_loss(claims=(claim,)).claims[0].given == (eq,)


@pytest.mark.parametrize("name", ["Toy", "two words", "1st", "bce-logits"])
def test_a_loss_name_must_be_a_lower_case_identifier(name: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        make_loss(name=name)


def test_duplicate_claim_statements_are_rejected() -> None:
    claim = decl.identity("same", 0, 0)
    with pytest.raises(ValueError, match="duplicate"):
        make_loss(claims=(claim, claim))


def test_apply_substitutes_positional_arguments() -> None:
    t = sp.Symbol("t")
    assert make_loss().apply([t, 1]) == -sp.log(sigmoid(t))
    with pytest.raises(ValueError, match="at most"):
        make_loss().apply([t, 1, 2, 3])
    with pytest.raises(ValueError, match="at least"):
        make_loss().apply([t])


def test_wrt_of_a_vector_output_is_the_indexed_entry() -> None:
    zz = n.vector("z")
    i = n.index("i")
    loss = make_loss(output=zz, index=i, formula=zz.symbol[i.symbol])
    assert loss.wrt == zz.symbol[i.symbol]
    with pytest.raises(ValueError, match="index"):
        _ = make_loss(output=zz, formula=zz.symbol[i.symbol]).wrt


@pytest.mark.parametrize(
    ("builder", "message"),
    [
        (lambda: decl.Claim("d", decl.ClaimKind.DERIVATIVE, sp.S.One), "needs var"),
        (lambda: decl.Claim("l", decl.ClaimKind.LIMIT, sp.S.One, var=z.symbol), "needs point"),
        (lambda: decl.Claim("s", decl.ClaimKind.SIGN, sp.S.One, relation="=="), "relation"),
        (lambda: decl.identity("e", 0, 0, expected="maybe"), "expected"),
        (lambda: decl.Example("x", sp.S.One, {}, 1.0, 1, "src", reduce="max"), "reduce"),
    ],
)
def test_malformed_declarations_raise(builder, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        builder()


def test_builders_fill_the_kind_specific_fields() -> None:
    d = decl.derivative("d", sigmoid(z.symbol), z.symbol, 0, order=2)
    assert (d.kind, d.var, d.order) == (decl.ClaimKind.DERIVATIVE, z.symbol, 2)
    m = decl.minimizer("m", z.symbol**2, z.symbol, 0)
    assert (m.kind, m.point) == (decl.ClaimKind.MINIMIZER, 0)
    i = decl.inequality("i", z.symbol**2, ">=", 0)
    assert (i.kind, i.relation) == (decl.ClaimKind.INEQUALITY, ">=")


def test_a_hyper_parameter_may_declare_what_none_means() -> None:
    alpha = n.var("alpha", n.UNIT_CLOSED, default=0.25, unset=n.Unset(y.symbol, "no balancing"))
    loss = make_loss(params=(gamma, alpha))
    assert loss.nullable == (alpha,)
    assert make_loss().nullable == ()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target": n.var("y", n.BINARY, unset=n.Unset(1, "one"))}, "only a hyper-parameter"),
        ({"params": (n.var("alpha", n.UNIT_CLOSED, unset=n.Unset(z.symbol, "the logit")),)}, "other than alpha"),
        ({"params": (n.var("alpha", n.UNIT_CLOSED, unset=n.Unset(sp.Symbol("w"), "unknown")),)}, "other than alpha"),
    ],
)
def test_none_must_mean_an_expression_in_the_other_inputs(changes: dict[str, object], message: str) -> None:
    """Replacing a parameter by an expression in the output would not commute with the derivatives."""
    with pytest.raises(ValueError, match=message):
        make_loss(**changes)
