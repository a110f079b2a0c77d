"""clvreport: from a client's transaction export to a branded customer-lifetime-value report.

The pipeline is ingest → summary → metrics / models / segments →
recommendations → plots, rendered from a papermill notebook into PDF and HTML.
"""

from clvreport.config import ClientConfig, list_clients, load_client, load_config
from clvreport.errors import (
    ClientNotFoundError,
    ClvReportError,
    ConfigError,
    DataError,
    ModelError,
    RenderError,
)

__version__ = "0.1.0"
"""The clvreport version: the one place it is written (pyproject.toml reads it).

``clvreport --version`` prints it and every report's ``run.json`` records it.
"""

__all__ = [
    "ClientConfig",
    "ClientNotFoundError",
    "ClvReportError",
    "ConfigError",
    "DataError",
    "ModelError",
    "RenderError",
    "__version__",
    "list_clients",
    "load_client",
    "load_config",
]
