"""TAP (Tree of Attacks with Pruning; Mehrotra et al. 2023, arXiv:2312.02119).

A tree of attacker conversations. At each of ``depth`` levels every leaf asks the attacker for
``branching`` new prompts (each told it is one variation of several); with pruning on, prompts
that no longer ask for the goal are dropped before they reach the target (phase 1), and after
the target's replies are scored only the ``width`` best leaves are kept (phase 2). The search
stops at the first success, when the tree is exhausted or when a budget is spent.

The on-topic check is an evaluator model when ``evaluator=TARGET`` is given (asked to answer
YES or NO), else a word-overlap test: at least half of the goal's content words (four
letters or more) must appear in the prompt.
"""

from __future__ import annotations

import re

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
    Tried,
    attacker_messages,
    bool_option,
    int_option,
    parse_attacker_reply,
    parse_options,
    with_prompt,
)
from thinksafe.judges.untrusted import delimit
from thinksafe.records import Message

NAME = "tap"
CITATION = (
    "Anay Mehrotra, Manolis Zampetakis, Paul Kassianik, Blaine Nelson, Hyrum Anderson, Yaron"
    " Singer, Amin Karbasi. Tree of Attacks: Jailbreaking Black-Box LLMs Automatically. 2023."
    " arXiv:2312.02119"
)
DEFAULT_QUERIES = 40
PARAMETERS = {
    **COMMON_PARAMETERS,
    "queries": f"stop after this many target queries (default {DEFAULT_QUERIES})",
    "width": "leaves kept after each level when pruning (default 4)",
    "depth": "levels of the tree (default 4)",
    "branching": "prompts each leaf asks the attacker for (default 2)",
    "prune": "on or off: drop off-topic prompts and keep the best `width` leaves (default on)",
    "evaluator": "target spec of the on-topic evaluator (default: a word-overlap test)",
}
_WORD = re.compile(r"[a-z]{4,}")
ON_TOPIC_SHARE = 0.5


def on_topic_by_words(goal: str, prompt: str) -> bool:
    """Whether ``prompt`` holds at least half of the goal's content words."""
    words = set(_WORD.findall(goal.lower()))
    if not words:
        return True
    found = set(_WORD.findall(prompt.lower()))
    return len(words & found) >= ON_TOPIC_SHARE * len(words)


class Tap(AdaptiveAttack):
    name = NAME

    @property
    def evaluator(self) -> str | None:
        value = self.settings.get("evaluator")
        return str(value) if value else None

    async def on_topic(self, session: Session, prompt: str) -> bool:
        if session.parts.evaluator is None:
            return on_topic_by_words(session.parts.sample.prompt, prompt)
        ask = prompts.ON_TOPIC_ASK.format(
            goal=session.goal_block(), prompt=delimit("PROMPT", prompt, session.token)
        )
        reply = await session.ask_evaluator(
            (Message("system", prompts.ON_TOPIC_SYSTEM), Message("user", ask))
        )
        return reply.strip().upper().startswith("YES")

    async def search(self, session: Session) -> str:
        width = int(self.settings["width"])
        depth = int(self.settings["depth"])
        branching = int(self.settings["branching"])
        prune = bool(self.settings["prune"])
        goal = session.goal_block()
        system = prompts.REFINE_SYSTEM.format(goal=goal)
        # A leaf: its attacker conversation so far and the user turn it sends next.
        leaves: list[tuple[list[tuple[str, str]], str]] = [
            ([], prompts.FIRST_TRY.format(goal=goal))
        ]
        for _ in range(depth):
            children: list[tuple[Tried, list[tuple[str, str]]]] = []
            for history, ask in leaves:
                for k in range(1, branching + 1):
                    turn = ask + prompts.BRANCH.format(k=k, n=branching)
                    reply = await session.ask_attacker(
                        attacker_messages(system, [*history, (turn, "")])
                    )
                    prompt = parse_attacker_reply(reply)
                    if prune and not await self.on_topic(session, prompt):
                        continue
                    tried = await session.query(with_prompt(session.parts.sample, prompt))
                    if tried.success:
                        return "success"
                    children.append((tried, [*history, (turn, reply)]))
            if prune:
                # Stable: among equal scores the earlier child is kept.
                children = sorted(children, key=lambda c: -c[0].score)[:width]
            if not children:
                return "exhausted"
            leaves = [
                (
                    history,
                    prompts.FEEDBACK.format(
                        reply=session.reply_block(tried), score=tried.score, goal=goal
                    ),
                )
                for tried, history in children
            ]
        return "exhausted"


@registry.attacks.register(
    NAME,
    description="TAP: a tree of attacker prompts, branched from the target's replies, with"
    " off-topic and low-scoring branches pruned, until a judge finds harm or the budget is"
    " spent (adaptive).",
    source=SOURCE + " (method of Mehrotra et al. 2023)",
    licence=LICENCE,
    citation=CITATION,
    parameters=PARAMETERS,
    needs=[*NEEDS, "evaluator model (optional)"],
    adaptive=True,
    family="adaptive",
)
def _tap(arg: str | None = None) -> Tap:
    options = parse_options(NAME, arg, PARAMETERS, required=("attacker",))
    settings = {
        "width": int_option(NAME, options, "width", 4),
        "depth": int_option(NAME, options, "depth", 4),
        "branching": int_option(NAME, options, "branching", 2),
        "prune": bool_option(NAME, options, "prune", True),
        "evaluator": options.get("evaluator"),
    }
    spec = f"{NAME}:{arg}" if arg else NAME
    return Tap(spec, Common.parse(NAME, options, DEFAULT_QUERIES), settings)
