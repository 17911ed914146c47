"""The council's procedure that two services check: which body may decide a case, and how.

A motion to regionfullmäktige is prepared by bodies in turn (regionala
utvecklingsnämnden, then regionstyrelsen): each decides a *proposal* to the next in
its own minutes, and only the body the case is addressed to concludes it (KL 5:35).
A case with no preparing bodies, such as an initiative raised in a committee, keeps
one level: the body it is addressed to decides it. The initiatives service checks
this when a decision reaches the case; the meetings service checks the same rule
before its minutes record the paragraph, so the secretary hears of it at once.
"""
from __future__ import annotations

from typing import Any, Sequence

from shared.errors import InvalidRequest, RuleBroken

CONCLUSIVE = ("approved", "rejected", "considered_answered")


def same_body(first: str | None, second: str | None) -> bool:
    return (first or "").strip().casefold() == (second or "").strip().casefold()


def check_decision_level(
    *, body: str, outcome: str, proposal_to: str | None, addressed_to: str,
    preparing_bodies: Sequence[str], proposals: Sequence[dict[str, Any]],
) -> None:
    """Refuses a decision the procedure does not allow; `proposals` are those already decided ({body, …}).

    A case with no preparing bodies keeps one level: the body it is put before decides it, and
    proposes to no one."""
    if not preparing_bodies and proposal_to is None:
        return
    handled_by = [*preparing_bodies, addressed_to]
    if not any(same_body(body, handler) for handler in handled_by):
        raise RuleBroken("referred-bodies", f"the case was not referred to {body}: it is addressed to "
                         f"{addressed_to}" + (f" and prepared by {', '.join(preparing_bodies)}" if preparing_bodies
                                              else ""))
    if proposal_to is None:
        if outcome in CONCLUSIVE:
            _check_concluding(body, addressed_to, preparing_bodies, proposals)
        return
    if outcome not in CONCLUSIVE:
        raise InvalidRequest.for_field(
            "outcome", f"a proposal to {proposal_to} proposes {', '.join(CONCLUSIVE)}; {outcome} is a decision of "
                       f"{body}'s own (decide it without proposal_to)")
    position = next(n for n, handler in enumerate(handled_by) if same_body(body, handler))
    if position == len(handled_by) - 1:
        raise RuleBroken("two-levels", f"{body} is the body the case is addressed to: it concludes the case "
                         "and proposes to no one")
    following = handled_by[position + 1]
    if not same_body(proposal_to, following):
        raise InvalidRequest.for_field("proposal_to", f"{body} proposes to {following}, the body that handles the "
                                                      "case after it")
    if any(same_body(body, proposal["body"]) for proposal in proposals):
        raise RuleBroken("two-levels", f"{body} has proposed already in this round of preparation (a referral "
                                       "back starts a new one)")
    _check_earlier_proposals(body, preparing_bodies[:position], proposals)


def _check_concluding(body: str, addressed_to: str, preparing_bodies: Sequence[str],
                      proposals: Sequence[dict[str, Any]]) -> None:
    if not same_body(body, addressed_to):
        raise RuleBroken("two-levels", f"only {addressed_to}, to which the case is addressed, concludes it; "
                         f"{body} prepares it and decides a proposal (proposal_to)")
    _check_earlier_proposals(body, preparing_bodies, proposals)


def _check_earlier_proposals(body: str, earlier: Sequence[str], proposals: Sequence[dict[str, Any]]) -> None:
    missing = [preparer for preparer in earlier
               if not any(same_body(preparer, proposal["body"]) for proposal in proposals)]
    if missing:
        raise RuleBroken("two-levels", f"the case is still being prepared: {', '.join(missing)} has not decided its "
                         f"proposal, so {body} cannot decide on it yet")


def standing(proposals: Sequence[dict[str, Any]]) -> str | None:
    """Where a proposed case stands: 'proposed by X 2021-11-15 § 45, awaiting Y'."""
    if not proposals:
        return None
    last = proposals[-1]
    paragraph = f" {last['paragraph']}" if last.get("paragraph") else ""
    return f"proposed by {last['body']} {last['decided_on']}{paragraph}, awaiting {last['proposal_to']}"
