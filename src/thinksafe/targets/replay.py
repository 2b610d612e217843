"""``replay/PATH``: a target that hands back responses a model already gave.

It answers each conversation with the response recorded for it in a transcript file (see
:mod:`thinksafe.transcripts`: columns ``id``, ``prompt``, ``response``, optional ``reasoning``
...), so existing transcripts go through the real engine: judged per channel, cached, stored and
summarised exactly like a live run. ``thinksafe judge FILE`` builds one in memory (shown as
``replay/<file name>``); ``--model replay/PATH`` reads the file with the default columns.

A conversation with no recorded response fails (not retried). The identity holds a hash of every
recorded response, so editing the file changes the completion cache keys; verdicts are keyed by
the text judged, so unchanged rows keep their cached verdicts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thinksafe import registry
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError, DataError, ProviderError
from thinksafe.records import Completion, Messages, canonical_json

if TYPE_CHECKING:
    from thinksafe.transcripts import Transcript

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
        ``DataError`` (split them with :func:`thinksafe.transcripts.replay_layers`), unless
        ``first_only``: then the first response is the one replayed (the engine's
        :class:`thinksafe.transcripts.ReplayRunner` finds the others in the cache)."""
        from thinksafe.transcripts import messages_key

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
        from thinksafe.transcripts import messages_key

        return self._responses.get(messages_key(messages))

    @property
    def spec(self) -> str:
        return f"{PROVIDER}/{self.name}"

    def identity(self) -> dict[str, Any]:
        return {"provider": PROVIDER, "model": self.name, "responses_sha256": self._sha256}

    def __len__(self) -> int:
        return len(self._responses)

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        from thinksafe.transcripts import messages_key

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
    from thinksafe.transcripts import read_transcripts

    if not model:
        raise ConfigError("give the transcript file: replay/PATH")
    transcripts = read_transcripts(Path(model), display=model)
    return ReplayTarget.from_transcripts(model, transcripts)
