"""The report page and the Data Docs in headless Chromium with the network off.

Chromium runs in a network namespace of its own (``unshare -n``: no interface but a down
loopback), so a page that needs a CDN renders unstyled. Screenshots are decoded with zlib (no
imaging library needed) and checked for the colours the charts and Bootstrap paint.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from booking_guard import expectations, monitor, report
from booking_guard.settings import Settings
from tests.helpers import plant

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DAY = date(2026, 11, 1)  # the last day of the seeded data (tests.helpers.SPEC)


def screenshot(page: Path, out: Path, *, height: int = 2000) -> Counter:
    """Render ``page`` offline and count the screenshot's pixels by colour."""
    subprocess.run(
        [
            "unshare",
            "-n",
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size=1400,{height}",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Counter(png_pixels(out.read_bytes()))


def png_pixels(data: bytes) -> list[tuple[int, int, int]]:
    """The RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = 4 if colour == 6 else 3
    stride = width * channels
    raw = zlib.decompress(idat)
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        previous = line
    return [(row[i], row[i + 1], row[i + 2]) for row in rows for i in range(0, stride, channels)]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = int(hex_colour.lstrip("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


@pytest.mark.slow
def test_report_page_is_self_contained_and_shows_its_charts(seeded, tmp_path: Path) -> None:
    url, _ = seeded
    monitor.run_check(Settings.from_env(url), full=True, notify=False, build_docs=False)
    # Alerts of the seeded defects belong to the days of their calls.
    plant(
        url,
        "UPDATE data_consistency_alerts al SET detected_at = c.created_at + interval '5 minutes',"
        " last_seen_at = c.created_at + interval '5 minutes'"
        " FROM calls c WHERE al.entity_type = 'call' AND c.id = al.entity_id",
    )
    for back in range(6, -1, -1):
        report.compute(url, DAY - timedelta(days=back), "UTC")
    stored = report.load(url, DAY)
    assert stored is not None and len(stored.trends["calls"]) == 7
    page = report.write_files(stored, tmp_path)["html"]
    html = page.read_text()

    # Nothing to fetch: no script, no style sheet link, no import, no URL of any kind.
    assert not re.search(r"<script|<link|@import|url\(|https?:|//[a-z]", html, re.IGNORECASE)
    assert html.count("<svg") == len(report.HEADLINE) + 3

    pixels = screenshot(page, tmp_path / "report.png", height=2400)
    assert pixels[rgb(report.TREND)] > 500  # trend lines and their points
    assert pixels[rgb("#bfdbfe")] > 5_000  # the areas under them
    critical = report.SEVERITY_COLOURS["critical"]
    assert pixels[rgb(critical)] > 2_000  # critical rules' bars
    assert pixels[rgb(report.SEVERITY_COLOURS["warning"])] > 2_000


@pytest.mark.slow
def test_data_docs_render_styled_without_network(seeded, tmp_path: Path) -> None:
    url, _ = seeded
    check = monitor.run_check(Settings.from_env(url), full=True, notify=False)
    site = expectations.runtime_dir() / "data_docs"
    assert check.validation.data_docs_index == site / "index.html"
    (page,) = site.glob("validations/*/*/*/*.html")
    text = page.read_text()
    assert "vendor/css/bootstrap.min.css" in text and "cdn" not in text.lower()
    assert not re.search(r'(src|href)="https?://(?!greatexpectations\.io)', text)
    assert (site / "vendor" / "js" / "jquery.min.js").is_file()
    assert (site / "vendor" / "licenses" / "jquery-3.7.1.LICENSE").is_file()

    styled = screenshot(page, tmp_path / "styled.png", height=900)
    # Bootstrap's primary buttons (the validation filter) and card headers: only with its CSS.
    assert styled[(0, 123, 255)] > 1_000

    # Without its assets (what a CDN link is on a closed network) the same page is unstyled.
    shutil.rmtree(site / "vendor")
    unstyled = screenshot(page, tmp_path / "unstyled.png", height=900)
    assert unstyled[(0, 123, 255)] < 50
    # A second build leaves the rewritten pages alone and restores the assets.
    assert expectations.offline_data_docs(site) == 0
    assert (site / "vendor" / "css" / "bootstrap.min.css").is_file()
