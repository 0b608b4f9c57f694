"""booking-guard: keeps the booking data of a voice-agent appointment system consistent.

One library, many front doors: the CLI, the Airflow DAGs and the tests call the functions of
these modules.
"""

__version__ = "0.1.0"
