"""The validated configuration of a run.

:class:`RunConfig` holds everything that defines a run and checks it when it is made, so the
command line (``thinksafe run``) and the Python API (:func:`thinksafe.run.evaluate.evaluate`) refuse
the same bad input with the same one-line :class:`~thinksafe.errors.ConfigError` (exit 2 on the
command line). It is a pydantic dataclass: frozen, and ``dataclasses.replace`` validates the
copy again.

Two kinds of check:

- on making (``__post_init__``): types, ranges, options that contradict each other (a thinking
  mode without its budget, ``--workers`` above 1 on a target the request processes cannot
  serve, ``--ray`` on a served model), the same judge given twice;
- :meth:`RunConfig.check_names`, before anything is built (:func:`thinksafe.run.build.build_plan`
  calls it): every target, suite, judge and attack name is registered. It is apart because it
  reads the registry, and a configuration may be made (a sweep's base, a test's) before the
  components it names are installed.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

import pydantic
from pydantic import ConfigDict, ValidationError, model_validator

from thinksafe import registry
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError
from thinksafe.run.retry import RetryPolicy
from thinksafe.spec import parse_attack, parse_judge, parse_suite, parse_target
from thinksafe.targets.ray import RAY_PROVIDERS, RayOptions

__all__ = ["RunConfig", "option_flag"]

# Field -> the command-line flag named in messages (when it is not --FIELD-WITH-DASHES).
_FLAGS = {
    "judges": "--judge",
    "attacks": "--attack",
    "categories": "--category",
    "suite_options": "--suite-option",
    "connection": "--base-url/--api-key-env/--timeout",
    "judge_connection": "--judge-base-url/--judge-api-key-env",
    "retry": "--max-retries",
}


def option_flag(name: str) -> str:
    """The command-line flag of the RunConfig field ``name``."""
    return _FLAGS.get(name, "--" + name.replace("_", "-"))


@pydantic.dataclasses.dataclass(
    frozen=True, config=ConfigDict(arbitrary_types_allowed=True, extra="forbid")
)
class RunConfig:
    """Everything that defines a run. Its hash (with the samples') is the run id."""

    model: str
    suite: str
    judges: tuple[str, ...] = ()
    attacks: tuple[str, ...] = ("none",)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    connection: ConnectionConfig = field(default_factory=ConnectionConfig)
    judge_connection: ConnectionConfig = field(default_factory=ConnectionConfig)
    suite_options: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    sample: int | None = None
    sample_seed: int = 0
    categories: tuple[str, ...] = ()
    split: str | None = None
    name: str | None = None
    max_concurrency: int = 16
    judge_concurrency: int = 16
    max_error_rate: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Processes that send the requests (thinksafe.run.workers): 0 chooses, 1 is this process.
    workers: int = 0
    # Each attempt is sent this many times (thinksafe.metrics.samples).
    samples: int = 1
    # Generate on a Ray cluster (hf/ and vllm/ targets): thinksafe.targets.ray.
    ray: RayOptions | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(cls, values: Any, handler: Any) -> Any:
        """A value of the wrong type, or an unknown option, as one line naming the flag."""
        try:
            return handler(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = [str(part) for part in first.get("loc", ())]
            if first.get("type") == "unexpected_keyword_argument" and loc:
                raise ConfigError(
                    f"unknown run option {loc[-1]!r}; see thinksafe.run.runconfig.RunConfig"
                ) from None
            if first.get("type") == "missing_argument" and loc:
                if loc[-1] == "model":
                    raise ConfigError(_NO_MODEL) from None
                raise ConfigError(f"give {option_flag(loc[-1])}") from None
            where = option_flag(loc[0]) if loc else "run option"
            raise ConfigError(f"{where}: {first.get('msg', 'invalid value')}") from None

    def __post_init__(self) -> None:
        self._check_ranges()
        self._check_combinations()

    def _check_ranges(self) -> None:
        if not self.model.strip():
            raise ConfigError(_NO_MODEL)
        for name in ("limit", "sample"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{option_flag(name)} must be at least 1")
        if self.samples < 1:
            raise ConfigError(f"--samples must be at least 1, got {self.samples}")
        if self.max_concurrency < 1:
            raise ConfigError("--max-concurrency must be at least 1")
        if self.judge_concurrency < 1:
            raise ConfigError("--judge-concurrency must be at least 1")
        if self.max_error_rate is not None and not 0.0 <= self.max_error_rate <= 1.0:
            raise ConfigError("--max-error-rate must be between 0 and 1")
        if self.workers < 0:
            raise ConfigError(f"--workers must be 0 (choose) or more, got {self.workers}")
        if not isinstance(self.generation.extra_body, dict):
            raise ConfigError("--extra-body must be a JSON object, e.g. '{\"top_k\": 20}'")

    def _check_combinations(self) -> None:
        # Imported here: thinksafe.targets.thinking and thinksafe.run.workers import the run
        # machinery's neighbours, not this module.
        from thinksafe.run.workers import WORKER_PROVIDERS
        from thinksafe.targets.thinking import think_plan

        provider = parse_target(self.model).name
        think_plan(self.generation)
        if self.workers > 1 and provider not in WORKER_PROVIDERS:
            raise ConfigError(
                f"--workers above 1 works with {', '.join(sorted(WORKER_PROVIDERS))} targets,"
                f" not {provider}/; pass --workers 1"
            )
        if self.ray is not None and provider not in RAY_PROVIDERS:
            raise ConfigError(
                f"--ray runs hf/ and vllm/ models, not {provider}/; drop --ray for served models"
            )
        if len(set(self.judges)) != len(self.judges):
            raise ConfigError("the same judge was given twice; give each judge once")

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0]

    def check_names(self, *, target: bool = True) -> None:
        """``UnknownComponentError`` (one line, naming what is registered) for a target, suite,
        judge or attack that nothing is registered under. Called before anything is built.
        ``target=False``: the run's target is not built from the registry (it is given)."""
        if target:
            registry.targets.get(parse_target(self.model).name)
        registry.suites.get(parse_suite(self.suite).name)
        for judge in self.judges:
            registry.judges.get(parse_judge(judge).name)
        for attack in self.attacks:
            registry.attacks.get(parse_attack(attack).name)


_NO_MODEL = "give a model with --model PROVIDER/MODEL (for example mock/reasoner)"
