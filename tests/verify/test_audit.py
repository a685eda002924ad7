"""Tests for symloss.verify.audit: the audit file format, malformed claims as error rows
(random values in every field too), numbers at the edges, and the audit of the four source
texts.  (`verify` is tested in test_claim.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import mpmath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symloss.declare.catalog import Catalog, load_catalog
from symloss.verify.audit import run_audit
from symloss.verify.audit_outcomes import VERDICTS, AuditResult, ClaimOutcome

REPOSITORY = Path(__file__).resolve().parents[2]
SOURCE_AUDIT = REPOSITORY / "derivations" / "audits" / "source_texts.toml"


# ---------------------------------------------------------------- the command line


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "symloss", *arguments], capture_output=True, text=True, cwd=REPOSITORY, timeout=120
    )


def test_cli_audit_of_the_source_texts() -> None:
    done = cli("audit", str(SOURCE_AUDIT), "--json")
    assert done.returncode == 1, done.stderr
    wrong = {row["id"] for row in json.loads(done.stdout) if row["verdict"] == "wrong"}
    assert wrong == WRONG_IN_THE_TEXTS


# ---------------------------------------------------------------- audit files

TOY_CATALOG = '''
import sympy as sp
from symloss.declare.functions import sigmoid
from symloss.declare.loss import Definition, Loss
from symloss.declare.notation import BINARY, NONNEGATIVE, UNIT_OPEN, var

p = var("p", UNIT_OPEN)
y = var("y", BINARY)
gamma = var("gamma", NONNEGATIVE)
toy_bce = Loss(name="toy_bce", title="BCE", family="binary", output=p, target=y, origin=Definition(),
               formula=-y.symbol * sp.log(p.symbol) - (1 - y.symbol) * sp.log(1 - p.symbol))
toy_focal = Loss(name="toy_focal", title="focal", family="binary", output=p, target=y, params=(gamma,),
                 origin=Definition(), formula=-(1 - p.symbol) ** gamma.symbol * sp.log(p.symbol))
toy_logit = Loss(name="toy_logit", title="logit", family="binary", output=p, target=y, origin=Definition(),
                 formula=sp.log(p.symbol) - sp.log(1 - p.symbol))
'''


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    folder = tmp_path_factory.mktemp("toy_catalog")
    (folder / "toy.py").write_text(textwrap.dedent(TOY_CATALOG))
    return load_catalog(folder)


def audit_text(tmp_path: Path, toml: str, catalog: Catalog) -> AuditResult:
    path = tmp_path / "claims.toml"
    path.write_text(textwrap.dedent(toml), encoding="utf-8")
    return run_audit(path, catalog)


GOOD = """
[[claim]]
id = "churn"
source = "a text"
kind = "value"
loss = "toy_bce"
inputs = [[0.541, 0.823, 0.312, 0.791, 0.458], [0, 1, 0, 1, 0]]
stated = 0.439
digits = 3

[[claim]]
id = "churn-3"
source = "a text"
kind = "value"
loss = "toy_bce"
inputs = [[0.541, 0.312], [0, 0]]
reduction = "none"
stated = [0.779, 0.375]
digits = 3

[[claim]]
id = "focal"
source = "a text"
kind = "value"
loss = "toy_focal"
inputs = [0.9, 1]
params = {gamma = 2}
stated = 0.0011
digits = 4

[[claim]]
id = "never"
source = "a text"
kind = "value"
loss = "toy_bce"
inputs = [0.5, 1]
stated = 0.5
digits = 1

[[claim]]
id = "expr"
source = "a text"
kind = "value"
expr = "diff(-y*log(sigmoid(z)) - (1 - y)*log(1 - sigmoid(z)), z)"
at = {z = "log(99)", y = 0}
stated = 0.99
digits = 4

[[claim]]
id = "gradient"
source = "a text"
kind = "identity"
lhs = "diff(toy_bce(sigmoid(z), y), z)"
rhs = "sigmoid(z) - y"
assume = ["y in {0, 1}"]

