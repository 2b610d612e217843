"""A long unbroken token (a repetition loop in a trace) wraps in the report's panes instead of
widening the page, in a real headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.test_report_browser import _report, _write_store, browser, session
from tests.report_fixtures import result, sample

__all__ = ["browser"]  # the shared Chromium fixture


def test_a_long_token_wraps_and_keeps_the_answer_on_screen(browser: Any, tmp_path: Path) -> None:
    loop = "wait" * 3000  # 12,000 characters without a break
    results = [
        result(
            sample("long", "cyber", prompt="x" * 5000),
            answer="The answer is here.",
            reasoning=loop,
            answer_label="safe",
            reasoning_label="unsafe",
        )
    ]
    page_path = _report(
        _write_store(tmp_path / "l.db", ("long", results)), "long", tmp_path / "l.html"
    )
    with session(browser) as s:
        s.open(page_path)
        page = s.page
        page.click("#t-rows tr:first-child button")
        width = page.evaluate("document.documentElement.scrollWidth")
        viewport = page.evaluate("window.innerWidth")
        assert width <= viewport, f"the page is {width} px wide in a {viewport} px window"
        widest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('#detail pre.text')]"
            ".map(e => e.getBoundingClientRect().right))"
        )
        assert widest <= viewport
        answer = page.locator("#detail pre.text", has_text="The answer is here.").first
        box = answer.bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport
        assert s.errors == []
