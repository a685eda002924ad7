"""The command line as a user types it (``symloss/cli.py``), run as a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


# ---------------------------------------------------------------- the accuracy gate of codegen and build

OVER_BUDGET_CATALOG = REPOSITORY / "tests" / "fixtures" / "over_budget_catalog"


def _codegen(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return cli("codegen", "--catalog", str(OVER_BUDGET_CATALOG), "--out", str(tmp_path / "kernels"), "--quiet",
               *options)


def _over_budget_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("symloss: OVER BUDGET ")]


def test_a_kernel_over_budget_fails_codegen_by_default_and_is_listed_once(tmp_path: Path) -> None:
    done = _codegen(tmp_path)
    assert done.returncode == 1, done.stderr
    listed = _over_budget_lines(done.stderr)
    assert listed and len(listed) == len(set(listed))
    assert all(re.search(r"; worst at z=.*: truth \S+, kernel \S+$", line) for line in listed)
    assert (tmp_path / "kernels" / "rayleigh_nll.py").exists()  # written all the same
    allowed = _codegen(tmp_path, "--allow-over-budget")
    assert allowed.returncode == 0 and _over_budget_lines(allowed.stderr) == listed


def test_the_known_list_must_be_exactly_what_is_over_budget(tmp_path: Path) -> None:
    listed = _over_budget_lines(_codegen(tmp_path).stderr)
    lines = [line.removeprefix("symloss: OVER BUDGET ").replace(": ", "  ", 1) for line in listed]
    known = tmp_path / "known.txt"
    known.write_text("# today's over-budget functions\n" + "\n".join(lines) + "\n")
    assert _codegen(tmp_path, "--known-over-budget", str(known)).returncode == 0
    known.write_text("\n".join(lines[1:]) + "\n")  # one missing
    done = _codegen(tmp_path, "--known-over-budget", str(known))
    assert done.returncode == 1 and "not in the known list" in done.stderr
    known.write_text("\n".join([*lines, "rayleigh_nll.nothing  max 1 ulp"]) + "\n")  # one within budget
    done = _codegen(tmp_path, "--known-over-budget", str(known))
    assert done.returncode == 1 and "within budget now" in done.stderr
    known.write_text("\n".join([lines[0].replace("ulp", "ulps", 1), *lines[1:]]) + "\n")  # a figure not measured
    done = _codegen(tmp_path, "--known-over-budget", str(known))
    assert done.returncode == 1 and "the known list says" in done.stderr


def test_the_known_list_is_written_from_the_measurement(tmp_path: Path) -> None:
    """--write-known-over-budget writes what the gate measured (figures and worst points) under a comment
    and exits 0; the gate then accepts exactly that list, and it needs the certification."""
    listed = _over_budget_lines(_codegen(tmp_path).stderr)
    known = tmp_path / "known.txt"
    done = _codegen(tmp_path, "--write-known-over-budget", str(known))
    assert done.returncode == 0, done.stderr
    text = known.read_text()
    assert text.startswith("# The kernel functions over their accuracy budget")
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        line.removeprefix("symloss: OVER BUDGET ").replace(": ", "  ", 1) for line in listed]
    assert _codegen(tmp_path, "--known-over-budget", str(known)).returncode == 0
    refused = _codegen(tmp_path, "--no-certify", "--write-known-over-budget", str(tmp_path / "other.txt"))
    assert refused.returncode == 2 and not (tmp_path / "other.txt").exists()


def _session(session: int) -> list[tuple[int, str]]:
    """(pid, state) of every process of a session, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session:
            found.append((int(entry.name), fields[0]))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
@pytest.mark.parametrize("to_group", [False, True], ids=["kill -INT", "Ctrl-C at the terminal"])
def test_ctrl_c_ends_a_command_with_one_line_exit_130_and_no_process_left(to_group: bool) -> None:
    process = subprocess.Popen([sys.executable, "-m", "symloss", "prove", "--quiet"], cwd=REPOSITORY,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_session(process.pid)) < 3 and time.monotonic() < deadline:  # the workers are proving
        time.sleep(0.1)
    time.sleep(2)
    (os.killpg if to_group else os.kill)(process.pid, signal.SIGINT)  # the terminal signals the whole group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr == "symloss: interrupted\n"
    time.sleep(0.5)
    assert [pid for pid, state in _session(process.pid) if state != "Z"] == []  # dead workers may await reaping


def test_a_catalogs_own_known_list_is_used_when_no_other_is_given(tmp_path: Path) -> None:
    listed = _over_budget_lines(_codegen(tmp_path).stderr)
    lines = [line.removeprefix("symloss: OVER BUDGET ").replace(": ", "  ", 1) for line in listed]
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "rayleigh.py").write_text((OVER_BUDGET_CATALOG / "rayleigh.py").read_text())
    (catalog / "over_budget.txt").write_text("\n".join([*lines, "another_loss.grad  max 9 ulp"]) + "\n")
    done = cli("codegen", "--catalog", str(catalog), "--out", str(tmp_path / "own"), "--quiet")
    assert done.returncode == 0, done.stderr  # another_loss was not built: its entry is not compared
    (catalog / "over_budget.txt").write_text("\n".join(lines[1:]) + "\n")
    done = cli("codegen", "--catalog", str(catalog), "--out", str(tmp_path / "own"), "--quiet")
    assert done.returncode == 1 and "not in the known list" in done.stderr and "over_budget.txt" in done.stderr
