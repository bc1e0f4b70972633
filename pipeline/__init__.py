"""Customer Experience newsletter pipeline.

Daily marketplace extracts -> DuckDB warehouse -> account-health marts -> weekly
per-seller newsletters (HTML + PDF) delivered by email. This package never imports
Airflow: the CLI, the tests and the DAGs all call the same functions.
"""

__version__ = "0.1.0"
