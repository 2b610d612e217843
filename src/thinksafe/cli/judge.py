"""``thinksafe judge FILE``: judge transcripts a model already produced.

The rows go through the real engine with the ``replay`` target (shown as
``replay/<file name>``), so the store, the cache, the summary (``--json``) and the tables are
those of ``thinksafe run``; a second run of the same command makes no judge call. When the store
holds a judge's measured accuracy (``thinksafe judge-eval --save-accuracy``), or the judge ships
one, the judge-corrected (Rogan-Gladen) unsafe rate is shown beside the raw one.

A file may hold several models' responses: ``--model-column COL`` makes each model's rows a run
of its own, named after the model (``--model NAME`` names the model of a whole file). Such runs
identify a row without an id by its prompt and share the suite name ``transcripts``, so runs of
different models, from one file or several, pair in ``thinksafe report A B``. Several responses
of one model to one prompt (rows sharing an id, or a prompt) are kept as samples of it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from thinksafe.cli.app import app, check_output, open_store, stderr, stdout, write_json
from thinksafe.cli.failures import report_judge_failures
from thinksafe.cli.options import (
    CategoryColumnOption,
    ConfigOption,
    DefaultExpectedOption,
    ExpectedColumnOption,
    HarmAreaColumnOption,
    IdColumnOption,
    JudgeApiKeyEnvOption,
    JudgeBaseUrlOption,
    JudgeConcurrencyOption,
    JudgeRetriesOption,
    JudgesOption,
    JudgeTimeoutOption,
    MessagesColumnOption,
    ProgressOption,
    PromptColumnOption,
    ReasoningColumnOption,
    Resolver,
    ResponseColumnOption,
    RunNameOption,
    StoreOption,
    SummaryJsonOption,
    as_list,
    judge_connection,
    judge_retry,
    load_config_file,
    resolve_judge_concurrency,
    resolve_limit,
)
from thinksafe.cli.progress import make_progress
from thinksafe.errors import ConfigError
from thinksafe.report.terminal import render_summary
from thinksafe.run.build import build_replay_plan
from thinksafe.run.engine import RunSpec
from thinksafe.run.evaluate import run_plan
from thinksafe.run.transcripts import (
    SUITE_PREFIX,
    TranscriptOptions,
    group_by_model,
    read_transcripts,
)

JUDGE_RUNS_SCHEMA = "thinksafe.judge-runs/1"

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
    judge_spec: JudgesOption = None,
    id_column: IdColumnOption = None,
    prompt_column: PromptColumnOption = None,
    messages_column: MessagesColumnOption = None,
    response_column: ResponseColumnOption = None,
    reasoning_column: ReasoningColumnOption = None,
    category_column: CategoryColumnOption = None,
    expected_column: ExpectedColumnOption = None,
    harm_area_column: HarmAreaColumnOption = None,
    default_expected: DefaultExpectedOption = None,
    judge_base_url: JudgeBaseUrlOption = None,
    judge_api_key_env: JudgeApiKeyEnvOption = None,
    judge_concurrency: JudgeConcurrencyOption = None,
    timeout: JudgeTimeoutOption = None,
    max_retries: JudgeRetriesOption = None,
    model_column: Annotated[
        str | None,
        typer.Option(help="Column naming the model of each response: one run per model."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="The model every response of the file came from."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Judge only the first N rows.")] = None,
    name: RunNameOption = None,
    store: StoreOption = None,
    json_path: SummaryJsonOption = None,
    config: ConfigOption = None,
    progress: ProgressOption = True,
) -> None:
    """Judge existing transcripts (prompt, response, optional reasoning): same store, cache,
    summary and tables as `thinksafe run`."""
    r = Resolver(load_config_file(config))
    check_output(r.get("json", json_path), "--json")
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
    limit_n = resolve_limit(r, limit)
    concurrency = resolve_judge_concurrency(r, judge_concurrency)
    shown = str(file)
    model_col = r.get("model_column", model_column)
    model_name = r.get("model", model)
    if model_col and model_name:
        raise ConfigError("give --model-column COL (one run per model) or --model NAME, not both")
    if model_name is not None and not str(model_name).strip():
        raise ConfigError("--model needs a name, e.g. --model deepseek-r1")
    by_model = bool(model_col or model_name)
    transcripts = read_transcripts(
        file,
        options,
        display=shown,
        suite=SUITE_PREFIX if by_model else None,
        model_column=model_col or None,
        prompt_ids=by_model,
        samples=True,
    )
    if limit_n is not None:
        transcripts = transcripts[:limit_n]
    if model_col:
        groups = group_by_model(transcripts)
    else:
        groups = [(str(model_name or "").strip() or os.path.basename(shown), transcripts)]
    given_name = r.get("name", name)
    out = stdout()
    summaries, run_ids, results = [], [], []
    with open_store(r.get("store", store)) as db:
        for model_id, items in groups:
            # Runs of a model column are named after their model (after --name NAME-).
            run_name = given_name
            if model_col:
                run_name = f"{given_name}-{model_id}" if given_name else model_id
            elif model_name:
                run_name = given_name or model_id
            spec = RunSpec(
                model=f"replay/{model_id}",
                suite=f"{SUITE_PREFIX}:{shown}",
                judges=as_list(r.get("judge", judge_spec)),
                judge_connection=judge_connection(r, judge_base_url, judge_api_key_env, timeout),
                suite_options={
                    k: v for k, v in vars(options).items() if v != getattr(_DEFAULTS, k)
                },
                name=run_name,
                judge_concurrency=concurrency,
                retry=judge_retry(r, max_retries),
            )
            bar = make_progress(stderr(), enabled=progress and sys.stderr.isatty())
            result, summary = run_plan(build_replay_plan(spec, items, db), db, bar)
            render_summary(summary, out)
            state = "resumed" if result.resumed else "new"
            out.print(
                f"run {result.run_id} ({state}; {len(result.results)} transcripts,"
                f" {result.judge_calls} judge calls)"
            )
            if result.aborted:
                stderr().print(f"stopped early: {result.aborted}")
                raise typer.Exit(1)
            results.append(result)
            summaries.append(summary)
            run_ids.append(result.run_id)
    path = r.get("json", json_path)
    if path is not None:
        document: Mapping[str, Any] = summaries[0]
        if len(summaries) > 1:
            document = {"schema": JUDGE_RUNS_SCHEMA, "runs": summaries}
        write_json(path, document)
    if len(run_ids) > 1:
        out.print(
            f"{len(run_ids)} runs, one per model: {' '.join(run_ids)} (compare them with"
            f" `thinksafe report {' '.join(run_ids)}`)"
        )
    if report_judge_failures(results, stderr()):
        raise typer.Exit(1)
