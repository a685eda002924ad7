"""Work under a time budget: a forked child process, killed when the budget runs out.

One ``simplify`` can run for minutes, and one mpmath evaluation of a nested sum can take
unbounded time or memory; so the prover's symbolic attempt and its numeric check each run
in a child here, and a verdict comes within the budget.  :class:`Outcome` is what a
symbolic attempt reports back; a SymPy exception during it means "not proved".
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class Outcome:
    """What the child process reports back."""

    proved: bool
    method: str
    scope: str = ""
    value: sp.Expr | None = None


def guarded(task: Callable[[], Outcome]) -> Outcome:
    """The task's outcome; a SymPy exception (StopIteration, RecursionError, ...) is "not proved"."""
    try:
        return task()
    except Exception as error:  # any SymPy failure means "not proved"
        return Outcome(False, f"{type(error).__name__} in SymPy")


def _child(task: Callable[[], object], sender: object) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it kills this child
    try:
        result = task()
    except Exception:  # reported to the parent as no answer
        result = None
    sender.send(result)


def run_with_budget(task: Callable[[], object], seconds: float) -> object | None:
    """Run ``task`` in a forked child and return its (picklable) result; None if it
    raised, died, or has not answered within ``seconds`` (the child is then killed)."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(task, sender), daemon=True)
    process.start()
    sender.close()
    try:
        if receiver.poll(max(seconds, 0.0)):
            return receiver.recv()
        return None
    except EOFError:
        return None
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
