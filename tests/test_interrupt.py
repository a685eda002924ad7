"""The command line's entry point (symloss/__main__.py): Ctrl-C at any moment, even while SymPy is still
being imported, ends it with one line and exit 130; a reader that closes the pipe ends it quietly."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]

# Runs ``symloss list`` as ``python -m symloss`` does, but sends itself SIGINT when the import of the
# module named in argv[1] begins: the interrupt lands inside the imports, before symloss.cli.main runs.
_INTERRUPT_DURING_IMPORT = """
import os, runpy, signal, sys
target = sys.argv.pop(1)
class Interrupt:
    def find_spec(self, name, path=None, target_module=None):
        if name == target:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Interrupt())
sys.argv[0] = "symloss"
runpy.run_module("symloss", run_name="__main__", alter_sys=True)
"""


def _run(*args: str, **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPOSITORY, capture_output=True, text=True, timeout=120,
                          **options)


def test_importing_symloss_loads_no_sympy_so_the_entry_point_catches_ctrl_c_from_the_start() -> None:
    done = _run("-c", "import sys, symloss; print('sympy' in sys.modules); print(symloss.Loss.__name__)")
    assert done.returncode == 0 and done.stdout.split() == ["False", "Loss"]


def test_an_unknown_name_of_the_package_is_an_attribute_error() -> None:
    done = _run("-c", "import symloss; symloss.nothing")
    assert done.returncode == 1 and "AttributeError: module 'symloss' has no attribute 'nothing'" in done.stderr


def test_ctrl_c_while_sympy_is_being_imported_is_one_line_and_exit_130() -> None:
    done = _run("-c", _INTERRUPT_DURING_IMPORT, "sympy", "list")
    assert (done.returncode, done.stderr, done.stdout) == (130, "symloss: interrupted\n", "")


def test_the_interrupt_hook_itself_works_on_a_module_that_is_imported() -> None:
    """The same hook aimed at a module the command never imports lets it finish: the test above is not
    passing because the hook broke the run."""
    done = _run("-c", _INTERRUPT_DURING_IMPORT, "no_such_module_anywhere", "list")
    assert done.returncode == 0 and "bce" in done.stdout and done.stderr == ""


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly() -> None:
    process = subprocess.Popen([sys.executable, "-m", "symloss", "list"], cwd=REPOSITORY,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.close()  # as `symloss list | head -0` does
    _, stderr = process.communicate(timeout=120)
    assert (process.returncode, stderr) == (141, "")


def test_the_console_script_is_the_interrupt_safe_entry_point() -> None:
    scripts = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["symloss"] == "symloss.__main__:run"
    done = _run("-c", "import sys; from symloss.__main__ import run; sys.argv = ['symloss', 'list']; run()")
    assert done.returncode == 0 and "bce" in done.stdout
