"""Crescendo (Russinovich et al. 2024, arXiv:2404.01833): a multi-turn attack.

The attacker holds a conversation with the target that starts harmless and moves towards the
goal a step per turn, building on the target's own replies. Each reply is judged; the search
stops at the first success, after ``turns`` kept turns, or when a budget is spent. A refused
turn is backtracked: taken out of the target's conversation and the attacker asked to
rephrase it, up to ``backtracks`` times in all; after that a refused turn is kept.
"""

from __future__ import annotations

from thinksafe import registry
from thinksafe.attacks.adaptive import prompts
from thinksafe.attacks.adaptive.base import (
    COMMON_PARAMETERS,
    LICENCE,
    NEEDS,
    SOURCE,
    AdaptiveAttack,
    Common,
    Session,
    attacker_messages,
    int_option,
    parse_attacker_reply,
    parse_options,
    refused,
)
from thinksafe.records import Message

NAME = "crescendo"
CITATION = (
    "Mark Russinovich, Ahmed Salem, Ronen Eldan. Great, Now Write an Article About That: The"
    " Crescendo Multi-Turn LLM Jailbreak Attack. 2024. arXiv:2404.01833"
)
DEFAULT_QUERIES = 30
PARAMETERS = {
    **COMMON_PARAMETERS,
    "queries": f"stop after this many target queries (default {DEFAULT_QUERIES})",
    "turns": "kept turns of the conversation at most (default 10)",
    "backtracks": "refused turns taken back and rephrased, in all (default 10)",
}


class Crescendo(AdaptiveAttack):
    name = NAME

    async def search(self, session: Session) -> str:
        turns = int(self.settings["turns"])
        backtracks = int(self.settings["backtracks"])
        goal = session.goal_block()
        system = prompts.CRESCENDO_SYSTEM.format(goal=goal, turns=turns)
        sample = session.parts.sample
        # The target's conversation: the sample's turns before its request, then the kept
        # questions and replies.
        before = tuple(sample.messages[:-1]) if sample.messages[-1].role == "user" else ()
        kept: list[Message] = []
        history: list[tuple[str, str]] = []
        ask = prompts.CRESCENDO_FIRST.format(goal=goal, turns=turns)
        taken_back = 0
        turn = 1
        while turn <= turns:
            reply = await session.ask_attacker(attacker_messages(system, [*history, (ask, "")]))
            history.append((ask, reply))
            question = parse_attacker_reply(reply)
            tried = await session.query((*before, *kept, Message("user", question)))
            if tried.success:
                return "success"
            if refused(tried.completion, tried.verdicts) and taken_back < backtracks:
                taken_back += 1
                ask = prompts.CRESCENDO_BACKTRACK.format(
                    reply=session.reply_block(tried), turn=turn, turns=turns, goal=goal
                )
                continue
            kept += [Message("user", question), Message("assistant", tried.completion.answer)]
            turn += 1
            ask = prompts.CRESCENDO_NEXT.format(
                reply=session.reply_block(tried),
                score=tried.score,
                turn=turn,
                turns=turns,
                goal=goal,
            )
        return "exhausted"


@registry.attacks.register(
    NAME,
    description="Crescendo: a multi-turn conversation that starts harmless and builds on the"
    " target's own replies towards the goal; refused turns are taken back and rephrased"
    " (adaptive).",
    source=SOURCE + " (method of Russinovich et al. 2024)",
    licence=LICENCE,
    citation=CITATION,
    parameters=PARAMETERS,
    needs=NEEDS,
    adaptive=True,
    family="adaptive",
)
def _crescendo(arg: str | None = None) -> Crescendo:
    options = parse_options(NAME, arg, PARAMETERS, required=("attacker",))
    settings = {
        "turns": int_option(NAME, options, "turns", 10),
        "backtracks": int_option(NAME, options, "backtracks", 10),
    }
    spec = f"{NAME}:{arg}" if arg else NAME
    return Crescendo(spec, Common.parse(NAME, options, DEFAULT_QUERIES), settings)
