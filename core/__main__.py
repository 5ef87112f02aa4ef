"""The installed ``edubalance`` command (and ``python -m edubalance``): the cyclic collector is
turned off before anything heavy is imported, then :func:`edubalance.console.run` runs the
command line (see there why)."""
from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    from .console import interrupted, run
    try:
        from .cli import main as command
    except KeyboardInterrupt:                       # Ctrl-C while importing: as the command's own
        interrupted()
    run(command)


if __name__ == "__main__":  # pragma: no cover
    main()
