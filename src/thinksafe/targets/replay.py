"""``replay/PATH``: a target that hands back responses a model already gave.

It answers each conversation with the response recorded for it in a transcript file (see
:mod:`thinksafe.run.transcripts`: columns ``id``, ``prompt``, ``response``, optional ``reasoning``
...), so existing transcripts go through the real engine: judged per channel, cached, stored and
summarised exactly like a live run. ``thinksafe judge FILE`` builds one in memory (shown as
``replay/<file name>``); ``--model replay/PATH`` reads the file with the default columns.

A conversation with no recorded response fails (not retried). The identity holds a hash of every
recorded response, so editing the file changes the completion cache keys; verdicts are keyed by
the text judged, so unchanged rows keep their cached verdicts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thinksafe import registry
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError, DataError, ProviderError
from thinksafe.records import (
    Attempt,
    Completion,
    Messages,
    Sample,
    canonical_json,
    completion_key,
    content_hash,
    messages_to_list,
)
from thinksafe.run.transcripts import Transcript, messages_key, read_transcripts, sample_variants

if TYPE_CHECKING:
    from thinksafe.store.sqlite import Store

PROVIDER = "replay"


class ReplayTarget:
    """Recorded responses, looked up by the conversation sent."""

    def __init__(
        self,
        name: str,
        responses: Mapping[str, Completion],
        others: Iterable[tuple[str, Completion]] = (),
    ) -> None:
        """``others``: further responses to the same prompts, not replayed but part of the
        identity (the engine finds them in its cache)."""
        if not name:
            raise ConfigError("give the transcript file: replay/PATH")
        self.name = name
        self._responses = dict(responses)
        digest = hashlib.sha256()
        for key in sorted(self._responses):
            digest.update(canonical_json([key, self._responses[key].to_dict()]).encode("utf-8"))
        for key, completion in others:
            digest.update(canonical_json(["other", key, completion.to_dict()]).encode("utf-8"))
        self._sha256 = digest.hexdigest()

    @classmethod
    def from_transcripts(
        cls, spec_or_name: str, transcripts: Iterable[Transcript], *, first_only: bool = False
    ) -> ReplayTarget:
        """A replay of ``transcripts``. A prompt with two different responses is a
        ``DataError`` (split them with :func:`thinksafe.run.transcripts.replay_layers`), unless
        ``first_only``: then the first response is the one replayed (the others are stored
        under keys of their own: :meth:`Replay.completion_keys`)."""
        name = spec_or_name.removeprefix(f"{PROVIDER}/")
        responses: dict[str, Completion] = {}
        lines: dict[str, int] = {}
        others: list[tuple[str, Completion]] = []
        for t in transcripts:
            key = messages_key(t.sample.messages)
            found = responses.setdefault(key, t.completion)
            lines.setdefault(key, t.line)
            if found != t.completion:
                if not first_only:
                    raise DataError(
                        f"{name}: line {t.line} repeats the prompt of line {lines[key]} with"
                        " another response; a replay holds one response per prompt"
                    )
                others.append((key, t.completion))
        return cls(name, responses, others)

    def recorded(self, messages: Messages) -> Completion | None:
        """The response replayed for ``messages``, if any."""
        return self._responses.get(messages_key(messages))

    @property
    def spec(self) -> str:
        return f"{PROVIDER}/{self.name}"

    def identity(self) -> dict[str, Any]:
        return {"provider": PROVIDER, "model": self.name, "responses_sha256": self._sha256}

    def __len__(self) -> int:
        return len(self._responses)

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        completion = self._responses.get(messages_key(messages))
        if completion is None:
            raise ProviderError(
                f"{self.spec}: no recorded response for this conversation", transient=False
            )
        return completion

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class Replay:
    """Transcripts as a run: the samples and attempts are the rows (a sample's k-th row is the
    attempt of variant ``sample-k``), the target the replay of their responses.
    :func:`thinksafe.run.build.build_replay_plan` makes a plan of it."""

    target: ReplayTarget
    samples: list[Sample]
    attempts: list[Attempt]
    # attempt id -> the response its row recorded
    recorded: Mapping[str, Completion]

    @classmethod
    def from_transcripts(
        cls, spec: str, transcripts: Sequence[Transcript], *, limit: int | None = None
    ) -> Replay:
        """``limit``: only the first N samples (with all their rows)."""
        rows = list(transcripts)
        target = ReplayTarget.from_transcripts(spec, rows, first_only=True)
        attempts = [
            Attempt(sample_id=t.sample.id, attack="none", messages=t.sample.messages, variant=v)
            for t, v in zip(rows, sample_variants(rows))
        ]
        # Each sample once, as its first row holds it.
        samples = list({t.sample.id: t.sample for t in reversed(rows)}.values())
        samples.reverse()
        if limit is not None:
            samples = samples[:limit]
        chosen = {s.id for s in samples}
        recorded = {a.id: t.completion for a, t in zip(attempts, rows)}
        return cls(
            target=target,
            samples=samples,
            attempts=[a for a in attempts if a.sample_id in chosen],
            recorded=recorded,
        )

    def completion_keys(self, store: Store) -> Callable[[str, Sequence[Attempt]], list[str]]:
        """How the engine keys the rows' completions: the usual key for a row whose response
        is the one replayed for its prompt; for another response to the same prompt, a key
        that also holds the response, under which it is stored in ``store`` (the replay
        target answers each prompt with one response)."""

        def keys(target_id: str, attempts: Sequence[Attempt]) -> list[str]:
            out = []
            for attempt in attempts:
                recorded = self.recorded[attempt.id]
                if self.target.recorded(attempt.messages) == recorded:
                    out.append(completion_key(target_id, attempt))
                    continue
                key = content_hash(
                    "completion",
                    target_id,
                    messages_to_list(attempt.messages),
                    "recorded response",
                    recorded.to_dict(),
                )
                store.put_completion(key, self.target.spec, recorded)
                out.append(key)
            store.flush()
            return out

        return keys


@registry.targets.register(
    PROVIDER,
    description="Replays recorded responses from a transcript file (JSONL or CSV): replay/PATH",
    source="a transcript file you give",
    licence="yours",
)
def make_replay(
    *, provider: str, model: str, connection: ConnectionConfig | None = None
) -> ReplayTarget:
    """Build ``replay/PATH`` from a transcript file with the default column names."""
    if not model:
        raise ConfigError("give the transcript file: replay/PATH")
    transcripts = read_transcripts(Path(model), display=model)
    return ReplayTarget.from_transcripts(model, transcripts)
