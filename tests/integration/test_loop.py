"""The loop's before/after line on seeded data: detect, correct, queue, detect again."""

from __future__ import annotations

from booking_guard import alerts, corrections, detection, loop, review


def test_the_loop_raises_consistency_and_says_how(seeded) -> None:
    url, truth = seeded
    first = detection.detect(url, full=True)
    alerts.record(url, first)
    detection.finish_run(url, first, succeeded=True)
    for rule in corrections.correctable_rules():  # the seed plants more than the default limit
        corrections.correct(url, first.run_id, rule.id, max_rows=10_000)
    review.enqueue(url)
    last = detection.detect(url, full=True)
    alerts.record(url, last)
    detection.finish_run(url, last, succeeded=True)

    summary = loop.summarize(url)
    assert (summary.before.run_id, summary.after.run_id) == (first.run_id, last.run_id)
    assert summary.before.rate is not None and summary.after.rate is not None
    assert summary.before.rate < summary.after.rate <= 100
    planted = {t.rule for t in truth}
    assert set(summary.corrected) <= {r.id for r in corrections.correctable_rules()} & planted
    assert summary.corrected["missing_direction"] == sum(
        t.rule == "missing_direction" for t in truth
    )
    assert sum(summary.queued_by_priority.values()) > 0
    line = summary.line()
    assert "→" in line and "missing_direction" in line and "p5" in line
