"""``thinksafe run``: assess a model on a suite."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated, Any

import typer

from thinksafe.cli.app import app, check_output, open_store, stderr, stdout, write_json
from thinksafe.cli.failures import report_failures, report_judge_failures
from thinksafe.cli.options import (
    ConfigOption,
    JudgeApiKeyEnvOption,
    JudgeBaseUrlOption,
    JudgeConcurrencyOption,
    JudgesOption,
    ProgressOption,
    Resolver,
    RunNameOption,
    StoreOption,
    SummaryJsonOption,
    as_list,
    judge_connection,
    judge_retry,
    load_config_file,
)
from thinksafe.cli.progress import make_progress
from thinksafe.cli.suites import parse_option_pairs
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError
from thinksafe.prompts import resolve_system_prompt
from thinksafe.report.terminal import render_summary
from thinksafe.run.engine import RunResult, RunSpec
from thinksafe.run.evaluate import run_spec
from thinksafe.run.sweep import parse_sweep, render_sweep, sweep_document, sweep_specs
from thinksafe.targets.defaults import decoding_line
from thinksafe.targets.ray import RayOptions


def _extra_body(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise ConfigError("--extra-body must be a JSON object, e.g. '{\"top_k\": 20}'") from None
    if not isinstance(parsed, dict):
        raise ConfigError("--extra-body must be a JSON object, e.g. '{\"top_k\": 20}'")
    return parsed


SUITE_COLUMNS = (
    "id_column",
    "prompt_column",
    "messages_column",
    "category_column",
    "expected_column",
    "harm_area_column",
    "default_expected",
)


@app.command()
def run(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Target, e.g. openai/gpt-4o-mini, openai-responses/o4-mini (reasoning"
            " summaries), hf/PATH_OR_ID, vllm/MODEL.",
        ),
    ] = None,
    suite: Annotated[
        str | None, typer.Option("--suite", "-s", help="Suite: starter, file:PATH, NAME@PATH.")
    ] = None,
    judge: JudgesOption = None,
    attack: Annotated[
        list[str] | None,
        typer.Option(
            "--attack",
            help="Attack spec, repeatable: NAME or NAME:ARG (`thinksafe attacks` lists them);"
            " every sample is tried with every attack.",
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Target server URL (default $OPENAI_BASE_URL).")
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding the target's key (OPENAI_API_KEY)."),
    ] = None,
    judge_base_url: JudgeBaseUrlOption = None,
    judge_api_key_env: JudgeApiKeyEnvOption = None,
    limit: Annotated[int | None, typer.Option(help="Run only the first N samples.")] = None,
    sample: Annotated[
        int | None,
        typer.Option("--sample", help="Run a sample of N, stratified by category."),
    ] = None,
    sample_seed: Annotated[int | None, typer.Option(help="Seed of --sample (0).")] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            help="Send each attempt N times (1); the summary adds unsafe in any of N and the"
            " spread of verdicts.",
        ),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(help="Only this category or harm area, repeatable."),
    ] = None,
    split: Annotated[str | None, typer.Option(help="Only this split (e.g. val, test).")] = None,
    suite_option: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE option for the suite loader, repeatable."),
    ] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(help="Concurrent requests to the target (16).")
    ] = None,
    judge_concurrency: JudgeConcurrencyOption = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes that send the requests (Linux; HTTP targets: openai/, ollama/, ...):"
            " 0 chooses (2 from --max-concurrency 128 up), 1 sends from this process."
        ),
    ] = None,
    system_prompt: Annotated[
        str | None,
        typer.Option(help="System prompt: a preset (safety, none) or the text itself."),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(
            help="Sent only when given; unset (with --top-p), hf/ and vllm/ decode with the"
            " model's own generation_config.json (model_defaults)."
        ),
    ] = None,
    top_p: Annotated[float | None, typer.Option(help="Sent only when given.")] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            help="Output cap; unset, hf/ and vllm/ allow 32768 tokens for a reasoning model"
            " (2048 otherwise), within its context."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    reasoning_effort: Annotated[
        str | None, typer.Option(help="low, medium or high, for models that take it.")
    ] = None,
    extra_body: Annotated[
        str | None, typer.Option(help="JSON object of extra request fields to pass through.")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per request (600).")] = None,
    max_retries: Annotated[
        int | None, typer.Option(help="Retries of a failed call; 0 for none (5).")
    ] = None,
    max_error_rate: Annotated[
        float | None,
        typer.Option(help="Exit non-zero (1) when more than this share of calls failed."),
    ] = None,
    name: RunNameOption = None,
    store: StoreOption = None,
    json_path: SummaryJsonOption = None,
    config: ConfigOption = None,
    progress: ProgressOption = True,
    thinking: Annotated[
        bool | None,
        typer.Option(
            "--thinking/--no-thinking",
            help="Switch the model's thinking on or off (chat-template switch, or the server's).",
        ),
    ] = None,
    think_mode: Annotated[
        str | None,
        typer.Option(help="Local targets: zerothink, lessthink or morethink."),
    ] = None,
    think_budget: Annotated[
        int | None, typer.Option(help="Local targets: stop the trace after N tokens (LessThink).")
    ] = None,
    min_think_tokens: Annotated[
        int | None,
        typer.Option(help="Local targets: think at least N tokens (MoreThink)."),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            help="KEY=V1,V2,...: one run per setting, e.g. think_budget=0,256,1024 or"
            " reasoning_effort=low,medium,high."
        ),
    ] = None,
    ray: Annotated[
        bool, typer.Option("--ray", help="Generate on a Ray cluster (hf/ and vllm/ targets).")
    ] = False,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    ray_workers: Annotated[int | None, typer.Option(help="Model replicas on Ray.")] = None,
    ray_gpus_per_worker: Annotated[
        float | None, typer.Option(help="GPUs per Ray replica (0 for CPU).")
    ] = None,
    ray_batch_size: Annotated[int | None, typer.Option(help="Rows per Ray batch (64).")] = None,
    id_column: Annotated[str | None, typer.Option(help="file: suites: id column.")] = None,
    prompt_column: Annotated[str | None, typer.Option(help="file: suites: prompt column.")] = None,
    messages_column: Annotated[
        str | None, typer.Option(help="file: suites: messages column.")
    ] = None,
    category_column: Annotated[
        str | None, typer.Option(help="file: suites: category column.")
    ] = None,
    expected_column: Annotated[
        str | None, typer.Option(help="file: suites: expected column.")
    ] = None,
    harm_area_column: Annotated[
        str | None, typer.Option(help="file: suites: harm area column.")
    ] = None,
    default_expected: Annotated[
        str | None, typer.Option(help="file: suites: refuse or comply when no column.")
    ] = None,
) -> None:
    """Assess a model on a suite: generate, judge answer and reasoning separately, summarise."""
    r = Resolver(load_config_file(config))
    model_spec = r.get("model", model) or ""
    suite_options = {
        k: r.get(k, v)
        for k, v in zip(
            SUITE_COLUMNS,
            (
                id_column,
                prompt_column,
                messages_column,
                category_column,
                expected_column,
                harm_area_column,
                default_expected,
            ),
        )
        if r.get(k, v) is not None
    }
    # Every check of these values is RunConfig's (thinksafe.run.runconfig), so the Python API
    # refuses what this command refuses, with the same line.
    max_error = r.get("max_error_rate", max_error_rate, cast=float)
    concurrency = r.get("max_concurrency", max_concurrency, 16, int)
    suite_options.update(parse_option_pairs(list(as_list(r.get("suite_option", suite_option)))))
    timeout_s = r.get("timeout", timeout, 600.0, float)
    spec = RunSpec(
        model=model_spec,
        suite=r.get("suite", suite, "starter"),
        judges=as_list(r.get("judge", judge)),
        attacks=as_list(r.get("attack", attack)) or ("none",),
        generation=GenerationConfig(
            system_prompt=resolve_system_prompt(r.get("system_prompt", system_prompt)),
            temperature=r.get("temperature", temperature, cast=float),
            top_p=r.get("top_p", top_p, cast=float),
            max_tokens=r.get("max_tokens", max_tokens, cast=int),
            seed=r.get("seed", seed, cast=int),
            reasoning_effort=r.get("reasoning_effort", reasoning_effort),
            extra_body=_extra_body(r.get("extra_body", extra_body)),
            thinking=r.get("thinking", thinking, cast=_as_bool),
            think_mode=r.get("think_mode", think_mode),
            think_budget=r.get("think_budget", think_budget, cast=int),
            min_think_tokens=r.get("min_think_tokens", min_think_tokens, cast=int),
        ),
        connection=ConnectionConfig(
            base_url=r.get("base_url", base_url),
            api_key_env=r.get("api_key_env", api_key_env),
            timeout_s=timeout_s,
        ),
        judge_connection=judge_connection(r, judge_base_url, judge_api_key_env, timeout),
        suite_options=suite_options,
        limit=r.get("limit", limit, cast=int),
        sample=r.get("sample", sample, cast=int),
        sample_seed=r.get("sample_seed", sample_seed, 0, int),
        categories=as_list(r.get("category", category)),
        split=r.get("split", split),
        name=r.get("name", name),
        max_concurrency=concurrency,
        judge_concurrency=r.get("judge_concurrency", judge_concurrency, 16, int),
        workers=r.get("workers", workers, 0, int),
        samples=r.get("samples", samples, 1, int),
        max_error_rate=max_error,
        retry=judge_retry(r, max_retries),
        ray=(
            RayOptions(
                address=r.get("ray_address", ray_address),
                workers=r.get("ray_workers", ray_workers, cast=int),
                gpus_per_worker=r.get("ray_gpus_per_worker", ray_gpus_per_worker, cast=float),
                batch_size=r.get("ray_batch_size", ray_batch_size, 64, int),
            )
            if ray or r.get("ray", None, cast=_as_bool)
            else None
        ),
    )
    if spec.ray is not None and r.get("max_concurrency", max_concurrency) is None:
        # one wave: every replica loads the model once
        spec = dataclasses.replace(spec, max_concurrency=1_000_000)
    spec.check_names()
    sweep_text = r.get("sweep", sweep)
    out = stdout()
    path = r.get("json", json_path)
    check_output(path, "--json")
    if sweep_text:
        key, values = parse_sweep(sweep_text)
        results, summaries = [], []
        with open_store(r.get("store", store)) as db:
            for point in sweep_specs(spec, key, values):
                bar = make_progress(
                    stderr(),
                    enabled=progress and sys.stderr.isatty(),
                    announce=decoding_line(point.model, point.generation),
                )
                result, summary = run_spec(point, db, bar)
                results.append(result)
                summaries.append(summary)
        document = sweep_document(key, values, summaries)
        render_sweep(document, out)
        if path is not None:
            write_json(path, document)
        out.print(
            "runs " + " ".join(res.run_id for res in results) + " (compare them with"
            " `thinksafe report " + " ".join(res.run_id for res in results) + "`)"
        )
        _check_errors(results, max_error)
        return
    with open_store(r.get("store", store)) as db:
        bar = make_progress(
            stderr(),
            enabled=progress and sys.stderr.isatty(),
            announce=decoding_line(spec.model, spec.generation),
        )
        result, summary = run_spec(spec, db, bar)
    render_summary(summary, out)
    if path is not None:
        write_json(path, summary)
    calls = f"{result.model_calls} model calls, {result.judge_calls} judge calls"
    out.print(f"run {result.run_id} ({'resumed' if result.resumed else 'new'}; {calls})")
    _check_errors([result], max_error)


def _check_errors(results: list[RunResult], max_error: float | None) -> None:
    """Show the most frequent call errors. Exit 1 when a run stopped early, when no call of a
    run (or of one of its judges) succeeded, or when more calls failed than --max-error-rate
    allows; exit 2 (one line) when every call failed with the same client error."""
    code = report_failures(results, stderr())
    code = max(code, report_judge_failures(results, stderr()))
    for result in results:
        if result.aborted:
            stderr().print(f"stopped early: {result.aborted}")
            raise typer.Exit(1)
        if max_error is not None and result.error_rate > max_error:
            stderr().print(
                f"{result.errors} of {len(result.results)} attempts failed"
                f" ({result.error_rate:.1%}), more than --max-error-rate {max_error}"
            )
            raise typer.Exit(1)
    if code:
        raise typer.Exit(code)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)
