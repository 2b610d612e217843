"""PAIR (Prompt Automatic Iterative Refinement; Chao et al. 2023, arXiv:2310.08419).

An attacker model writes a prompt for the goal; the target's reply and the judge's score go
back to the attacker, which writes an improved prompt, for ``iterations`` rounds in each of
``streams`` independent conversations (run round by round: round 1 of every stream, then
round 2, ...). The search stops at the first success or when a budget is spent.
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
    with_prompt,
)

NAME = "pair"
CITATION = (
    "Patrick Chao, Alexander Robey, Edgar Dobriban, Hamed Hassani, George J. Pappas, Eric Wong."
    " Jailbreaking Black Box Large Language Models in Twenty Queries. 2023. arXiv:2310.08419"
)
DEFAULT_QUERIES = 20
PARAMETERS = {
    **COMMON_PARAMETERS,
    "queries": f"stop after this many target queries (default {DEFAULT_QUERIES})",
    "iterations": "refinement rounds per stream (default 5)",
    "streams": "independent attacker conversations (default 1)",
}


class Pair(AdaptiveAttack):
    name = NAME

    async def search(self, session: Session) -> str:
        iterations = int(self.settings["iterations"])
        streams = int(self.settings["streams"])
        goal = session.goal_block()
        system = prompts.REFINE_SYSTEM.format(goal=goal)
        histories: list[list[tuple[str, str]]] = [[] for _ in range(streams)]
        pending = [prompts.FIRST_TRY.format(goal=goal) for _ in range(streams)]
        for _ in range(iterations):
            for s in range(streams):
                turns = [*histories[s], (pending[s], "")]
                reply = await session.ask_attacker(attacker_messages(system, turns))
                histories[s].append((pending[s], reply))
                prompt = parse_attacker_reply(reply)
                tried = await session.query(with_prompt(session.parts.sample, prompt))
                if tried.success:
                    return "success"
                pending[s] = prompts.FEEDBACK.format(
                    reply=session.reply_block(tried), score=tried.score, goal=goal
                )
        return "exhausted"


@registry.attacks.register(
    NAME,
    description="PAIR: an attacker model refines one prompt from the target's replies and a"
    " judge's scores until the judge finds harm or the budget is spent (adaptive).",
    source=SOURCE + " (method of Chao et al. 2023)",
    licence=LICENCE,
    citation=CITATION,
    parameters=PARAMETERS,
    needs=NEEDS,
    adaptive=True,
    family="adaptive",
)
def _pair(arg: str | None = None) -> Pair:
    options = parse_options(NAME, arg, PARAMETERS, required=("attacker",))
    settings = {
        "iterations": int_option(NAME, options, "iterations", 5),
        "streams": int_option(NAME, options, "streams", 1),
    }
    spec = f"{NAME}:{arg}" if arg else NAME
    return Pair(spec, Common.parse(NAME, options, DEFAULT_QUERIES), settings)
