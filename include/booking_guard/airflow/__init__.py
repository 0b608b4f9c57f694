"""Everything Airflow-specific: task bodies, XCom conversion, connections, the failure notifier.

DAG files import from here and from ``airflow.sdk`` only; the rest of the library runs without
Airflow. Modules import Airflow lazily where a DAG file's parse would otherwise pay for it.
"""
