"""A process that runs one command and ends (the installed ``edubalance``, ``python -m
edubalance`` or ``python -m edubalance.cli``), without the work such a process never needs.

- Start: the cyclic collector is off (the installed command turns it off before it imports
  anything, ``edubalance.__main__``). Importing the program's modules (NumPy, Polars, Arrow
  and ours: some 50,000 objects, none of them garbage) takes about a hundred collections and
  setting up one full one, and each collection after a stage scans its records and report
  again, though they hold no cycles (together 0.1–0.2 s of a 25,000-school run). The modules
  are frozen out of its sight (``gc.freeze``) and the collector stays off until the process
  ends; ``serve``, which runs for days, turns it on.
- End: at a normal exit the interpreter frees every object of the finished run (a large
  report's millions) one by one, a tenth of a second or more that nobody waits for. Once the
  command has returned (its files written, closed and renamed into place, its temporary folders
  removed), the exit handlers have run and standard output and error are flushed, the process
  ends with ``os._exit`` and the command's exit code. Should another thread still run or a
  flush fail, it exits as usual.

Tests and programs call :func:`edubalance.cli.main` itself, which does neither.
"""
from __future__ import annotations

import gc
import os
import sys
from typing import Any, Callable, NoReturn


def run(command: Callable[[], Any]) -> NoReturn:
    """Run ``command`` (click's main, which ends in ``SystemExit``) and leave the process with its code."""
    gc.disable()
    gc.freeze()
    try:
        command()
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    end(code)


#: The exit code of a command interrupted by Ctrl-C (128 + SIGINT), as a shell gives it, and what it says.
INTERRUPTED = 130
INTERRUPTED_MESSAGE = "已中止 Aborted!"


def interrupted() -> NoReturn:
    """Ctrl-C: say so and leave with :data:`INTERRUPTED`."""
    print(INTERRUPTED_MESSAGE, file=sys.stderr)
    end(INTERRUPTED)


def end(code: Any) -> NoReturn:
    """Leave the process with ``code`` as ``sys.exit`` would, at once when that is safe."""
    if code is not None and not isinstance(code, int):      # sys.exit("message"): shown, exit 1
        print(code, file=sys.stderr)
        code = 1
    import atexit
    import threading
    if threading.active_count() > 1:
        sys.exit(code)
    try:
        atexit._run_exitfuncs()        # e.g. logging's flush; a handler's error is printed, as at exit
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:                  # None: started with the stream closed (``>&-``)
                stream.flush()
    except Exception:                               # a closed pipe or stream: the usual exit says so
        sys.exit(code)
    os._exit(code or 0)
