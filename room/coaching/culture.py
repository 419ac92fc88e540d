"""The coach's lines for the counterpart a side is facing: how they talk
(direct or high-context) and how they decide (hierarchy, consensus, one
person), as the side recorded it privately.

Each tip says when it applies (the stages it fits) and is shown only when
the side's reading calls for it: a direct counterpart gets no face-saving
lines, a counterpart whose negotiator decides alone no advice about bringing
in the bosses. All sentences are ours; the facts come from the method's
culture notes (low-context cultures discuss interests openly; high-context
ones expect subtlety and a way to save face; where hierarchy shapes who
speaks, bring the decision-makers in early).
"""

from __future__ import annotations

from dataclasses import dataclass

from negotiation.models import Deal

Stage = Deal.Stage
ALL_STAGES = frozenset(Stage.values)


@dataclass(frozen=True)
class CultureTip:
    key: str
    title: str
    advice: str
    say: str
    stages: frozenset[str] = ALL_STAGES


STYLE_TIPS: dict[str, tuple[CultureTip, ...]] = {
    "direct": (
        CultureTip(
            "direct-interests",
            "Put your interests on the table",
            "They expect you to say what matters and why; hinting reads as "
            "evasion. Be plain about needs, never about your walk-away.",
            "Here is what matters most to us, and why. What matters most to your side?",
            frozenset({Stage.SETUP, Stage.FIRST_MOVE, Stage.MIDGAME}),
        ),
        CultureTip(
            "direct-disagree",
            "How to disagree",
            "Say it straight and give your reason; they will take a clear "
            "objection better than a vague maybe.",
            "We don't agree on this one. Here is our reason; tell us yours.",
        ),
    ),
    "high_context": (
        CultureTip(
            "face-saving",
            "Leave room to save face",
            "Frame a hard point as a question you solve together, never as a "
            "verdict on their offer. Give them a way to move without being "
            "seen to back down.",
            "How could we both come at this without either side feeling pushed?",
        ),
        CultureTip(
            "soft-disagree",
            "How to disagree",
            "Acknowledge the shared intent first, then name the difference "
            "gently, ideally as a question. A blunt “no” in front of others "
            "can cost more than the point is worth.",
            "I think we want the same outcome, even if we see this part a "
            "little differently. Could we look at it from another angle?",
        ),
        CultureTip(
            "soft-decline",
            "Answer a trade with an alternative",
            "Rather than declining outright, counter with a version you could "
            "accept, so nobody's proposal is simply rejected.",
            "That is close. Would it also work if we adjusted the timing?",
            frozenset({Stage.MIDGAME, Stage.CLOSE}),
        ),
    ),
}

DECISION_TIPS: dict[str, tuple[CultureTip, ...]] = {
    "hierarchical": (
        CultureTip(
            "decision-makers-early",
            "Bring the decision-makers in early",
            "The person who signs may not be in the room. Ask who needs to "
            "agree and invite them before the terms harden, and mind the "
            "tone: seniority shapes who speaks first.",
            "Who else should see this before we settle it? We would value "
            "their view early rather than late.",
            frozenset({Stage.SETUP, Stage.FIRST_MOVE, Stage.MIDGAME}),
        ),
        CultureTip(
            "sign-off",
            "Make room for their sign-off",
            "Before asking them to confirm, check the signatory has seen the "
            "term sheet; offer a pause to take it upstairs rather than "
            "pressing for a yes today.",
            "Would it help to take this to your leadership first? We can pick "
            "it up again once they have had a look.",
            frozenset({Stage.CLOSE}),
        ),
    ),
    "consensus": (
        CultureTip(
            "consensus-time",
            "Give them time to bring their colleagues along",
            "Agreement is built inside their team, not at the table. Share a "
            "short written summary they can pass round, and expect answers "
            "between sessions rather than on the spot.",
            "Shall we send you a one-page summary to share with your team "
            "before we meet again?",
            frozenset({Stage.FIRST_MOVE, Stage.MIDGAME, Stage.CLOSE}),
        ),
    ),
    "individual": (
        CultureTip(
            "decide-here",
            "The person in the room decides",
            "Your counterpart can say yes on the spot: be clear about what "
            "you need today, and make sure the commitments are written down "
            "before you leave.",
            "If this package works for you, can we settle it now and write "
            "down who does what?",
            frozenset({Stage.MIDGAME, Stage.CLOSE}),
        ),
    ),
}


def culture_tips(style: str, decisions: str, stage: str) -> list[CultureTip]:
    """The tips a side's reading of the other side calls for, in this stage.
    Nothing recorded, nothing shown."""
    tips = [*STYLE_TIPS.get(style, ()), *DECISION_TIPS.get(decisions, ())]
    return [tip for tip in tips if stage in tip.stages]