[[claim]]
id = "gradient-wrong"
source = "a text"
kind = "identity"
lhs = '\\frac{\\partial}{\\partial z} \\log(1 + e^{z})'
rhs = '\\sigma(-z)'
latex = true
"""


def test_an_audit_judges_values_and_identities(tmp_path: Path, toy: Catalog) -> None:
    result = audit_text(tmp_path, GOOD, toy)
    verdicts = {o.id: o.verdict for o in result.outcomes}
    assert verdicts == {
        "churn": "correct",
        "churn-3": "wrong",  # -log(0.688) = 0.37397: the text printed 0.375
        "focal": "correct",
        "never": "wrong",
        "expr": "correct",
        "gradient": "correct",
        "gradient-wrong": "wrong",
    }
    assert result.exit_code == 1
    rows = {row["id"]: row for row in result.to_json()}
    assert rows["churn-3"]["computed"] == "[0.779, 0.374]"
    assert rows["never"]["computed"] == "0.7"
    assert rows["gradient-wrong"]["counterexample"]
    assert set(rows["churn"]) == {"id", "verdict", "stated", "computed", "counterexample", "message"}
    assert "gradient-wrong" in result.to_text()


def test_infinite_values(tmp_path: Path, toy: Catalog) -> None:
    toml = """
    [[claim]]
    id = "inf"
    source = "a text"
    kind = "value"
    expr = "-log(p)"
    at = {p = 0.0}
    stated = "inf"
    digits = 3
    """
    # log(0) is rejected when parsed, but p = 0 is a value: -log(0) evaluates to +inf
    (outcome,) = audit_text(tmp_path, toml, toy).outcomes
    assert outcome.verdict == "correct" and outcome.computed == "inf"


MALFORMED = [
    ('id = "a"\nsource = "s"\nkind = "guess"', "'a'", "kind"),
    ('id = "a"\nkind = "value"\nloss = "toy_bce"\ninputs = [0.5, 1]\nstated = 0.7\ndigits = 3', "'a'", "source"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "nope"\ninputs = [0.5, 1]\nstated = 0.7\ndigits = 3', "'a'",
     "loss"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_bce"\ninputs = [0.5]\nstated = 0.7\ndigits = 3', "'a'",
     "inputs"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_bce"\ninputs = [[0.5, 0.4], [1, 0, 1]]\nstated = 0.7\n'
     'digits = 3', "'a'", "inputs"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_bce"\ninputs = [0.5, 1]\nstated = "lots"\ndigits = 3',
     "'a'", "stated"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_bce"\ninputs = [0.5, 1]\nstated = 0.7\ndigits = -1', "'a'",
     "digits"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_bce"\ninputs = [0.5, 1]\nstated = 0.7\ndigits = 3\n'
     'reduction = "median"', "'a'", "reduction"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_focal"\ninputs = [0.5, 1]\nstated = 0.7\ndigits = 3',
     "'a'", "params"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_focal"\ninputs = [0.5, 1]\nparams = {beta = 1}\n'
     'stated = 0.7\ndigits = 3', "'a'", "params"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_bce"\ninputs = [0.5, 1]\nstated = 0.7\ndigits = 3\n'
     'colour = "red"', "'a'", "colour"),
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_bce"\ninputs = ["__import__(1)", 1]\nstated = 0.7\n'
     'digits = 3', "'a'", "inputs"),
    ('id = "a"\nsource = "s"\nkind = "value"\nexpr = "x + y"\nat = {x = 1}\nstated = 0.7\ndigits = 3', "'a'", "at"),
    ('id = "a"\nsource = "s"\nkind = "value"\nexpr = "x +"\nat = {x = 1}\nstated = 0.7\ndigits = 3', "'a'", "expr"),
    ('id = "a"\nsource = "s"\nkind = "identity"\nlhs = "x"', "'a'", "rhs"),
    ('id = "a"\nsource = "s"\nkind = "identity"\nlhs = "exec(1)"\nrhs = "x"', "'a'", "lhs"),
    ('id = "a"\nsource = "s"\nkind = "identity"\nlhs = "x"\nrhs = "x"\nassume = ["x >> 1"]', "'a'", "assume"),
    ('id = "a"\nsource = "s"\nkind = "identity"\nlhs = "x"\nrhs = "x"\nassume = "x > 1"', "'a'", "assume"),
    ('id = "a"\nsource = "s"\nkind = "identity"\nlhs = "x"\nrhs = "x"\nlatex = "yes"', "'a'", "latex"),
    ('source = "s"\nkind = "identity"\nlhs = "x"\nrhs = "x"', "#1", "id"),
    *[(f'id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_bce"\n{field_line}\ndigits = 3', "'a'", field_name)
      for field_line, field_name in [
          ("inputs = [nan, 1]\nstated = 0.7", "inputs"),
          ("inputs = [inf, 1]\nstated = 0.7", "inputs"),
          ("inputs = [1e400, 1]\nstated = 0.7", "inputs"),
          ("inputs = [1e-400, 1]\nstated = 0.7", "inputs"),
          ("inputs = [[[0.5]], 1]\nstated = 0.7", "inputs"),
          ("inputs = [{p = 0.5}, 1]\nstated = 0.7", "inputs"),
          ('inputs = ["1/0", 1]\nstated = 0.7', "inputs"),
          ('inputs = ["sqrt(-1)", 1]\nstated = 0.7', "inputs"),
          ("inputs = [0.5, 1]\nstated = nan", "stated"),
          ("inputs = [0.5, 1]\nstated = 1e400", "stated"),
          ("inputs = [0.5, 1]\nstated = [[0.7]]", "stated"),
          ("inputs = [0.5, 1]\nstated = []", "stated"),
          ("inputs = [0.5, 1]\nstated = {a = 1}", "stated"),
          ("inputs = [0.5, 1]\nstated = true", "stated"),
      ]],
    ('id = "a"\nsource = "s"\nkind = "value"\nloss = "toy_focal"\ninputs = [0.5, 1]\nparams = {gamma = nan}\n'
     'stated = 0.7\ndigits = 3', "'a'", "params"),
    ('id = "a"\nsource = "s"\nkind = "value"\nexpr = "exp(z)"\nat = {z = -inf}\nstated = 0\ndigits = 3', "'a'", "at"),
    ('id = "a"\nsource = "s"\nkind = "value"\nexpr = "exp(z)"\nat = {z = "exp(exp(exp(30)))"}\nstated = 0\n'
     'digits = 3', "'a'", "at"),
    ('id = "a"\nsource = "s"\nkind = "identity"\nlhs = "x"\nrhs = "x"\nbudget = nan', "'a'", "budget"),
    ('id = "a"\nsource = "s"\nkind = "identity"\nlhs = "x"\nrhs = "x"\nbudget = inf', "'a'", "budget"),
]


@pytest.mark.parametrize(("body", "ident", "field_name"), MALFORMED)
def test_a_malformed_claim_is_an_error_row_naming_id_and_field(
    tmp_path: Path, toy: Catalog, body: str, ident: str, field_name: str
) -> None:
    result = audit_text(tmp_path, "[[claim]]\n" + body + "\n" + GOOD, toy)
    assert not result.error, result.error
    first, *others = result.outcomes
    assert first.verdict == "error" and first.id == ident.strip("'"), first
    assert ident in first.message and f"field {field_name!r}" in first.message, first.message
    assert [o.verdict for o in others] == ["correct", "wrong", "correct", "wrong", "correct", "correct", "wrong"]
    assert result.exit_code == 1  # a wrong claim outranks a malformed one
    alone = audit_text(tmp_path, "[[claim]]\n" + body + "\n", toy)
    assert [o.verdict for o in alone.outcomes] == ["error"] and alone.exit_code == 2


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[claim]\nid = 1", "not valid TOML"),
        ("title = 'x'", "no [[claim]] tables"),
        ("extra = 1\n[[claim]]\nid = 'a'", "unknown top-level key"),
        ("claim = [1, 2]", "no [[claim]] tables"),
        (b"\xff[[claim]]", "not valid TOML"),
        ("[[claim]]\nid = 'a'\nstated = " + "[" * 5000 + "]" * 5000, "not valid TOML: nesting too deep"),
        ("[[claim]]\nid = 'a'\nstated = " + "{a = " * 5000 + "1" + "}" * 5000, "not valid TOML: nesting too deep"),
        ("[[claim]]\nid = 'a'\nstated = " + "1" * 5000, "not valid TOML"),
    ],
)
def test_malformed_files_exit_2(tmp_path: Path, toy: Catalog, toml: str | bytes, message: str) -> None:
    if isinstance(toml, bytes):
        (tmp_path / "claims.toml").write_bytes(toml)
        result = run_audit(tmp_path / "claims.toml", toy)
    else:
        result = audit_text(tmp_path, toml, toy)
    assert result.exit_code == 2 and message in result.error and not result.outcomes
    assert result.to_json() == {"error": result.error} and "\n" not in result.error


def test_a_missing_file_exits_2(tmp_path: Path, toy: Catalog) -> None:
    result = run_audit(tmp_path / "absent.toml", toy)
    assert result.exit_code == 2 and "cannot read" in result.error


# ---------------------------------------------------------------- audit files: defaults, class labels, error rows


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return load_catalog()


def value_claim(ident: str, loss: str, inputs: str, *, params: str = "{}", stated: str = "0", digits: int = 12,
                reduction: str = "mean") -> str:
    """A value claim of a catalog loss, as an audit file writes it."""
    return (f'[[claim]]\nid = "{ident}"\nsource = "s"\nkind = "value"\nloss = "{loss}"\ninputs = {inputs}\n'
            f'params = {params}\nreduction = "{reduction}"\nstated = {stated}\ndigits = {digits}\n\n')


def computed(result: AuditResult) -> dict[str, str | None]:
    return {o.id: o.computed for o in result.outcomes}


def places(value: mpmath.mpf, digits: int = 12) -> str:
    return f"{Decimal(mpmath.nstr(value, 30, strip_zeros=False)).quantize(Decimal(1).scaleb(-digits)):f}"


def test_a_left_out_parameter_takes_its_declared_default(tmp_path: Path, bundled: Catalog) -> None:
    toml = "".join([
        value_claim("bare", "bce_with_logits", "[0.5, 1]"),
        value_claim("given", "bce_with_logits", "[0.5, 1]", params="{pos_weight = 1.0}"),
        value_claim("other", "bce_with_logits", "[0.5, 1]", params="{pos_weight = 2}"),
        value_claim("focal-half", "focal_with_logits", "[0.5, 1]", params="{gamma = 1}"),
        value_claim("focal-full", "focal_with_logits", "[0.5, 1]", params="{gamma = 1, alpha = 0.25}"),
        value_claim("focal-alpha", "focal_with_logits", "[0.5, 1]", params="{gamma = 1, alpha = 0.5}"),
    ])
    values = computed(audit_text(tmp_path, toml, bundled))
    with mpmath.workdps(40):
        softplus = mpmath.log1p(mpmath.exp(-mpmath.mpf("0.5")))  # y = 1: pos_weight * log(1 + e^-z)
        assert values["bare"] == values["given"] == places(softplus)
        assert values["other"] == places(2 * softplus)
        # focal with logits at y = 1: alpha (1 - sigmoid(z))^gamma softplus(-z)
        assert values["focal-half"] == values["focal-full"] == places(mpmath.mpf("0.25") * (1 - _sig(0.5)) * softplus)
    assert values["focal-alpha"] != values["focal-full"]


def test_a_left_out_parameter_without_a_default_is_an_error_for_that_claim_only(
    tmp_path: Path, toy: Catalog
) -> None:
    toml = ('[[claim]]\nid = "h10"\nsource = "s"\nkind = "value"\nloss = "toy_focal"\ninputs = [0.9, 1]\n'
            'stated = 0.0011\ndigits = 4\n\n'
            '[[claim]]\nid = "h11"\nsource = "s"\nkind = "value"\nloss = "toy_focal"\ninputs = [0.9, 1]\n'
            'params = {gamma = 2}\nstated = 0.0011\ndigits = 4\n')
    result = audit_text(tmp_path, toml, toy)
    error, judged = result.outcomes
    assert error.verdict == "error" and "'h10'" in error.message and "'params'" in error.message
    assert "no value for gamma" in error.message
    assert judged.verdict == "correct" and result.exit_code == 2


SPARSE_FORMS = [
    # loss, outputs (one row per sample), integer labels, params
    ("cross_entropy", "[[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]]", [1, 0], "{}"),
    ("softmax_cross_entropy", "[[2.0, 1.0, 0.1], [0.5, 0.2, 3.0], [1, 1, 1]]", [0, 2, 1], "{label_smoothing = 0.1}"),
    ("softmax_focal", "[[2.0, -1.0], [0.5, 0.2]]", [1, 0], "{gamma = 1.5}"),
    ("multiclass_hinge", "[[2.0, 1.0, 0.1, 0.3], [0.5, 0.2, 3.0, 0.0]]", [3, 2], "{}"),
    ("nt_xent", "[[0.9, 0.1, -0.3], [0.2, 0.4, 0.6]]", [0, 2], "{temperature = 0.2}"),
]


@pytest.mark.parametrize(("loss", "outputs", "labels", "params"), SPARSE_FORMS)
def test_integer_class_labels_give_the_value_of_their_one_hot_rows(
    tmp_path: Path, bundled: Catalog, loss: str, outputs: str, labels: list[int], params: str
) -> None:
    rows = json.loads(outputs)
    one_hot = [[int(j == c) for j in range(len(rows[0]))] for c in labels]
    each = {"params": params, "reduction": "none", "stated": str([0] * len(labels))}
    toml = "".join([
        value_claim("labels", loss, f"[{outputs}, {labels}]", **each),
        value_claim("rows", loss, f"[{outputs}, {one_hot}]", **each),
        value_claim("float-labels", loss, f"[{outputs}, {[float(c) for c in labels]}]", **each),
        value_claim("one-label", loss, f"[{rows[-1]}, {labels[-1]}]", params=params),
        value_claim("one-row", loss, f"[{rows[-1]}, {one_hot[-1]}]", params=params),
        value_claim("mean-labels", loss, f"[{outputs}, {labels}]", params=params),
        value_claim("mean-rows", loss, f"[{outputs}, {one_hot}]", params=params),
    ])
    result = audit_text(tmp_path, toml, bundled)
    assert "error" not in {o.verdict for o in result.outcomes}, result.to_text()
    values = computed(result)
    assert values["labels"] == values["rows"] == values["float-labels"]
    assert values["labels"] is not None and values["labels"].count(",") == len(labels) - 1
    assert values["one-label"] == values["one-row"] == values["labels"].strip("[]").split(", ")[-1]
    assert values["mean-labels"] == values["mean-rows"]
    assert result.outcomes[-1].stated == "0.000000000000"  # stated 0 at 12 places, not 0E-12


def test_the_sparse_cce_claim_of_the_issue(tmp_path: Path, bundled: Catalog) -> None:
    toml = "".join([
        value_claim("sparse", "cross_entropy", "[[[0.1, 0.7, 0.2]], [1]]", stated="0.357", digits=3),
        value_claim("scalar", "cross_entropy", "[[0.1, 0.7, 0.2], 1]", stated="0.357", digits=3),
        # a flat list that is not one label per sample is a class vector, as before: one sample, not three
        value_claim("row", "cross_entropy", "[[[0.1, 0.7, 0.2]], [0, 1, 0]]", stated="0.357", digits=3),
        value_claim("by-hand", "cross_entropy", "[[[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]], [1, 0]]", digits=12),
    ])
    result = audit_text(tmp_path, toml, bundled)
    verdicts = {o.id: o.verdict for o in result.outcomes}
    assert verdicts == {"sparse": "correct", "scalar": "correct", "row": "correct", "by-hand": "wrong"}
    assert "1 sample(s)" in result.outcomes[2].message
    with mpmath.workdps(40):
        by_hand = (-mpmath.log(mpmath.mpf("0.7")) - mpmath.log(mpmath.mpf("0.6"))) / 2
        assert computed(result)["by-hand"] == places(by_hand)


@pytest.mark.parametrize(
    ("loss", "inputs", "problem"),
    [
        ("cross_entropy", "[[0.1, 0.7, 0.2], 3]", "out of range 0..2"),
        ("cross_entropy", "[[0.1, 0.7, 0.2], -1]", "out of range 0..2"),
        ("cross_entropy", "[[[0.1, 0.7, 0.2], [0.2, 0.2, 0.6]], [0, 5]]", "out of range 0..2"),
        ("cross_entropy", "[[0.1, 0.7, 0.2], 1.5]", "integer class index"),
        ("cross_entropy", '[[0.1, 0.7, 0.2], "1"]', "integer class index"),
        ("cross_entropy", "[[0.1, 0.7, 0.2], true]", "integer class index"),
        ("cross_entropy", "[[[0.1, 0.7, 0.2], [0.2, 0.2, 0.6]], [0, 0.5]]", "integer class index"),
        ("cross_entropy", "[[0.5, 0.5], [1, 0, 0]]", "class vectors of different lengths"),
        ("kl_divergence", "[[0.5, 0.5], 1]", "vector argument"),  # a probability target takes no label
    ],
)
def test_a_bad_class_label_is_an_error_naming_the_field(
    tmp_path: Path, bundled: Catalog, loss: str, inputs: str, problem: str
) -> None:
    toml = value_claim("bad", loss, inputs) + value_claim("fine", "cross_entropy", "[[0.1, 0.7, 0.2], 1]",
                                                          stated="0.357", digits=3)
    result = audit_text(tmp_path, toml, bundled)
    bad, fine = result.outcomes
    assert bad.verdict == "error" and "claim 'bad': field 'inputs'" in bad.message and problem in bad.message
    assert fine.verdict == "correct" and result.exit_code == 2


TOWER = '[[claim]]\nid = "tower"\nsource = "s"\nkind = "value"\nexpr = "exp(exp(exp(x)))"\nat = {x = 30}\n' \
        'stated = 1.0\ndigits = 1\n\n'
CORRECT = value_claim("correct", "toy_bce", "[0.5, 1]", stated="0.693", digits=3)
WRONG = value_claim("wrong", "toy_bce", "[0.5, 1]", stated="0.7", digits=3)
ERROR = value_claim("error", "toy_bce", "[0.5]", stated="0.7", digits=3)


@pytest.mark.parametrize(
    ("claims", "code", "tally"),
    [
        ([CORRECT, ERROR], 2, "2 claims: 1 correct, 0 wrong, 0 unknown, 1 error"),
        ([ERROR, WRONG, CORRECT], 1, "3 claims: 1 correct, 1 wrong, 0 unknown, 1 error"),
        ([CORRECT, TOWER], 0, "2 claims: 1 correct, 0 wrong, 1 unknown, 0 error"),
        ([TOWER, ERROR], 2, "2 claims: 0 correct, 0 wrong, 1 unknown, 1 error"),
        ([CORRECT, CORRECT], 2, "2 claims: 1 correct, 0 wrong, 0 unknown, 1 error"),
    ],
)
def test_the_exit_code_and_the_tally_count_error_rows(
    tmp_path: Path, toy: Catalog, claims: list[str], code: int, tally: str
) -> None:
    result = audit_text(tmp_path, "".join(claims), toy)
    assert result.exit_code == code and result.to_text().endswith(tally), result.to_text()
    rows = result.to_json()
    assert isinstance(rows, list) and len(rows) == len(claims)
    for row in rows:
        assert set(row) == {"id", "verdict", "stated", "computed", "counterexample", "message"}
        if row["verdict"] == "error":
            assert str(row["message"]).startswith(f"claim {row['id']!r}: field ")


def test_a_repeated_id_is_an_error_row_after_the_first_is_judged(tmp_path: Path, toy: Catalog) -> None:
    result = audit_text(tmp_path, CORRECT + WRONG.replace('"wrong"', '"correct"', 1), toy)
    first, second = result.outcomes
    assert (first.id, first.verdict) == ("correct", "correct")
    assert (second.id, second.verdict) == ("correct", "error") and "field 'id': used twice" in second.message


def test_cli_audit_judges_every_claim_and_reports_errors(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_text("".join([
        value_claim("h10", "bce_with_logits", "[0.5, 1]", stated="0.474", digits=3),
        value_claim("sparse", "cross_entropy", "[[[0.1, 0.7, 0.2]], [1]]", stated="0.357", digits=3),
        value_claim("bad-label", "cross_entropy", "[[0.1, 0.7, 0.2], 7]", stated="0.357", digits=3),
        value_claim("h10", "bce", "[0.5, 1]", stated="0.693", digits=3),
        value_claim("no-loss", "bce_without_logits", "[0.5, 1]", stated="0.693", digits=3),
    ]), encoding="utf-8")
    done = cli("audit", str(path), "--json")
    assert done.returncode == 2, done.stdout + done.stderr
    rows = json.loads(done.stdout)
    assert [(r["id"], r["verdict"]) for r in rows] == [
        ("h10", "correct"), ("sparse", "correct"), ("bad-label", "error"), ("h10", "error"), ("no-loss", "error")]
    assert "'inputs'" in rows[2]["message"] and "used twice" in rows[3]["message"] and "'loss'" in rows[4]["message"]
    text = cli("audit", str(path))
    assert text.returncode == 2 and "5 claims: 2 correct, 0 wrong, 0 unknown, 3 error" in text.stdout
    assert "class label 7 is out of range" in text.stdout
    path.write_text(path.read_text(encoding="utf-8") + value_claim("wrong", "bce", "[0.5, 1]", stated="0.7", digits=3),
                    encoding="utf-8")
    assert cli("audit", str(path)).returncode == 1  # a wrong claim outranks the errors


# ---------------------------------------------------------------- the source texts

WRONG_IN_THE_TEXTS = {
    "clf-code-hinge",  # printed 0.2500; the listing's data give 0.7000
    "clf-code-bce",  # printed 0.4390; the listing's data give 0.4389
    "clf-code-cce",  # printed 0.2978; -log(0.742) = 0.2984
    "clf-churn-sample-3",  # printed 0.375; -log(0.688) = 0.374
    "lesson-example-1-mse-gradient",  # printed -0.1849; the value is -0.18496 = -0.1850 at 4 places
    "lesson-problem-1-mse-gradient",  # printed 0.0860; the value is 0.086068 = 0.0861 at 4 places
    "lesson-example-2-normalizer",  # printed 11.212 (sum of rounded terms); e^2 + e + e^0.1 = 11.2125
}


def _sig(t: mpmath.mpf) -> mpmath.mpf:
    """sigmoid(t) = 1 / (1 + e^-t), written by hand."""
    return 1 / (1 + mpmath.exp(-t))


def _by_hand() -> dict[str, tuple[str, mpmath.mpf, int]]:
    """The wrong claims recomputed here in mpmath at 50 digits: id -> (printed, true value, digits)."""
    with mpmath.workdps(50):
        f = mpmath.mpf
        sig = _sig
        churn_y, churn_p = [0, 1, 0, 1, 0], [f("0.541"), f("0.823"), f("0.312"), f("0.791"), f("0.458")]
        bce = mpmath.fsum(-(y * mpmath.log(p) + (1 - y) * mpmath.log(1 - p)) for y, p in zip(churn_y, churn_p,
                                                                                              strict=True)) / 5
        return {
            "clf-code-hinge": ("0.2500", (f("0.1") + f("0.5") + f("1.5")) / 3, 4),
            "clf-code-bce": ("0.4390", bce, 4),
            "clf-code-cce": ("0.2978", -mpmath.log(f("0.742")), 4),
            "clf-churn-sample-3": ("0.375", -mpmath.log(1 - f("0.312")), 3),
            "lesson-example-1-mse-gradient": ("-0.1849", 2 * (sig(-2) - 1) * sig(-2) * (1 - sig(-2)), 4),
            "lesson-problem-1-mse-gradient": ("0.0860", 2 * sig(3) * sig(3) * (1 - sig(3)), 4),
            "lesson-example-2-normalizer": ("11.212", mpmath.e**2 + mpmath.e + mpmath.exp(f("0.1")), 3),
        }


def test_each_wrong_claim_is_wrong_by_hand_and_the_audit_says_the_true_value(source_audit: AuditResult) -> None:
    outcomes = {o.id: o for o in source_audit.outcomes}
    for ident, (printed, value, digits) in _by_hand().items():
        true = mpmath.nstr(value, digits + 8, strip_zeros=False)
        rounded = str(Decimal(mpmath.nstr(value, 40)).quantize(Decimal(10) ** -digits))  # no ties here
        assert rounded != printed, (ident, true)
        assert outcomes[ident].stated == printed and outcomes[ident].computed == rounded, (ident, true)


@pytest.fixture(scope="module")
def source_audit() -> AuditResult:
    return run_audit(SOURCE_AUDIT, load_catalog())


def test_the_source_audit_flags_exactly_the_wrong_claims(source_audit: AuditResult) -> None:
    assert source_audit.error == ""
    wrong = {o.id for o in source_audit.outcomes if o.verdict == "wrong"}
    assert wrong == WRONG_IN_THE_TEXTS
    assert all(o.verdict == "correct" for o in source_audit.outcomes if o.id not in WRONG_IN_THE_TEXTS), [
        (o.id, o.verdict, o.message) for o in source_audit.outcomes if o.verdict == "unknown"
    ]
    assert source_audit.exit_code == 1


def test_the_source_audit_covers_both_kinds_and_all_four_texts(source_audit: AuditResult) -> None:
    kinds = [o.kind for o in source_audit.outcomes]
    assert len(kinds) >= 30 and kinds.count("identity") >= 8 and kinds.count("value") >= 20
    sources = " ".join(o.source for o in source_audit.outcomes)
    for title in ("Classification Loss Functions", "16-04 — Loss Functions", "Loss Functions reference sheet",
                  "notebook chapter"):
        assert title in sources


def test_the_hinge_listing_is_wrong_and_says_the_true_value(source_audit: AuditResult) -> None:
    (hinge,) = [o for o in source_audit.outcomes if o.id == "clf-code-hinge"]
    assert hinge.stated == "0.2500" and hinge.computed == "0.7000"


def test_cli_audit_table_and_exit_code() -> None:
    done = cli("audit", str(SOURCE_AUDIT))
    assert done.returncode == 1, done.stderr
    assert "clf-code-hinge" in done.stdout and "0.2500" in done.stdout and "0.7000" in done.stdout
    assert f"{len(WRONG_IN_THE_TEXTS)} wrong, 0 unknown" in done.stdout


def test_cli_audit_of_a_malformed_file_exits_2_naming_claim_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[claim]]\nid = "bce-cost"\nsource = "s"\nkind = "value"\nloss = "bce"\n'
                    'inputs = [0.5, 1]\nstated = 0.7\ndigits = "three"\n', encoding="utf-8")
    done = cli("audit", str(path), "--json")
    assert done.returncode == 2, done.stderr
    (row,) = json.loads(done.stdout)
    assert row["id"] == "bce-cost" and row["verdict"] == "error"
    assert "'bce-cost'" in row["message"] and "'digits'" in row["message"]


def test_an_audit_with_only_correct_claims_exits_0(tmp_path: Path, toy: Catalog) -> None:
    toml = GOOD.split('[[claim]]\nid = "churn-3"')[0]
    result = audit_text(tmp_path, toml, toy)
    assert [o.verdict for o in result.outcomes] == ["correct"] and result.exit_code == 0


def test_a_value_beyond_reach_is_unknown_not_a_crash(tmp_path: Path, toy: Catalog) -> None:
    toml = """
    [[claim]]
    id = "tower"
    source = "a text"
    kind = "value"
    expr = "exp(exp(exp(x)))"
    at = {x = 30}
    stated = 1.0
    digits = 1
    """
    (outcome,) = audit_text(tmp_path, toml, toy).outcomes
    assert outcome.verdict == "unknown" and "cannot evaluate" in outcome.message


# ---------------------------------------------------------------- numbers at the edges


def one_value(tmp_path: Path, toy: Catalog, expr: str, at: str, stated: str, digits: int) -> ClaimOutcome:
    toml = f'[[claim]]\nid = "v"\nsource = "s"\nkind = "value"\nexpr = "{expr}"\nat = {at}\nstated = {stated}\n' \
           f"digits = {digits}\n"
    (outcome,) = audit_text(tmp_path, toml, toy).outcomes
    return outcome


@pytest.mark.parametrize("stated", ["inf", '"inf"'])
def test_a_stated_infinity_is_legal_written_either_way(tmp_path: Path, toy: Catalog, stated: str) -> None:
    outcome = one_value(tmp_path, toy, "-log(p)", "{p = 0.0}", stated, 3)
    assert outcome.verdict == "correct" and outcome.computed == "inf" == outcome.stated
    outcome = one_value(tmp_path, toy, "-log(p)", "{p = 0.5}", stated, 3)
    assert outcome.verdict == "wrong" and outcome.computed == "0.693"


@pytest.mark.parametrize(
    ("at", "stated", "digits", "verdict", "computed"),
    [
        ('{z = "10^300"}', "1e300", 2, "correct", "1" + "0" * 300 + ".00"),  # beyond 50 digits: computed further
        ('{z = "10^300 + 1"}', "1e300", 0, "wrong", "1" + "0" * 299 + "1"),
        ("{z = 1e300}", "1.5e300", 0, "wrong", "1" + "0" * 300),  # 1e300 is read as the exact 10^300
        ("{z = -0.0001}", "-0.0", 2, "correct", "0.00"),  # never "-0.00"
        ("{z = -0.125}", "-0.13", 2, "correct", "-0.13"),  # half away from zero
        ("{z = 0.125}", "0.12", 2, "wrong", "0.13"),
        ("{z = 1e-300}", "0", 30, "correct", "0." + "0" * 30),
        ("{z = 2}", "1" + "0" * 60, 30, "wrong", "2." + "0" * 30),  # a stated integer beyond 64 bits is exact
    ],
)
def test_values_far_from_one_are_rounded_exactly(
    tmp_path: Path, toy: Catalog, at: str, stated: str, digits: int, verdict: str, computed: str
) -> None:
    outcome = one_value(tmp_path, toy, "z", at, stated, digits)
    assert (outcome.verdict, outcome.computed) == (verdict, computed), outcome


def test_a_mean_of_inf_and_minus_inf_is_unknown(tmp_path: Path, toy: Catalog) -> None:
    toml = value_claim("v", "toy_logit", "[[0.0, 1.0], 1]", stated='"inf"', digits=3)
    (outcome,) = audit_text(tmp_path, toml, toy).outcomes
    assert outcome.verdict == "unknown" and "undefined" in outcome.message, outcome
    toml = value_claim("v", "toy_logit", "[[0.0, 1.0], 1]", stated='["-inf", "inf"]', digits=3, reduction="none")
    (outcome,) = audit_text(tmp_path, toml, toy).outcomes
    assert outcome.verdict == "correct" and outcome.computed == "[-inf, inf]", outcome


def test_a_value_with_too_many_digits_to_round_is_unknown(tmp_path: Path, toy: Catalog) -> None:
    outcome = one_value(tmp_path, toy, "exp(z)", '{z = "10^300"}', "1", 3)
    assert outcome.verdict == "unknown" and "too many digits to round to 3 decimal places" in outcome.message
    assert "10^4.3429e+299" in outcome.message


# ---------------------------------------------------------------- random claims: a row each, never an exception


class Raw(str):
    """A TOML literal written as is (1e400, nan)."""


def toml_value(value: object) -> str:
    """``value`` written as TOML (a test-only writer: strings as JSON strings, which TOML reads alike)."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # nan, inf and -inf are TOML's spellings too
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
SCALARS = st.one_of(
    st.booleans(), st.integers(), st.integers(min_value=-(10**80), max_value=10**80),
    st.floats(allow_nan=True, allow_infinity=True), TEXT,
    st.sampled_from([Raw("1e400"), Raw("-1e400"), Raw("1e-400"), Raw("nan"), Raw("+inf"), "inf", "-inf", "10^300",
                     "log(99)", "1/0", "sqrt(-1)", "log(0)", "x", "p", "z", "y", "sigmoid(z)", "0.5", "mean", "none",
                     "sum", "value", "identity", "bce_with_logits", "y in {0, 1}"]),
)
KEYS = st.sampled_from(["z", "y", "p", "pos_weight", "x", "gamma"]) | TEXT
VALUES = st.deferred(lambda: SCALARS | st.lists(VALUES, max_size=3) | st.dictionaries(KEYS, VALUES, max_size=3))
BASES = [
    {"id": "a", "source": "s", "kind": "value", "loss": "bce_with_logits", "inputs": [[0.5, -1.0], [1, 0]],
     "params": {"pos_weight": 2}, "reduction": "mean", "stated": 0.5, "digits": 3},
    {"id": "b", "source": "s", "kind": "value", "expr": "diff(bce_with_logits(z, y), z)",
     "at": {"z": "log(99)", "y": 0}, "stated": 0.99, "digits": 2},
    {"id": "c", "source": "s", "kind": "identity", "lhs": "sigmoid(-z)", "rhs": "1 - sigmoid(z)", "assume": [],
     "budget": 5},
]
FIELDS = sorted({key for base in BASES for key in base} | {"latex"})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(BASES), changes=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=3),
       dropped=st.sets(st.sampled_from(FIELDS), max_size=2))
def test_random_values_in_each_field_give_a_row_or_a_one_line_file_error(
    tmp_path: Path, bundled: Catalog, base: dict[str, object], changes: dict[str, object], dropped: set[str]
) -> None:
    if isinstance(changes.get("budget"), int | float) and not isinstance(changes["budget"], bool):
        changes["budget"] = min(changes["budget"], 5)  # keep the random runs short
    claim = {k: v for k, v in {**base, **changes}.items() if k not in dropped}
    good = {**BASES[1], "id": "good"}
    text = "".join(
        "[[claim]]\n" + "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in table.items()) + "\n"
        for table in (claim, good)
    )
    path = tmp_path / "claims.toml"
    path.write_text(text, encoding="utf-8")
    result = run_audit(path, bundled)
    if result.error:
        assert "\n" not in result.error and not result.outcomes and result.exit_code == 2
        return
    assert [o.verdict in VERDICTS for o in result.outcomes] == [True, True], result.outcomes
    assert result.outcomes[-1].id == "good" and result.outcomes[-1].verdict == "correct"  # the others still judged
    first = result.outcomes[0]
    if first.verdict == "error":
        assert "field" in first.message, first.message
    assert result.to_text() and json.dumps(result.to_json())
