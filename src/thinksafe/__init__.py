"""thinksafe: measure how safe a language model is, judging its thinking trace and its final
answer separately."""

from thinksafe.records import Attempt, Completion, JudgeItem, Message, Sample, Usage, Verdict

__version__ = "0.1.0"

__all__ = [
    "Attempt",
    "Completion",
    "JudgeItem",
    "Message",
    "Sample",
    "Usage",
    "Verdict",
    "__version__",
]
