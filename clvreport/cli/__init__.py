"""Command-line interface: ``clvreport report|clients|validate|summary|fit``.

The CLI only gathers options and calls one library function per command; each
command group lives in its own module and registers itself on :data:`app`.
"""

from clvreport.cli._app import app, main

# Importing the command modules registers their commands on ``app``.
from clvreport.cli import report as _report  # noqa: F401  isort: skip
from clvreport.cli import summary as _summary  # noqa: F401  isort: skip
from clvreport.cli import fit as _fit  # noqa: F401  isort: skip

__all__ = ["app", "main"]
