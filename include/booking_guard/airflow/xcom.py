"""What crosses between DAG tasks: typed objects in the library, plain JSON in XCom."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from booking_guard.detection import DetectionRun


def dump_run(run: DetectionRun) -> dict[str, Any]:
    data = asdict(run)
    data["window_start"] = run.window_start.isoformat() if run.window_start else None
    return data


def load_run(data: dict[str, Any]) -> DetectionRun:
    start = data.get("window_start")
    return DetectionRun(
        run_id=int(data["run_id"]),
        mode=data["mode"],
        window_start=datetime.fromisoformat(start) if start else None,
        counts={str(k): int(v) for k, v in data["counts"].items()},
        seconds={str(k): float(v) for k, v in data.get("seconds", {}).items()},
    )
