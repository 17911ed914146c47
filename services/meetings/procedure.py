"""What the minutes record per paragraph, and the rules of procedure they are checked against.

Who serves: the members present (chair, vice chair, members) and the substitutes
serving for named absent members (tjänstgörande ersättare). A co-opted member or a
substitute not serving attends without a vote. On an item, a member with a conflict
of interest (jäv) does not take part. The body decides only with a quorum: more than
half of its members on the day take part (KL 5:57, 6:27). When a vote is called, each
member taking part votes yes, no or abstains; a tie is settled by the chair's casting
vote (KL 5:58). Only a member who took part in the decision may reserve against it
(KL 4:25): one who voted for the losing proposal, or, without a vote, any member who
took part.

When the body's membership on the day is not on record, attendance is taken as
given: names are checked against the attendance, but no quorum can be computed.
"""
from __future__ import annotations

from typing import Any, Sequence

from shared.errors import InvalidRequest, RuleBroken

ORDINARY_ROLES = ("chair", "vice_chair", "member")
# A role typed in Swedish (the web form's attendance) is recorded as the membership's word.
SWEDISH_ROLES = {"ordförande": "chair", "vice ordförande": "vice_chair", "ledamot": "member",
                 "ersättare": "substitute", "adjungerad": "co_opted"}
PRESIDING_ROLES = ("chair", "vice_chair")
VOTES = ("yes", "no", "abstain")


def key(name: str | None) -> str:
    return (name or "").strip().casefold()


def attendance_against(present: Sequence[dict[str, Any]], members: Sequence[dict[str, Any]],
                       body: str, day: Any) -> tuple[list[dict[str, Any]], int | None]:
    """The attendance as recorded (each with role, party, serving_for) and the body's seats that day."""
    membership = {key(m["name"]): m for m in members}
    attendees: list[dict[str, Any]] = []
    for number, attendee in enumerate(present):
        field = f"present.{number}"
        if any(key(other["name"]) == key(attendee["name"]) for other in attendees):
            raise InvalidRequest.for_field(f"{field}.name", f"{attendee['name']} is listed twice")
        member = membership.get(key(attendee["name"]))
        if membership and member is None:
            raise InvalidRequest.for_field(f"{field}.name", f"{attendee['name']} is not a member or substitute of "
                                                            f"{body} on {day}")
        typed = attendee.get("role")
        role = member["role"] if member else SWEDISH_ROLES.get(key(typed), typed)
        party = (member or {}).get("party") or attendee.get("party")
        attendees.append({"name": member["name"] if member else attendee["name"], "role": role, "party": party,
                          "serving_for": spelt_as_member(attendee.get("serving_for"), membership)})
    for number, attendee in enumerate(attendees):
        if attendee["serving_for"] is not None:
            _check_serving(attendee, f"present.{number}.serving_for", attendees, membership, body)
    seats = len({key(m["name"]) for m in members if m["role"] in ORDINARY_ROLES}) if membership else None
    return attendees, seats


def spelt_as_member(name: str | None, membership: dict[str, dict[str, Any]]) -> str | None:
    return (membership.get(key(name)) or {}).get("name", name) if name else None


def _check_serving(attendee: dict[str, Any], field: str, attendees: list[dict[str, Any]],
                   membership: dict[str, dict[str, Any]], body: str) -> None:
    absent = attendee["serving_for"]
    if membership and attendee["role"] != "substitute":
        raise InvalidRequest.for_field(field, f"{attendee['name']} is a {attendee['role']}, not a substitute: "
                                              "only a substitute serves for a member")
    if membership and (membership.get(key(absent)) or {}).get("role") not in ORDINARY_ROLES:
        raise InvalidRequest.for_field(field, f"{absent} is not a member of {body} that day")
    if any(key(other["name"]) == key(absent) for other in attendees):
        raise InvalidRequest.for_field(field, f"{absent} is present: a substitute serves only for an absent member")
    if sum(1 for other in attendees if key(other["serving_for"]) == key(absent)) > 1:
        raise InvalidRequest.for_field(field, f"{absent} has one substitute serving, not more")


