"""Generated files are written whole or not at all (``symloss/emit/files.py``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symloss.emit import files
from symloss.emit.files import write_atomic

REPOSITORY = Path(__file__).resolve().parents[2]


def test_write_atomic_writes_and_replaces_keeping_the_permissions(tmp_path: Path) -> None:
    path = tmp_path / "kernel.py"
    write_atomic(path, "x = 1\n")
    assert path.read_text(encoding="utf-8") == "x = 1\n"
    path.chmod(0o640)
    write_atomic(path, "x = 2  # σ\n")
    assert path.read_text(encoding="utf-8") == "x = 2  # σ\n" and path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["kernel.py"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_write_that_fails_before_the_rename_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "kernel.py"
    path.write_text("old = 1\n", encoding="utf-8")

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, failing, interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new = 2\n")
    assert path.read_text(encoding="utf-8") == "old = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["kernel.py"]


def _codegen(out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "symloss", "codegen", "--no-certify", "--quiet",
               "--catalog", str(REPOSITORY / "tests" / "fixtures" / "user_catalog"), "--out", str(out)]
    return subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_codegen_killed_while_writing_leaves_every_file_old_or_new(tmp_path: Path) -> None:
    out = tmp_path / "kernels"
    out.mkdir()
    names = ("__init__.py", "_numerics.py", "geometric_nll.py")
    old = {name: f"# the previous build of {name}\n".encode() for name in names}
    for name in names:
        (out / name).write_bytes(old[name])
    process = _codegen(out)
    while process.poll() is None and all((out / n).read_bytes() == old[n] for n in names):
        time.sleep(0.0005)  # SIGKILL the moment the first file changes: the build is writing
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = {name: (out / name).read_bytes() for name in names}
    assert sorted(p.name for p in out.glob("*.py")) == sorted(names)
    assert _codegen(out).wait(timeout=600) == 0  # the rerun restores the whole package
    new = {name: (out / name).read_bytes() for name in names}
    for name in names:
        assert new[name] != old[name]
        compile(new[name], name, "exec")
        assert killed[name] in (old[name], new[name]), f"{name} is neither the old nor the new file"
