"""A non-editable install works: resources come from the package, not from the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow

HEAVY = ("airflow", "great_expectations", "pandas", "numpy")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("booking_guard-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch venv with the wheel installed; its dependencies come from this venv's
    site-packages through a .pth (which does not run this venv's editable finder)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", wheel],
        check=True,
        capture_output=True,
    )
    return python


def test_the_wheel_carries_every_resource(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for rule in (REPO / "sql" / "rules").glob("*.sql"):
        assert f"booking_guard/sql/rules/{rule.name}" in names
    for needed in (
        "booking_guard/sql/rules/rules.yml",
        "booking_guard/sql/app_schema.sql",
        "booking_guard/sql/migrations/0001_prevention_tables.up.sql",
        "booking_guard/gx_project/great_expectations.yml",
        "booking_guard/templates/alert_group.txt",
        "booking_guard/migrations/script.py.mako",
        "booking_guard/migrations/versions/0001_prevention_tables.py",
        "booking_circuit_breaker/__init__.py",
    ):
        assert needed in names, needed


def test_check_runs_from_a_non_editable_install(
    installed: Path, app_db: str, tmp_path: Path
) -> None:
    env = {**os.environ, "BOOKING_GUARD_GX_DIR": str(tmp_path / "gx")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(installed), "-m", "booking_guard", "--database-url", app_db, *args]
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )

    where = subprocess.run(
        [str(installed), "-c", "import booking_guard; print(booking_guard.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(installed.parents[1]) in where and str(REPO) not in where
    assert run("migrate").returncode == 0
    check = run("check", "--full", "--no-notify")
    assert check.returncode == 0, check.stderr
    assert "data docs:" in check.stdout and (tmp_path / "gx" / "data_docs").is_dir()


def test_the_booking_app_imports_without_airflow_gx_or_pandas(installed: Path) -> None:
    code = (
        "import sys, booking_circuit_breaker, booking_guard.detection, booking_guard.notifications,"
        " booking_guard.validation, booking_guard.booking, booking_guard.calcom;"
        f" print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [str(installed), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
