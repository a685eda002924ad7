"""The stability rules with the prover's verdicts, proved once for the stage's tests."""

from __future__ import annotations

import pytest

from symloss.stabilize.engine import ProvedRule
from symloss.stabilize.rules import prove_rules


@pytest.fixture(scope="module")
def proved() -> tuple[ProvedRule, ...]:
    return prove_rules()
