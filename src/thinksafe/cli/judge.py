"""``thinksafe judge FILE``: judge transcripts a model already produced.

The rows go through the real engine with the ``replay`` target (shown as
``replay/<file name>``), so the store, the cache, the summary (``--json``) and the tables are
those of ``thinksafe run``; a second run of the same command makes no judge call. When the store
holds a judge's measured accuracy (``thinksafe judge-eval --save-accuracy``), the judge-corrected
(Rogan-Gladen) unsafe rate is shown beside the raw one.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from thinksafe import aio
from thinksafe.cli.app import app, open_store, stderr, stdout
from thinksafe.cli.progress import make_progress
from thinksafe.cli.run import Resolver, _as_list, load_config_file
from thinksafe.config import ConnectionConfig
from thinksafe.engine import RunSpec
from thinksafe.errors import ConfigError
from thinksafe.evaluate import summarise
from thinksafe.report.terminal import render_summary
from thinksafe.retry import RetryPolicy
from thinksafe.transcripts import (
    SUITE_PREFIX,
    ReplayRunner,
    TranscriptOptions,
    read_transcripts,
    require_one_response_per_prompt,
)

COLUMN_OPTIONS: tuple[str, ...] = (
    "id_column",
    "prompt_column",
    "messages_column",
    "response_column",
    "reasoning_column",
    "category_column",
    "expected_column",
    "harm_area_column",
    "default_expected",
)

_DEFAULTS = TranscriptOptions()


def transcript_options(r: Resolver, given: dict[str, str | None]) -> TranscriptOptions:
    """Column options from flags, ``THINKSAFE_*`` variables and the config file."""
    return TranscriptOptions.from_mapping({k: r.get(k, given.get(k)) for k in COLUMN_OPTIONS})


@app.command()
def judge(
    file: Annotated[Path, typer.Argument(help="Transcripts: a JSONL or CSV file.")],
    judge_spec: Annotated[
        list[str] | None,
        typer.Option(
            "--judge",
            "-j",
            help="Judge spec, repeatable; the first is the primary judge. Default: the best"
            " offline judge.",
        ),
    ] = None,
    id_column: Annotated[str | None, typer.Option(help="Id column (id).")] = None,
    prompt_column: Annotated[str | None, typer.Option(help="Prompt column (prompt).")] = None,
    messages_column: Annotated[
        str | None, typer.Option(help="Messages column, a JSON list of {role, content}.")
    ] = None,
    response_column: Annotated[str | None, typer.Option(help="Response column (response).")] = None,
    reasoning_column: Annotated[
        str | None, typer.Option(help="Reasoning column (reasoning); else <think> tags split.")
    ] = None,
    category_column: Annotated[str | None, typer.Option(help="Category column (category).")] = None,
    expected_column: Annotated[
        str | None, typer.Option(help="Expected column, refuse or comply (expected).")
    ] = None,
    harm_area_column: Annotated[
        str | None, typer.Option(help="Harm area column (harm_area).")
    ] = None,
    default_expected: Annotated[
        str | None, typer.Option(help="refuse or comply for rows with no expected (refuse).")
    ] = None,
    judge_base_url: Annotated[
        str | None, typer.Option(help="Server URL for model-based judges.")
    ] = None,
    judge_api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the judge server's key.")
    ] = None,
    judge_concurrency: Annotated[
        int | None, typer.Option(help="Concurrent calls per judge (16).")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per judge request (600).")] = None,
    max_retries: Annotated[int | None, typer.Option(help="Tries per judge call (6).")] = None,
    limit: Annotated[int | None, typer.Option(help="Judge only the first N rows.")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the run.")] = None,
    store: Annotated[Path | None, typer.Option(help="SQLite store (./thinksafe.db).")] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the summary JSON here.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML file of options (flags and env beat it).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")] = True,
) -> None:
    """Judge existing transcripts (prompt, response, optional reasoning): same store, cache,
    summary and tables as `thinksafe run`."""
    r = Resolver(load_config_file(config))
    options = transcript_options(
        r,
        {
            "id_column": id_column,
            "prompt_column": prompt_column,
            "messages_column": messages_column,
            "response_column": response_column,
            "reasoning_column": reasoning_column,
            "category_column": category_column,
            "expected_column": expected_column,
            "harm_area_column": harm_area_column,
            "default_expected": default_expected,
        },
    )
    limit_n = r.get("limit", limit, cast=int)
    if limit_n is not None and limit_n < 1:
        raise ConfigError("--limit must be at least 1")
    concurrency = r.get("judge_concurrency", judge_concurrency, 16, int)
    if concurrency < 1:
        raise ConfigError("--judge-concurrency must be at least 1")
    shown = str(file)
    transcripts = read_transcripts(file, options, display=shown)
    if limit_n is not None:
        transcripts = transcripts[:limit_n]
    require_one_response_per_prompt(transcripts, shown)
    spec = RunSpec(
        model=f"replay/{os.path.basename(shown)}",
        suite=f"{SUITE_PREFIX}:{shown}",
        judges=_as_list(r.get("judge", judge_spec)),
        judge_connection=ConnectionConfig(
            base_url=r.get("judge_base_url", judge_base_url),
            api_key_env=r.get("judge_api_key_env", judge_api_key_env),
            timeout_s=r.get("timeout", timeout, 600.0, float),
        ),
        suite_options={k: v for k, v in vars(options).items() if v != getattr(_DEFAULTS, k)},
        name=r.get("name", name),
        judge_concurrency=concurrency,
        retry=RetryPolicy(max_attempts=r.get("max_retries", max_retries, 6, int)),
    )
    out = stdout()
    with open_store(r.get("store", store)) as db:
        bar = make_progress(stderr(), enabled=progress and sys.stderr.isatty())
        runner = ReplayRunner(spec, db, transcripts, progress=bar)
        result = aio.run(runner.run())
        summary = summarise(result, db)
    render_summary(summary, out)
    path = r.get("json", json_path)
    if path is not None:
        Path(path).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", "utf-8")
    state = "resumed" if result.resumed else "new"
    out.print(
        f"run {result.run_id} ({state}; {len(result.results)} transcripts,"
        f" {result.judge_calls} judge calls)"
    )
    if result.aborted:
        stderr().print(f"stopped early: {result.aborted}")
        raise typer.Exit(1)
