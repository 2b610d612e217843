"""``thinksafe judge-eval FILE``: measure judges against human labels.

FILE is a labelled transcript file of your own (``--label-column``) or a registered labelled set
(``xstest-completions``, ``do-not-answer``, ``jbb-judge-comparison``,
``harmbench-classifier-val``, ``thinksafe-traces``; ``NAME@PATH`` for a local copy). Our judges
(``--judge``) read the responses through the engine, cached in the store; published verdicts
already in the file (``--prediction-column``) are compared on the same rows, on the channel the
set's labels describe unless ``--channel`` says otherwise. See ``docs/judge-eval.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from thinksafe.cli.app import app, check_output, open_store, stderr, stdout, write_json
from thinksafe.cli.failures import report_judge_failures
from thinksafe.cli.judge import COLUMN_OPTIONS, transcript_options
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
    JudgeTimeoutOption,
    MessagesColumnOption,
    ProgressOption,
    PromptColumnOption,
    ReasoningColumnOption,
    Resolver,
    ResponseColumnOption,
    StoreOption,
    as_list,
    judge_connection,
    judge_retry,
    load_config_file,
    resolve_judge_concurrency,
    resolve_limit,
)
from thinksafe.cli.progress import make_progress
from thinksafe.errors import ConfigError
from thinksafe.labelled import load_labelled, split_spec
from thinksafe.labelled.evaluate import (
    EVAL_CHANNELS,
    EvalChannel,
    Labeller,
    accuracy_record,
    column_labeller,
    evaluate,
    judge_labellers,
)
from thinksafe.labelled.render import render_report
from thinksafe.metrics.agreement import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from thinksafe.records import content_hash
from thinksafe.run.build import default_judge
from thinksafe.run.transcripts import TranscriptOptions
from thinksafe.suites.base import option_flag


@app.command("judge-eval")
def judge_eval(
    file: Annotated[
        str,
        typer.Argument(
            help="A labelled transcript file, or a registered set: xstest-completions,"
            " do-not-answer, jbb-judge-comparison, harmbench-classifier-val, thinksafe-traces"
            " (NAME@PATH for a local copy)."
        ),
    ],
    judge_spec: Annotated[
        list[str] | None,
        typer.Option("--judge", "-j", help="Judge spec to measure, repeatable."),
    ] = None,
    prediction_column: Annotated[
        list[str] | None,
        typer.Option(
            help="A column of published verdicts to measure on the same rows, repeatable.",
        ),
    ] = None,
    label_column: Annotated[
        str | None, typer.Option(help="Column holding the human labels (label).")
    ] = None,
    positive_label: Annotated[
        list[str] | None,
        typer.Option(help="Label value meaning unsafe (repeatable); every other value is safe."),
    ] = None,
    by_column: Annotated[
        str | None,
        typer.Option(
            help="Also break metrics and safe-response rates down by this column (e.g. model)."
        ),
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(
            help="Channel our judges are measured on: answer, reasoning, either (default: the"
            " channel the set's labels describe; answer for files of your own)."
        ),
    ] = None,
    save_accuracy: Annotated[
        bool,
        typer.Option(
            help="Store each judge's measured sensitivity and specificity, so later runs show"
            " judge-corrected rates."
        ),
    ] = False,
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
    limit: Annotated[int | None, typer.Option(help="Use only the first N rows.")] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples for the F1, kappa and MCC intervals.")
    ] = BOOTSTRAP_RESAMPLES,
    store: StoreOption = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the report JSON here.")
    ] = None,
    config: ConfigOption = None,
    progress: ProgressOption = True,
) -> None:
    """Measure judges against human labels: accuracy, precision, recall, F1, kappa, MCC, error
    rates and the confusion matrix, overall, per true class and per category."""
    r = Resolver(load_config_file(config))
    check_output(r.get("json", json_path), "--json")
    if channel is not None and channel not in EVAL_CHANNELS:
        raise ConfigError(f"--channel must be one of {', '.join(EVAL_CHANNELS)}, got {channel!r}")
    if bootstrap < 1:
        raise ConfigError("--bootstrap must be at least 1")
    limit_n = resolve_limit(r, limit)
    given = {
        "id_column": id_column,
        "prompt_column": prompt_column,
        "messages_column": messages_column,
        "response_column": response_column,
        "reasoning_column": reasoning_column,
        "category_column": category_column,
        "expected_column": expected_column,
        "harm_area_column": harm_area_column,
        "default_expected": default_expected,
    }
    registered = split_spec(file) is not None
    if registered:
        flags = [option_flag(k) for k in COLUMN_OPTIONS if given.get(k) is not None]
        if flags:
            raise ConfigError(f"{file} has its own columns; {flags[0]} is for files of your own")
        options = TranscriptOptions()
    else:
        options = transcript_options(r, given)
    columns = list(dict.fromkeys(prediction_column or []))
    dataset = load_labelled(
        file,
        options=options,
        label_column=label_column,
        positive=positive_label or (),
        prediction_columns=columns,
    ).limited(limit_n)
    measured: EvalChannel = dataset.channel if channel is None else channel
    judges = list(dict.fromkeys(as_list(r.get("judge", judge_spec))))
    if not judges and not columns:
        judges = [default_judge()]
    if save_accuracy and not judges:
        raise ConfigError("--save-accuracy stores our judges' accuracy: give --judge SPEC")
    concurrency = resolve_judge_concurrency(r, judge_concurrency)

    def measure(ours: list[Labeller]) -> dict[str, Any]:
        """The report on our judges' labellers and the prediction columns."""
        labellers = [*ours, *(column_labeller(dataset, c) for c in columns)]
        return evaluate(
            dataset,
            labellers,
            channel=measured,
            by_column=by_column,
            resamples=bootstrap,
            seed=BOOTSTRAP_SEED,
        )

    out = stdout()
    notes: list[str] = []
    judges_failed = 0
    if judges:
        with open_store(r.get("store", store)) as db:
            runs = judge_labellers(
                dataset,
                judges,
                db,
                channel=measured,
                judge_connection=judge_connection(r, judge_base_url, judge_api_key_env, timeout),
                judge_concurrency=concurrency,
                retry=judge_retry(r, max_retries),
                progress=lambda: make_progress(stderr(), enabled=progress and sys.stderr.isatty()),
            )
            judges_failed = report_judge_failures(runs.results, stderr())
            report = measure(runs.labellers)
            if save_accuracy and not judges_failed:
                for labeller in runs.labellers:
                    if labeller.identity is None:
                        continue
                    db.save_judge_accuracy(
                        content_hash(labeller.identity),
                        labeller.name,
                        accuracy_record(report, labeller.name),
                    )
                    notes.append(f"saved the measured accuracy of {labeller.name} in {db.path}")
        notes.insert(
            0,
            f"runs {', '.join(runs.runs)} ({runs.judge_calls} judge calls; verdicts cached in"
            " the store)",
        )
    else:
        report = measure([])
    render_report(report, out)
    path = r.get("json", json_path)
    if path is not None:
        write_json(path, report)
    for note in notes:
        out.print(note)
    if judges_failed:
        raise typer.Exit(1)
