"""Options that several commands take, declared once as ``Annotated`` types, and the checks
that go with them.

A command names a parameter after its flag (``judge_base_url`` is ``--judge-base-url``) and
gives it one of these types, so the flag reads and is documented the same in every command.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from thinksafe.config import ConnectionConfig
from thinksafe.errors import ConfigError
from thinksafe.run.retry import RetryPolicy

STORE_HELP = "SQLite store (default $THINKSAFE_STORE or ./thinksafe.db)."

# --- store, config, progress, output ---------------------------------------------------------

StoreOption = Annotated[Path | None, typer.Option(help=STORE_HELP)]
RunArgument = Annotated[str, typer.Argument(help="Run id (or a unique prefix, a name, or latest).")]
ConfigOption = Annotated[
    Path | None, typer.Option(help="YAML file of options (flags and env beat it).")
]
ProgressOption = Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")]
RunNameOption = Annotated[str | None, typer.Option(help="A name for the run.")]
SummaryJsonOption = Annotated[
    Path | None, typer.Option("--json", help="Write the summary JSON here.")
]

# --- judges -----------------------------------------------------------------------------------

JudgesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--judge",
        "-j",
        help="Judge spec, repeatable (rules, safety:openai/gpt-4o-mini, ...). The first is"
        " the primary judge. Default: the best offline judge.",
    ),
]
JudgeBaseUrlOption = Annotated[str | None, typer.Option(help="Server URL for model-based judges.")]
JudgeApiKeyEnvOption = Annotated[
    str | None, typer.Option(help="Environment variable holding the judge server's key.")
]
JudgeConcurrencyOption = Annotated[
    int | None, typer.Option(help="Concurrent calls per judge (16).")
]
JudgeTimeoutOption = Annotated[float | None, typer.Option(help="Seconds per judge request (600).")]
JudgeRetriesOption = Annotated[
    int | None, typer.Option(help="Retries of a failed judge call; 0 for none (5).")
]

# --- transcript columns (judge, judge-eval) ---------------------------------------------------

IdColumnOption = Annotated[str | None, typer.Option(help="Id column (id).")]
PromptColumnOption = Annotated[str | None, typer.Option(help="Prompt column (prompt).")]
MessagesColumnOption = Annotated[
    str | None, typer.Option(help="Messages column, a JSON list of {role, content}.")
]
ResponseColumnOption = Annotated[str | None, typer.Option(help="Response column (response).")]
ReasoningColumnOption = Annotated[
    str | None, typer.Option(help="Reasoning column (reasoning); else <think> tags split.")
]
CategoryColumnOption = Annotated[str | None, typer.Option(help="Category column (category).")]
ExpectedColumnOption = Annotated[
    str | None, typer.Option(help="Expected column, refuse or comply (expected).")
]
HarmAreaColumnOption = Annotated[str | None, typer.Option(help="Harm area column (harm_area).")]
DefaultExpectedOption = Annotated[
    str | None, typer.Option(help="refuse or comply for rows with no expected (refuse).")
]


# --- resolving them ---------------------------------------------------------------------------


def load_config_file(path: Path | None) -> dict[str, Any]:
    """The ``--config`` YAML file as a mapping of option name (``-`` read as ``_``) to value."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder; give a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; give a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise ConfigError(
            f"config file {path} is not valid YAML{where}: {problem}; fix it or pass another"
            " --config"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option: value")
    config = {str(k).replace("-", "_"): v for k, v in data.items()}
    _refuse_unknown(config, path)
    return config


def _current_context() -> Any:
    """The running command's click context (Typer may bundle its own click), or ``None``."""
    import importlib

    for name in ("typer._click.globals", "click.globals"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        ctx = module.get_current_context(silent=True)
        if ctx is not None:
            return ctx
    return None


def _refuse_unknown(config: dict[str, Any], path: Path) -> None:
    """Refuse keys that name no option of the running command (a typo would be ignored)."""
    import difflib

    ctx = _current_context()
    if ctx is None:
        return
    known: set[str] = set()
    for param in ctx.command.params:
        if param.name:
            known.add(param.name)
        for opt in [*param.opts, *param.secondary_opts]:
            if opt.startswith("--"):
                known.add(opt[2:].replace("-", "_"))
    known.discard("config")
    for key in config:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"config file {path}: unknown option {key!r}{hint}; use the names of"
                f" `thinksafe {ctx.info_name} --help` without the leading --"
            )


class Resolver:
    """Flags beat THINKSAFE_* environment variables, which beat the --config file, which beats
    the defaults."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def get(self, name: str, flag: Any, default: Any = None, cast: Any = None) -> Any:
        if flag is not None and flag != () and flag != []:
            return flag
        variable = "THINKSAFE_" + name.upper()
        env = os.environ.get(variable)
        if env is not None and env != "":
            value: Any = env
            source = f"{variable}={value!r}"
        elif name in self.config:
            value = self.config[name]
            source = f"{name}: {value!r} in the config file"
        else:
            return default
        if cast is not None and value is not None:
            try:
                value = cast(value)
            except (TypeError, ValueError):
                kind = _KINDS.get(getattr(cast, "__name__", ""), "a valid value")
                raise ConfigError(f"{source} is not {kind}; fix or remove it") from None
        return value


# What a value cast by Resolver.get must be, in words.
_KINDS = {
    "int": "a whole number",
    "float": "a number",
    "_as_bool": "true or false (also yes/no, on/off, 1/0)",
}


def as_list(value: Any) -> tuple[str, ...]:
    """A list option's values: a config or environment value may be one comma-separated
    text."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value)


def resolve_limit(r: Resolver, limit: int | None) -> int | None:
    """``--limit`` (flag, environment or config file); at least 1 when given."""
    limit_n: int | None = r.get("limit", limit, cast=int)
    if limit_n is not None and limit_n < 1:
        raise ConfigError("--limit must be at least 1")
    return limit_n


def resolve_judge_concurrency(r: Resolver, judge_concurrency: int | None) -> int:
    """``--judge-concurrency`` (16 by default); at least 1."""
    concurrency: int = r.get("judge_concurrency", judge_concurrency, 16, int)
    if concurrency < 1:
        raise ConfigError("--judge-concurrency must be at least 1")
    return concurrency


def judge_connection(
    r: Resolver, base_url: str | None, api_key_env: str | None, timeout: float | None
) -> ConnectionConfig:
    """How model-based judges reach their server: ``--judge-base-url``,
    ``--judge-api-key-env`` and ``--timeout`` (600 s by default)."""
    return ConnectionConfig(
        base_url=r.get("judge_base_url", base_url),
        api_key_env=r.get("judge_api_key_env", api_key_env),
        timeout_s=r.get("timeout", timeout, 600.0, float),
    )


DEFAULT_RETRIES = 5


def judge_retry(r: Resolver, max_retries: int | None) -> RetryPolicy:
    """``--max-retries``: retries after a call's first try (5 by default, 0 for none)."""
    retries: int = r.get("max_retries", max_retries, DEFAULT_RETRIES, int)
    if retries < 0:
        raise ConfigError("--max-retries must be 0 (no retries) or more")
    return RetryPolicy(max_attempts=retries + 1)
