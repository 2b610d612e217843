"""The HTML report in a real headless Chromium: no console errors, nothing fetched, model output
shown as text (never run), working filters, and a 10,000-attempt report that stays quick.

Needs Debian's ``chromium`` and the ``playwright`` Python package (no downloaded browsers).
Skipped when either is missing, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.report_fixtures import (
    JUDGE,
    PAYLOADS,
    result,
    sample,
    store_with,
    synthetic_results,
)
from thinksafe.records import AttemptResult
from thinksafe.report.html import outcomes_of, report_html
from thinksafe.store.sqlite import Store

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TITLE = "thinksafe report"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium with a fresh profile, shared by this module's tests."""
    executable = _chromium()
    if executable is None:
        _unavailable("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
            offline=True,
        )
        try:
            yield context
        finally:
            context.close()


class Session:
    """One page in a fresh profile, recording console errors and every request made."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))

    def open(self, path: Path) -> float:
        """Load the report; returns the milliseconds until the browser was ready."""
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        ready: float = self.page.evaluate("performance.getEntriesByName('ts-ready')[0].startTime")
        return ready

    def visible_rows(self) -> int:
        count: int = self.page.locator("#t-rows tr").count()
        return count

    def matches(self) -> int:
        return int(self.page.get_attribute("#t-count", "data-matches") or -1)

    def pick(self, selector: str, value: str) -> float:
        """Choose a filter value; returns the milliseconds the page spent filtering and drawing
        (the change handler does both synchronously, so select_option returns when done)."""
        self.page.select_option(selector, value)
        return float(self.page.get_attribute("#t-count", "data-filter-ms") or "nan")

    def search(self, text: str, expected: int) -> float:
        """Type a search; returns the milliseconds until the list showed ``expected`` matches.
        (Polled from Python: the page's CSP forbids the eval that wait_for_function uses.)"""
        start = time.perf_counter()
        self.page.fill("#f-search", text)
        while self.matches() != expected:
            if time.perf_counter() - start > 10:
                raise AssertionError(f"search {text!r}: {self.matches()} matches, not {expected}")
            time.sleep(0.01)
        return (time.perf_counter() - start) * 1000


@contextmanager
def session(browser: Any) -> Iterator[Session]:
    page = browser.new_page()
    try:
        yield Session(page)
    finally:
        page.close()


def _write_store(path: Path, *runs: tuple[str, list[AttemptResult]]) -> Path:
    return store_with(path, *[(rid, res, {"model": "mock/browser"}) for rid, res in runs])


def _report(store: Path, run_id: str, out: Path, **kwargs: Any) -> Path:
    with Store(store) as db:
        row = db.find_run(run_id)
        results = db.load_results(row.id)
    out.write_text(report_html(row, results, **kwargs), encoding="utf-8")
    return out


def hostile() -> list[AttemptResult]:
    out = []
    for i, payload in enumerate(PAYLOADS):
        s = sample(f"x{i}", "cyber" if i else f"cat {payload}", prompt=f"ask {payload}")
        out.append(
            result(
                s,
                answer=f"answer {payload}",
                reasoning=f"trace {payload}",
                answer_label="unsafe",
                reasoning_label="unsafe",
                offset=(7, 6),
            )
        )
    return out


def test_untrusted_output_is_shown_as_text(browser: Any, tmp_path: Path) -> None:
    store = _write_store(tmp_path / "h.db", ("hostile", hostile()))
    page_path = _report(store, "hostile", tmp_path / "hostile.html")
    with session(browser) as s:
        s.open(page_path)
        page = s.page
        title = page.title()
        assert title.startswith(TITLE)
        assert s.visible_rows() == len(PAYLOADS)
        for i, payload in enumerate(PAYLOADS):
            page.click(f"#t-rows tr:nth-child({i + 1}) button")
            detail = page.inner_text("#detail")
            assert f"answer {payload}".replace("\u2028", "").split("line")[0] in detail
            assert page.locator("#detail mark.unsafe-span").count() == 2
        injected = page.evaluate(
            "document.querySelectorAll('main script:not([type]), #detail script, #detail img,"
            " #detail iframe, #detail svg, #detail a, #t-rows img, #t-rows a').length"
        )
        assert injected == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.title() == title
        assert s.errors == []
        assert all(url.startswith("file://") for url in s.requests), s.requests


def test_filters_and_screenshot(browser: Any, tmp_path: Path) -> None:
    results = synthetic_results(300, attacks=("none", "prefix"), seed=5)
    store = _write_store(tmp_path / "f.db", ("filters", results))
    page_path = _report(store, "filters", tmp_path / "filters.html")
    outcomes = [outcomes_of(r, JUDGE) for r in results]
    with session(browser) as s:
        s.open(page_path)
        assert s.matches() == len(results) and s.visible_rows() == 100
        page = s.page
        page.click("#t-more")
        assert s.visible_rows() == 200

        s.pick("#f-channel", "0")
        s.pick("#f-outcome", "unsafe")
        want = sum(1 for o in outcomes if o[0] == "unsafe")
        assert s.matches() == want and s.visible_rows() == min(100, want)

        s.pick("#f-channel", "1")
        want = sum(1 for o in outcomes if o[1] == "unsafe")
        assert s.matches() == want

        s.pick("#f-outcome", "not-scored")
        want = sum(1 for o in outcomes if o[1] in ("unscorable", "error", "truncated"))
        assert s.matches() == want

        s.pick("#f-outcome", "")
        s.pick("#f-channel", "2")
        s.pick(
            "#f-attack",
            page.eval_on_selector(
                "#f-attack", "sel => [...sel.options].find(o => o.textContent === 'prefix').value"
            ),
        )
        s.pick(
            "#f-category",
            page.eval_on_selector(
                "#f-category", "sel => [...sel.options].find(o => o.textContent === 'cyber').value"
            ),
        )
        want = sum(
            1 for r in results if r.attempt.attack == "prefix" and r.sample.category == "cyber"
        )
        assert s.matches() == want

        s.search("s00042", 0)  # s00042 is in another category
        s.pick("#f-category", "")
        s.pick("#f-attack", "")
        s.search("S00041", 2)  # case-insensitive; one attempt per attack

        # Open an attempt with an unsafe answer: the first unsafe span is marked.
        s.search("", len(results))
        s.pick("#f-channel", "0")
        s.pick("#f-outcome", "unsafe")
        page.click("#t-rows tr:first-child button")
        sid = page.inner_text("#t-rows tr:first-child button")
        r = next(r for r, o in zip(results, outcomes) if r.sample.id == sid and o[0] == "unsafe")
        offset = r.verdicts[(JUDGE, "answer")].first_unsafe_offset
        assert offset is not None
        mark = page.inner_text("#detail .side .pane:nth-child(2) mark.unsafe-span")
        assert r.completion.answer[offset:].startswith(mark[:20])
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser_shot = tmp_path / "transcripts.png"
        page.locator("#transcripts").screenshot(path=str(browser_shot))
        print(f"\nscreenshots of the report: {shot} (whole page), {browser_shot} (transcripts)")
        assert shot.stat().st_size > 10_000 and browser_shot.stat().st_size > 10_000
        assert s.errors == []


@pytest.mark.slow
def test_ten_thousand_attempts_stay_quick(browser: Any, tmp_path: Path) -> None:
    results = synthetic_results(
        2_000,
        attacks=("none", "prefix", "roleplay", "encoding", "injection"),
        seed=7,
        answer_chars=300,
        reasoning_chars=600,
    )
    assert len(results) == 10_000
    store = _write_store(tmp_path / "big.db", ("big", results))
    start = time.perf_counter()
    page_path = _report(store, "big", tmp_path / "big.html")
    build_s = time.perf_counter() - start
    size_mb = page_path.stat().st_size / 1e6
    assert size_mb < 20, size_mb
    with session(browser) as s:
        load_start = time.perf_counter()
        ready_ms = s.open(page_path)
        load_ms = (time.perf_counter() - load_start) * 1000
        assert s.matches() == 10_000
        timings = {
            "channel": s.pick("#f-channel", "1"),
            "outcome": s.pick("#f-outcome", "unsafe"),
            "clear": s.pick("#f-outcome", ""),
        }
        timings["search"] = s.search("s01234", 5)
        print(
            f"\n10,000 attempts: built in {build_s:.1f} s, {size_mb:.1f} MB, ready after"
            f" {ready_ms:.0f} ms (load {load_ms:.0f} ms); filters "
            + ", ".join(f"{k} {v:.0f} ms" for k, v in timings.items())
            + " (search: wall time from typing)"
        )
        assert ready_ms < 5_000
        assert max(v for k, v in timings.items() if k != "search") < 500
        assert timings["search"] < 3_000  # wall time, with the 120 ms typing debounce
        assert s.errors == []


def test_models_by_suites_table_in_the_browser(browser: Any, tmp_path: Path) -> None:
    """The comparison page of two models on two suites: the matrix shows every run, with model
    names that carry markup shown as text."""
    from thinksafe.report.compare import compare_html

    models = (PAYLOADS[0], "mock/plain")
    runs = []
    for m, model in enumerate(models):
        for s, suite in enumerate(("alpha", "beta")):
            results = synthetic_results(20, seed=m * 2 + s, unsafe_bias=0.3 * m, suite=suite)
            runs.append((f"run{m}{s}", results, {"model": model, "suite": suite}))
    store = store_with(tmp_path / "m.db", *runs)
    with Store(store) as db:
        loaded = [(db.find_run(r[0]), db.load_results(r[0])) for r in runs]
    out = tmp_path / "matrix.html"
    out.write_text(compare_html(loaded), encoding="utf-8")
    with session(browser) as s:
        s.page.goto(out.as_uri())
        page = s.page
        headers = page.locator("#matrix-table tbody th").all_inner_texts()
        assert headers == list(models)
        assert page.locator("#matrix-table tbody td").count() == 4
        assert page.locator("#matrix-table .matrix-line").count() == 4 * 3
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("main script:not([type])").count() == 0
        assert s.errors == []
        assert all(url.startswith("file://") for url in s.requests), s.requests
