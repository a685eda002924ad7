"""The stability rules with the prover's verdicts, proved once per test process (:func:`proved_rules`)."""

from __future__ import annotations

import pytest

from symloss.stabilize.engine import ProvedRule
from symloss.stabilize.rules import proved_rules


@pytest.fixture(scope="module")
def proved() -> tuple[ProvedRule, ...]:
    return proved_rules()