def serving(attendance: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attendees with a vote: members present and substitutes serving for absent ones."""
    return [a for a in attendance
            if a.get("serving_for") or (a.get("role") not in ("substitute", "co_opted"))]


def check_paragraph(
    *, attendance: Sequence[dict[str, Any]], seats: int | None, body: str, proposals: Sequence[dict[str, Any]],
    vote: dict[str, Any] | None, reservations: Sequence[dict[str, Any]], recused: Sequence[str],
) -> dict[str, Any]:
    """Checks what the paragraph records against the attendance; returns it as the minutes record it: each
    name as the attendance spells it, the vote with its count and result."""
    present = {key(a["name"]): a for a in attendance}
    for number, name in enumerate(recused):
        if key(name) not in present:
            raise InvalidRequest.for_field(f"recused.{number}", f"{name} is not present, so cannot be recorded as "
                                                                "not taking part (jäv)")
    taking_part = [a for a in serving(attendance) if key(a["name"]) not in {key(n) for n in recused}]
    if seats is not None and len(taking_part) * 2 <= seats:
        raise RuleBroken("quorum", f"{body} has no quorum on this item: {len(taking_part)} of its {seats} members "
                                   f"take part, and more than half ({seats // 2 + 1}) must")
    for number, proposal in enumerate(proposals):
        if proposal.get("by_member") and key(proposal["by"]) not in {key(a["name"]) for a in taking_part}:
            raise InvalidRequest.for_field(f"proposals.{number}.by", f"{proposal['by']} is not a member taking part "
                                                                     "in this item, so cannot put a proposal")
    counted = _counted(vote, proposals, taking_part) if vote is not None else None
    _check_reservations(reservations, counted, taking_part, attendance)

    def spelt(name: str) -> str:
        return present[key(name)]["name"] if key(name) in present else name

    if counted is not None:
        counted["ballots"] = [{**ballot, "member": spelt(ballot["member"])} for ballot in counted["ballots"]]
    return {"vote": counted, "recused": [spelt(name) for name in recused],
            "reservations": [r if r.get("party_group") else {**r, "by": spelt(r["by"])} for r in reservations],
            "proposals": [{**p, "by": spelt(p["by"])} if p.get("by_member") else dict(p) for p in proposals]}


def _counted(vote: dict[str, Any], proposals: Sequence[dict[str, Any]],
             taking_part: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if len(proposals) < 2:
        raise InvalidRequest.for_field("vote", "a vote is between two proposals: put them in `proposals` first")
    for side in ("yes_proposal", "no_proposal"):
        if not 1 <= vote[side] <= len(proposals):
            raise InvalidRequest.for_field(f"vote.{side}", f"no proposal {vote[side]} (1 to {len(proposals)})")
    if vote["yes_proposal"] == vote["no_proposal"]:
        raise InvalidRequest.for_field("vote.no_proposal", "the vote is between two different proposals")
    voters = {key(a["name"]): a for a in taking_part}
    cast: dict[str, str] = {}
    for number, ballot in enumerate(vote["ballots"]):
        if key(ballot["member"]) not in voters:
            raise InvalidRequest.for_field(f"vote.ballots.{number}.member", f"{ballot['member']} is not a member "
                                           "taking part in this item (present and serving, without jäv): only they vote")
        if key(ballot["member"]) in cast:
            raise InvalidRequest.for_field(f"vote.ballots.{number}.member", f"{ballot['member']} has voted already")
        cast[key(ballot["member"])] = ballot["vote"]
    missing = [a["name"] for k, a in voters.items() if k not in cast]
    if missing:
        raise InvalidRequest.for_field("vote.ballots", f"every member taking part votes yes, no or abstains; "
                                                       f"missing: {', '.join(missing)}")
    yes, no = list(cast.values()).count("yes"), list(cast.values()).count("no")
    casting = vote.get("casting_vote")
    if yes == no:
        casting = _casting_vote(casting, cast, taking_part, yes)
    elif casting is not None:
        raise InvalidRequest.for_field("vote.casting_vote", f"the vote is not tied ({yes}–{no}): no casting vote")
    return {**vote, "casting_vote": casting, "yes": yes, "no": no, "abstain": list(cast.values()).count("abstain"),
            "result": casting if yes == no else ("yes" if yes > no else "no")}


def _casting_vote(casting: str | None, cast: dict[str, str], taking_part: Sequence[dict[str, Any]],
                  tied: int) -> str:
    presiding = next((a for role in PRESIDING_ROLES for a in taking_part if a.get("role") == role), None)
    if casting is None:
        raise RuleBroken("casting-vote", f"the vote is tied {tied}–{tied}: the chair's casting vote "
                                         "(vote.casting_vote, yes or no) decides")
    if presiding is None:
        raise RuleBroken("casting-vote", "the vote is tied and no chair or vice chair takes part to cast the "
                                         "deciding vote")
    chair_voted = cast.get(key(presiding["name"]))
    if chair_voted in ("yes", "no") and chair_voted != casting:
        raise InvalidRequest.for_field("vote.casting_vote", f"the chair, {presiding['name']}, voted {chair_voted}: "
                                                            "the casting vote follows the chair's own vote")
    return casting


def _check_reservations(reservations: Sequence[dict[str, Any]], vote: dict[str, Any] | None,
                        taking_part: Sequence[dict[str, Any]], attendance: Sequence[dict[str, Any]]) -> None:
    voters = {key(a["name"]): a for a in taking_part}
    ballots = {key(b["member"]): b["vote"] for b in (vote or {}).get("ballots", [])}
    losing = None if vote is None else ("no" if vote["result"] == "yes" else "yes")
    for number, reservation in enumerate(reservations):
        field = f"reservations.{number}.by"
        if reservation.get("party_group"):
            group = [k for k, a in voters.items() if key(a.get("party")) == key(reservation["by"])]
            if not group:
                raise InvalidRequest.for_field(field, f"no member of {reservation['by']} takes part in this item")
            reserving = group
        else:
            if key(reservation["by"]) not in voters:
                why = ("present but did not take part in the decision" if key(reservation["by"]) in
                       {key(a["name"]) for a in attendance} else "not a member taking part in this item")
                raise InvalidRequest.for_field(field, f"{reservation['by']} is {why}: only a member who took part "
                                                      "in the decision may reserve against it (KL 4:25)")
            reserving = [key(reservation["by"])]
        if losing is not None:
            for member in reserving:
                if ballots[member] != losing:
                    raise RuleBroken("reservation", f"{voters[member]['name']} voted {ballots[member]}: only a member "
                                                    "who voted against the decision may reserve against it")
