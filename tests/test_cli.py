"""The command line as a user types it (``symloss/cli.py``), run as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from symloss import load_catalog

REPOSITORY = Path(__file__).resolve().parents[1]


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "symloss", *arguments], capture_output=True, text=True, cwd=REPOSITORY, timeout=300
    )


def test_prove_table_shows_each_claims_statement_not_its_repr() -> None:
    done = cli("prove", "bce_with_logits", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Claim(" not in done.stdout
    rows = done.stdout.splitlines()[2:]
    statements = [claim.statement for claim in load_catalog().get("bce_with_logits").claims]
    assert len(rows) == len(statements)
    for row, statement in zip(rows, statements, strict=True):
        assert statement in row
