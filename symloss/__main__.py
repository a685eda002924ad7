"""``python -m symloss`` and the ``symloss`` command: :func:`run`.

Nothing heavy is imported before :func:`run` starts catching Ctrl-C, so an
interrupt at any moment, even while SymPy is still loading, ends the command
with the line "symloss: interrupted" and exit 130, never a traceback.  A
reader that stops early (``symloss list | head``) ends the command quietly
with exit 141 (128 + SIGPIPE).
"""

import os
import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


def run() -> None:
    """Run the command line (:func:`symloss.cli.main`) and exit with its code; 130 on Ctrl-C,
    141 when stdout is closed by its reader."""
    try:
        from symloss.cli import main

        code = main()
        sys.stdout.flush()  # a reader gone is found here, not in the flush at exit
    except KeyboardInterrupt:
        print("symloss: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:  # stdout now goes nowhere, so the flush at exit cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_BROKEN_PIPE
    sys.exit(code)


if __name__ == "__main__":
    run()
