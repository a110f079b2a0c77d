"""What the report notebook calls: set-up, one function per section, and finish.

Each section function takes the :class:`ReportContext` from :func:`setup` and
returns markdown that Jupyter displays (and papermill, nbconvert and Quarto
render). The notebook itself holds no logic.
"""

from clvreport.report.changes import since_previous
from clvreport.report.context import ReportContext, finish, report_meta, setup
from clvreport.report.donors import donor_outlook
from clvreport.report.first_page import executive_summary
from clvreport.report.sections import (
    concentration,
    data_quality,
    loyalty_and_retention,
    methodology,
    most_valuable_customers,
    recommendations,
    segments,
)
from clvreport.report.subscribers import subscriber_outlook

__all__ = [
    "ReportContext",
    "concentration",
    "data_quality",
    "donor_outlook",
    "executive_summary",
    "finish",
    "loyalty_and_retention",
    "methodology",
    "most_valuable_customers",
    "recommendations",
    "report_meta",
    "segments",
    "setup",
    "since_previous",
    "subscriber_outlook",
]
