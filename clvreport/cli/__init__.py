"""Command-line interface: ``clvreport report|clients|validate|init|summary|fit|compare``.

The CLI only gathers options and calls one library function per command; each
command group lives in its own module and registers itself on :data:`app`.
"""

import signal
import sys
import threading


def _interrupted_while_starting(signum, frame):  # pragma: no cover - timing dependent
    sys.stderr.write("interrupted, nothing published\n")
    raise SystemExit(130)


# Ctrl-C while the command modules (pandas, scipy, DuckDB) are still importing ends
# with the same one line as later on, not with a traceback from deep inside scipy.
_previous = None
if threading.current_thread() is threading.main_thread():
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        _previous = signal.signal(signal.SIGINT, _interrupted_while_starting)
try:
    from clvreport.cli._app import app, main

    # Importing the command modules registers their commands on ``app``.
    from clvreport.cli import report as _report  # noqa: F401  isort: skip
    from clvreport.cli import summary as _summary  # noqa: F401  isort: skip
    from clvreport.cli import fit as _fit  # noqa: F401  isort: skip
    from clvreport.cli import init as _init  # noqa: F401  isort: skip
    from clvreport.cli import compare as _compare  # noqa: F401  isort: skip
finally:
    if _previous is not None:
        signal.signal(signal.SIGINT, _previous)

__all__ = ["app", "main"]
