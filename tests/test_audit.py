"""Tests for symloss.audit: soundness of `verify` on false claims, hostile input,
the audit file format, and the audit of the four source texts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from symloss.audit import AuditResult, parse_identity, run_audit, run_verify
from symloss.catalog import Catalog, load_catalog
from symloss.loss import Claim
from symloss.numeric import evaluate

REPOSITORY = Path(__file__).resolve().parent.parent
SOURCE_AUDIT = REPOSITORY / "derivations" / "audits" / "source_texts.toml"


def separates(claim: Claim, counterexample: dict[str, str]) -> bool:
    """Whether the two sides really differ at the counterexample (re-evaluated here)."""
    point: dict[object, object] = {}
    for v in claim.scope.variables:
        if v.name in counterexample:
            value = counterexample[v.name]
            point[v.symbol] = (
                tuple(Fraction(t) for t in value.strip("[]").split(",")) if v.is_vector else Fraction(value)
            )
    sides = []
    for side in (claim.lhs, claim.rhs):
        try:
            sides.append(evaluate(side, point, digits=40))
        except (ValueError, ZeroDivisionError, TypeError):
            sides.append(None)
    left, right = sides
    if left is None or right is None:
        return (left is None) != (right is None)
    return abs(left - right) > mpmath.mpf(10) ** -15 * max(1, abs(left), abs(right))


# ---------------------------------------------------------------- soundness

FALSE_CLAIMS: list[tuple[str, str, list[str]]] = [
    ("diff(sigmoid(z), z)", "sigmoid(z)**2", []),
    ("diff(log(x), x)", "x", ["x > 0"]),
    ("log(x*y)", "log(x) + log(y)", []),
    ("sqrt(x**2)", "x", []),
    ("abs(x)", "x", []),
    ("exp(x + y)", "exp(x) + exp(y)", []),
    ("sigmoid(-z)", "sigmoid(z)", []),
    ("1 - sigmoid(z)", "sigmoid(z)", []),
    ("softplus(z)", "log(1 + exp(-z))", []),
    ("softplus(z) - softplus(-z)", "-z", []),
    ("tanh(x)", "2*sigmoid(x) - 1", []),
    ("diff(tanh(x), x)", "1 - tanh(x)", []),
    ("cosh(x)^2 + sinh(x)^2", "1", []),
    ("max(x, y)", "x + y - min(x, y) + 1", []),
    ("max(0, x)", "x", []),
    ("diff(-y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z)), z)", "y - sigmoid(z)", ["y in {0, 1}"]),
    ("diff(-log(sigmoid(z)), z)", "sigmoid(z)", []),
    ("(x + y)^2", "x^2 + y^2", []),
    ("x/y", "y/x", ["x > 0", "y > 0"]),
    ("log(x^2)", "2*log(x)", []),
    ("log(exp(x))", "x + 1", []),
    ("diff(x^3, x, 2)", "3*x", []),
    ("diff(x^2*y^2, x, y)", "2*x*y", []),
    ("sign(x)*abs(x)", "abs(x)", []),
    ("y^2", "1", ["y in {0, 1}"]),
    ("y^2", "y", ["y in {-1, 1}"]),
    ("y*(1 - y)", "0", ["y in {0, 1, 2}"]),
    ("p*(1 - p)", "1/4", ["0 < p < 1"]),
    ("log(p) + log(1 - p)", "log(1 - p^2)", ["0 < p < 1"]),
    ("-y*log(p) - (1 - y)*log(1 - p)", "-log(p)", ["y in {0, 1}", "0 < p < 1"]),
    ("sum(y[k], k, 1, K)", "K", []),
    ("sum(x[k]^2, k, 1, K)", "sum(x[k], k, 1, K)^2", []),
    ("diff(log(sum(exp(z[k]), k, 1, K)), z[i])", "exp(z[i])", []),
    ("diff(sum(z[k]^2, k, 1, K), z[i])", "z[i]", []),
    ("(1 - p)^gamma*log(p)", "log(p)", ["gamma >= 0", "0 < p < 1"]),
    ("max(0, 1 - y*z)", "1 - y*z", ["y in {-1, 1}"]),
    ("min(abs(x), 1)", "abs(x)", []),
    ("log1p(x)", "log(x) + 1", ["x > 0"]),
    ("expm1(x)", "exp(x - 1)", []),
    ("sqrt(x*y)", "sqrt(x)*sqrt(y)", []),
    ("1/K", "1/2", ["K integer >= 2"]),
    ("diff(softplus(z), z)", "sigmoid(-z)", []),
    ("x - x*1e-8", "x", []),
    ("exp(x)", "1 + x + x^2/2", []),
    ("sigmoid(z)*(1 - sigmoid(z))", "1/4", []),
    ("diff(sigmoid(z), z, 2)", "sigmoid(z)*(1 - sigmoid(z))", []),
]

FALSE_LATEX_CLAIMS: list[tuple[str, str, list[str]]] = [
    (r"\frac{\partial}{\partial z}\sigma(z)", r"\sigma(z)^2", []),
    (r"\frac{1}{1 + e^{-z}}", r"\frac{1}{1 + e^{z}}", []),
    (r"\log(xy)", r"\log x + \log y", []),
    (r"L = -y\log\sigma(z) - (1-y)\log(1-\sigma(z)); \frac{\partial L}{\partial z}", r"y - \sigma(z)",
     ["y in {0, 1}"]),
    (r"-\sum_{k=1}^{K} y_k \log \hat{y}_k", r"-\log \hat{y}_1", ["y_hat in simplex", "y in simplex"]),
    (r"\max(0, 1 - y z)", r"1 - yz", ["y in {-1, 1}"]),
    (r"|x|", r"x", []),
    (r"\sqrt{x^2}", r"x", []),
    (r"(1 - \hat{p})^\gamma", r"1", ["gamma >= 0", "0 < p_hat < 1"]),
    (r"\tanh(x)", r"2\sigma(x) - 1", []),
    (r"\frac{e^{z_i}}{\sum_{k=1}^{K} e^{z_k}}", r"\frac{1}{K}", []),
    (r"\frac{\partial^2}{\partial z^2} \log(1 + e^{z})", r"\sigma(z)", []),
    (r"\cosh(x) - \sinh(x)", r"e^{x}", []),
]


@pytest.mark.parametrize(("lhs", "rhs", "assume"), FALSE_CLAIMS)
def test_false_claims_are_refuted_with_a_real_counterexample(lhs: str, rhs: str, assume: list[str]) -> None:
    result = run_verify(lhs, rhs, assume, timeout=10)
    assert result.verdict is not None and result.verdict.status == "refuted", result.to_text()
    assert result.exit_code == 1
    claim = parse_identity(lhs, rhs, assume).claim
    assert separates(claim, dict(result.verdict.counterexample or {})), result.to_text()


@pytest.mark.parametrize(("lhs", "rhs", "assume"), FALSE_LATEX_CLAIMS)
def test_false_latex_claims_are_refuted_with_a_real_counterexample(lhs: str, rhs: str, assume: list[str]) -> None:
    result = run_verify(lhs, rhs, assume, latex=True, timeout=10)
    assert result.verdict is not None and result.verdict.status == "refuted", result.to_text()
    claim = parse_identity(lhs, rhs, assume, latex=True).claim
    assert separates(claim, dict(result.verdict.counterexample or {})), result.to_text()


@pytest.mark.parametrize(
    ("lhs", "rhs", "assume", "latex"),
    [
        ("diff(-y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z)), z)", "sigmoid(z) - y", [], False),
        ("diff(sigmoid(z), z)", "sigmoid(z)*(1 - sigmoid(z))", [], False),
        ("log(x*y)", "log(x) + log(y)", ["x > 0", "y > 0"], False),
        ("max(0, 1 - y*z)", "max(0, 1 - y*z)", ["y in {-1, 1}"], False),
        (r"L = -y\log\sigma(z) - (1-y)\log(1-\sigma(z)); \frac{\partial L}{\partial z}", r"\sigma(z) - y", [], True),
        (r"\frac{1}{1 + e^{-z}}", r"\sigma(z)", [], True),
    ],
)
def test_true_claims_are_proved(lhs: str, rhs: str, assume: list[str], latex: bool) -> None:
    result = run_verify(lhs, rhs, assume, latex=latex, timeout=20)
    assert result.verdict is not None and result.verdict.status == "proved", result.to_text()
    assert result.exit_code == 0


def test_json_has_the_documented_keys() -> None:
    refuted = run_verify("abs(x)", "x", timeout=10).to_json()
    assert set(refuted) == {"verdict", "method", "counterexample", "seconds", "lhs", "rhs"}
    assert refuted["verdict"] == "refuted" and refuted["lhs"] == "Abs(x)"
    assert all(isinstance(v, str) for v in refuted["counterexample"].values())
    proved = run_verify("x + x", "2*x", timeout=10).to_json()
    assert proved["verdict"] == "proved" and proved["counterexample"] is None


def test_text_output_shows_claim_verdict_method_and_time() -> None:
    shown = run_verify("abs(x)", "x", ["x real"], timeout=10).to_text()
    for part in ("│x│ = x", "verdict:   refuted", "counterexample: x = ", "time:"):
        assert part in shown


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("lhs", "rhs", "assume", "where", "column"),
    [
        ("x + foo(y)", "x", [], "LHS", 5),
        ("x", "x +", [], "RHS", 4),
        ("x", "x", ["x >< 0"], "assumption", 4),
        ("x", "x", ["x is big"], "assumption", 3),
    ],
)
def test_bad_input_exits_2_pointing_at_the_position(
    lhs: str, rhs: str, assume: list[str], where: str, column: int
) -> None:
    result = run_verify(lhs, rhs, assume)
    assert result.exit_code == 2 and result.verdict is None
    assert where in result.error and f"(column {column})" in result.error
    assert result.to_json()["verdict"] == "error"


def payloads(marker: Path) -> list[str]:
    return [
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w').write('x')",
        f"exec(\"open('{marker}', 'w')\")",
        f"().__class__.__base__.__subclasses__()[0]('{marker}')",
        f"(lambda: open('{marker}', 'w'))()",
        f"[open('{marker}', 'w') for _ in [1]]",
        "x.__class__",
        "__builtins__",
        "9**9**9**9",
    ]


def test_payloads_exit_2_without_side_effects(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for payload in payloads(marker):
        for as_latex in (False, True):
            result = run_verify(payload, "1", latex=as_latex)
            assert result.exit_code == 2, payload
    assert not marker.exists()


# ---------------------------------------------------------------- the command line


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "symloss", *arguments], capture_output=True, text=True, cwd=REPOSITORY, timeout=120
    )


def test_cli_verify_refutes_a_false_claim_with_json() -> None:
    done = cli("verify", "diff(sigmoid(z), z)", "sigmoid(z)**2", "--json", "--timeout", "10")
    assert done.returncode == 1, done.stderr
    answer = json.loads(done.stdout)
    assert answer["verdict"] == "refuted" and "z" in answer["counterexample"]


def test_cli_verify_proves_with_latex_and_assumptions() -> None:
    done = cli("verify", r"\log(xy)", r"\log x + \log y", "--latex", "--assume", "x > 0", "--assume", "y > 0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "proved" in done.stdout


@pytest.mark.parametrize("false", [("abs(x)", "x"), ("log(exp(x))", "x + 1"), ("sigmoid(-z)", "sigmoid(z)")])
def test_cli_verify_never_proves_false_claims(false: tuple[str, str]) -> None:
    done = cli("verify", *false, "--timeout", "10")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refuted" in done.stdout and "counterexample" in done.stdout


def test_cli_payloads_exit_2_without_side_effects(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for payload in payloads(marker)[:4]:
        done = cli("verify", payload, "1")
        assert done.returncode == 2, payload
        assert "column" in done.stdout + done.stderr
    assert not marker.exists()


def test_cli_audit_of_the_source_texts() -> None:
    done = cli("audit", str(SOURCE_AUDIT), "--json")
    assert done.returncode == 1, done.stderr
    wrong = {row["id"] for row in json.loads(done.stdout) if row["verdict"] == "wrong"}
    assert wrong == WRONG_IN_THE_TEXTS


# ---------------------------------------------------------------- audit files

TOY_CATALOG = '''
import sympy as sp
from symloss.functions import sigmoid
from symloss.loss import Definition, Loss
from symloss.notation import BINARY, NONNEGATIVE, UNIT_OPEN, var

p = var("p", UNIT_OPEN)
y = var("y", BINARY)
gamma = var("gamma", NONNEGATIVE)
toy_bce = Loss(name="toy_bce", title="BCE", family="binary", output=p, target=y, origin=Definition(),
               formula=-y.symbol * sp.log(p.symbol) - (1 - y.symbol) * sp.log(1 - p.symbol))
toy_focal = Loss(name="toy_focal", title="focal", family="binary", output=p, target=y, params=(gamma,),
                 origin=Definition(), formula=-(1 - p.symbol) ** gamma.symbol * sp.log(p.symbol))
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
]


@pytest.mark.parametrize(("body", "ident", "field_name"), MALFORMED)
def test_malformed_claims_exit_2_naming_id_and_field(
    tmp_path: Path, toy: Catalog, body: str, ident: str, field_name: str
) -> None:
    result = audit_text(tmp_path, "[[claim]]\n" + body + "\n", toy)
    assert result.exit_code == 2, result.to_text()
    assert ident in result.error and f"field {field_name!r}" in result.error, result.error


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[claim]\nid = 1", "not valid TOML"),
        ("title = 'x'", "no [[claim]] tables"),
        ("extra = 1\n[[claim]]\nid = 'a'", "unknown top-level key"),
        ("[[claim]]\nid = 'a'\nsource = 's'\nkind = 'identity'\nlhs = 'x'\nrhs = 'x'\n" * 2, "used twice"),
    ],
)
def test_malformed_files_exit_2(tmp_path: Path, toy: Catalog, toml: str, message: str) -> None:
    result = audit_text(tmp_path, toml, toy)
    assert result.exit_code == 2 and message in result.error


def test_a_missing_file_exits_2(tmp_path: Path, toy: Catalog) -> None:
    result = run_audit(tmp_path / "absent.toml", toy)
    assert result.exit_code == 2 and "cannot read" in result.error


# ---------------------------------------------------------------- the source texts

WRONG_IN_THE_TEXTS = {
    "clf-code-hinge",  # printed 0.2500; the listing's data give 0.7000
    "clf-code-bce",  # printed 0.4390; the listing's data give 0.4389
    "clf-code-cce",  # printed 0.2978; -log(0.742) = 0.2984
    "clf-churn-sample-3",  # printed 0.375; -log(0.688) = 0.374
    "lesson-example-1-mse-gradient",  # printed -0.1849; the value is -0.18496 = -0.1850 at 4 places
    "lesson-problem-1-mse-gradient",  # printed 0.0860; the value is 0.086068 = 0.0861 at 4 places
}


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
