"""Names that judges and their tests import from here, re-exported from the modules that now
hold them, one topic each:

- :mod:`thinksafe.judges.untrusted`: delimiting (rubric prompts) and defusing (guard
  prompts) untrusted text;
- :mod:`thinksafe.judges.templates`: rubric templates shipped in ``judges/rubrics/``;
- :mod:`thinksafe.judges.replies`: reading judge replies;
- :mod:`thinksafe.judges.asking`: asking a judge model, with one retry;
- :mod:`thinksafe.judges.windows`: judging long texts in windows;
- :mod:`thinksafe.judges.parts` and :mod:`thinksafe.judges.model_judge`: the parts of a
  model judge (Protocols) and the one model judge built from them.
"""

from __future__ import annotations

from thinksafe.judges.asking import JUDGE_GENERATION, ask_judge, join_replies, reply_text
from thinksafe.judges.model_judge import unscorable
from thinksafe.judges.parts import Reading
from thinksafe.judges.replies import (
    MARKUP,
    bare_word,
    field_values,
    read_label,
    read_rationale,
    read_refusal,
    read_safety_reply,
    single_choice,
)
from thinksafe.judges.templates import Rubric, load_rubric
from thinksafe.judges.untrusted import boundary_token, delimit, neutralise
from thinksafe.judges.windows import (
    DEFAULT_MAX_CHARS,
    DEFAULT_OVERLAP,
    combine_windows,
    judge_in_windows,
    windows,
)

# The reading of a rubric judge's reply (now the one reading of every model judge).
RubricReading = Reading

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DEFAULT_OVERLAP",
    "JUDGE_GENERATION",
    "MARKUP",
    "Rubric",
    "RubricReading",
    "ask_judge",
    "bare_word",
    "boundary_token",
    "combine_windows",
    "delimit",
    "field_values",
    "join_replies",
    "judge_in_windows",
    "load_rubric",
    "neutralise",
    "read_label",
    "read_rationale",
    "read_refusal",
    "read_safety_reply",
    "reply_text",
    "single_choice",
    "unscorable",
    "windows",
]
