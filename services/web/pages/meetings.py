"""Sammanträden: the bodies' meetings, newest first; a meeting with its föredragningslista,
närvaro and protokoll, and the secretary's commands as forms (those the meeting allows now)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable
from uuid import UUID

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.web.client import Refused
from services.web.forms import CommandForm, Field
from services.web.site import Failure, Page
from services.web.words import WORDS, message

PAGE_SIZE = 25
ALL_BODIES = 500  # the bodies a select offers: the service's largest page
DATE_HINT = "ÅÅÅÅ-MM-DD; tomt betyder i dag"
SECRETARY = ("secretary",)
OUTCOMES = tuple(WORDS["outcome"].items())
VOTE_WORDS = {word: value for value, word in WORDS["vote"].items()}
MEETING_STATES = ("scheduled", "convened", "open", "closed", "adjusted", "cancelled")


def with_options(form: CommandForm, name: str, options: Iterable[tuple[str, str]]) -> CommandForm:
    """The form with a select's choices from the page's data (a meeting's items, a body's members)."""
    fields = tuple(replace(each, options=tuple(options)) if each.name == name else each for each in form.fields)
    return replace(form, fields=fields)


SCHEDULE = CommandForm("schedule", "Nytt sammanträde", "meetings", "/meetings", SECRETARY, (
    Field("body_id", "Organ", "select", required=True),
    Field("title", "Rubrik", required=True, hint="t.ex. Regionala utvecklingsnämndens sammanträde 2025-11-12"),
    Field("starts_at", "Börjar", "datetime", required=True, hint="Dag och klockslag, svensk tid"),
    Field("place", "Plats", hint="t.ex. Regionens hus, Umeå"),
    Field("link", "Länk till digitalt möte", hint="https://…"),
), submit="Planera sammanträdet")

COMMANDS = (
    CommandForm("convene", "Kalla till sammanträdet", "meetings", "/meetings/{id}/convocation", SECRETARY, (
        Field("convened_on", "Kallelsen skickades", "date", hint=DATE_HINT),), submit="Kalla"),
    CommandForm("add_item", "Lägg till ärende", "meetings", "/meetings/{id}/agenda", SECRETARY, (
        Field("title", "Rubrik", required=True),
        Field("diary_number", "Diarienummer", hint="t.ex. RUN 2025-0042"),
        Field("goal_area", "Målområde", hint="RUS målområde, t.ex. Samverkan"),
    ), submit="Lägg till"),
    CommandForm("reorder_items", "Ändra ordningen", "meetings", "/meetings/{id}/agenda/order", SECRETARY, (
        Field("item_ids", "Ny ordning", "lines", required=True,
              hint="Punkternas id (står vid varje punkt i föredragningslistan), ett per rad, i den nya ordningen"),
    ), submit="Ändra ordningen"),
    CommandForm("withdraw_item", "Stryk ärende", "meetings", "/meetings/{id}/agenda/{item_id}/withdrawal", SECRETARY, (
        Field("item_id", "Ärende att stryka", "select", required=True, in_path=True),
        Field("reason", "Skäl till att ärendet stryks", "textarea", required=True),
    ), submit="Stryk"),
    CommandForm("record_attendance", "För närvaro", "meetings", "/meetings/{id}/attendance", SECRETARY, (
        Field("present", "Närvarande", "rows", required=True, columns=("name", "role", "serving_for"),
              hint="En per rad: namn; roll; för vem en ersättare tjänstgör. Rollen hämtas ur organets ledamöter "
                   "när de finns förda, t.ex. »Eva Ersättare;; Bo Ledamot«"),
    ), submit="Spara närvaron"),
    CommandForm("open", "Öppna sammanträdet", "meetings", "/meetings/{id}/opening", SECRETARY, submit="Öppna"),
    CommandForm("decide_item", "Besluta", "meetings", "/meetings/{id}/agenda/{item_id}/decision", SECRETARY, (
        Field("item_id", "Ärende att besluta", "select", required=True, in_path=True),
        Field("outcome", "Utfall", "select", required=True, options=OUTCOMES),
        Field("text", "Beslutstext", "textarea", required=True, hint="t.ex. Initiativärendet anses besvarat."),
        Field("proposal_to", "Förslag till beslut till", hint="Organet som beslutar härnäst, t.ex. Regionfullmäktige; "
                                                              "tomt när organet självt avgör ärendet"),
        Field("proposals", "Förslag och yrkanden", "rows", columns=("by", "by_member", "text"),
              values={"by_member": {"ledamot": True, "yrkande": True}},
              hint="En per rad: vem; »ledamot« för en ledamots yrkande, annars tomt; förslaget. Först förvaltningens "
                   "förslag, t.ex. »Regiondirektören;; Motionen anses besvarad.«"),
        Field("vote.yes_proposal", "Omröstning: ja-röst för förslag nr", "number",
              hint="t.ex. 1 (tomt: ingen omröstning)"),
        Field("vote.no_proposal", "Omröstning: nej-röst för förslag nr", "number", hint="t.ex. 2"),
        Field("vote.ballots", "Röster", "rows", columns=("member", "vote"), values={"vote": VOTE_WORDS},
              hint="En per rad: ledamot; ja, nej eller avstår"),
        Field("vote.casting_vote", "Ordförandens utslagsröst vid lika röstetal", "select",
              options=(("yes", "ja"), ("no", "nej"))),
        Field("reservations", "Reservationer", "rows", columns=("by", "party_group", "reason"),
              values={"party_group": {"parti": True, "partigrupp": True}},
              hint="En per rad: ledamot eller parti; »parti« för en partigrupps reservation, annars tomt; skäl "
                   "(skriftlig reservation, kan utelämnas), t.ex. »KD; parti; Vi ville bifalla.«"),
        Field("recused", "Deltog inte på grund av jäv", "lines", hint="En ledamot per rad"),
    ), submit="Besluta"),
    CommandForm("appoint_adjusters", "Utse justerare", "meetings", "/meetings/{id}/adjusters", SECRETARY, (
        Field("adjusters", "Utsedda justerare", "lines", required=True, hint="En per rad"),), submit="Utse"),
    CommandForm("close", "Avsluta sammanträdet", "meetings", "/meetings/{id}/closing", SECRETARY,
                submit="Avsluta sammanträdet"),
    CommandForm("sign_minutes", "Justera protokollet", "meetings", "/meetings/{id}/signatures", SECRETARY, (
        Field("adjuster", "Justerare som skriver under", "select", required=True),
        Field("signed_on", "Underskriftsdag", "date", hint=DATE_HINT),
    ), submit="Justera"),
    CommandForm("record_public_notice", "Anslå protokollet", "meetings", "/meetings/{id}/public-notice", SECRETARY, (
        Field("notice_on", "Anslaget den", "date", hint=DATE_HINT),), submit="Anslå"),
    CommandForm("cancel", "Ställ in sammanträdet", "meetings", "/meetings/{id}/cancellation", SECRETARY, (
        Field("reason", "Skäl till att sammanträdet ställs in", "textarea", required=True),), submit="Ställ in"),
)
BY_COMMAND = {form.command: form for form in COMMANDS}


def meeting_list(page: Page) -> Response:
    args = page.request.args
    filters = {name: args.get(name, "").strip() for name in ("body_id", "state", "from", "to")}
    filter_errors: dict[str, str] = {}
    try:
        listed = page.services.get("meetings", "/meetings", {
            **filters, "limit": PAGE_SIZE, "cursor": args.get("cursor") or None, "order": "desc"})
    except Refused as refused:
        if refused.status != 400:
            raise
        filter_errors = {str(e.get("field", "")).split(".")[-1]: message(str(e.get("message", "")))
                         for e in refused.problem.get("errors") or []}
        listed = {"meetings": [], "next": None}
    return page.render("meetings/list.html", status=400 if filter_errors else 200, meetings=listed["meetings"],
                       next_cursor=listed["next"], filters=filters, filter_errors=filter_errors,
                       bodies=bodies(page), states=MEETING_STATES)


def new_meeting(page: Page, failure: Failure | None = None) -> Response:
    form = with_options(SCHEDULE, "body_id", ((b["id"], b["name"]) for b in bodies(page)))
    return page.render("form_page.html", form=form, action="/sammantraden/nytt", failure=failure,
                       back=("/sammantraden", "Sammanträden"), status=failure.status if failure else 200)


def schedule_meeting(page: Page) -> Response:
    return page.form_command(SCHEDULE, {}, lambda failure: new_meeting(page, failure),
                             lambda meeting: f"/sammantraden/{meeting['id']}", "Sammanträdet är planerat.")


def meeting_page(page: Page, meeting_id: UUID, failure: Failure | None = None) -> Response:
    meeting = page.services.get("meetings", f"/meetings/{meeting_id}")
    forms = [fitted(form, meeting) for form in page.offered(COMMANDS, meeting.get("allowed_commands", ()))]
    return page.render("meetings/meeting.html", status=failure.status if failure else 200, meeting=meeting,
                       forms=forms, failure=failure)


def meeting_command(page: Page, meeting_id: UUID, command: str) -> Response:
    return page.item_command(BY_COMMAND, command, meeting_id, meeting_page, f"/sammantraden/{meeting_id}")


def fitted(form: CommandForm, meeting: dict[str, Any]) -> CommandForm:
    """A form's choices from the meeting: its items, those not yet decided, the adjusters yet to sign
    (the service still checks each; these only spare the secretary typing an id)."""
    decided = {p["item_id"] for p in meeting.get("paragraphs", ())}
    items = [(i["item_id"], f"{i['number']}. {i['title']}") for i in meeting.get("agenda", ())]
    if form.command == "withdraw_item":
        return with_options(form, "item_id", items)
    if form.command == "decide_item":
        return with_options(form, "item_id", (item for item in items if item[0] not in decided))
    if form.command == "sign_minutes":
        signed = meeting.get("signatures") or {}
        return with_options(form, "adjuster", ((a, a) for a in meeting.get("adjusters", ()) if a not in signed))
    return form


def minutes_pdf(page: Page, meeting_id: UUID) -> Response:
    """The protokoll as PDF, from the meetings service with the user's token (once the meeting is closed)."""
    return page.document("meetings", f"/meetings/{meeting_id}/minutes.pdf")


def extract_pdf(page: Page, meeting_id: UUID, number: int) -> Response:
    """A paragraph's protokollsutdrag as PDF (once the minutes are adjusted)."""
    return page.document("meetings", f"/meetings/{meeting_id}/paragraphs/{number}/extract.pdf")


def bodies(page: Page) -> list[dict[str, Any]]:
    """The bodies by name, for a select (one page of the service's largest)."""
    return page.services.get("meetings", "/bodies", {"limit": ALL_BODIES})["bodies"]


routes = [
    Rule("/sammantraden", methods=["GET"], endpoint=meeting_list),
    Rule("/sammantraden/nytt", methods=["GET"], endpoint=new_meeting),
    Rule("/sammantraden/nytt", methods=["POST"], endpoint=schedule_meeting),
    Rule("/sammantraden/<uuid:meeting_id>", methods=["GET"], endpoint=meeting_page),
    Rule("/sammantraden/<uuid:meeting_id>/protokoll.pdf", methods=["GET"], endpoint=minutes_pdf),
    Rule("/sammantraden/<uuid:meeting_id>/paragrafer/<int:number>/protokollsutdrag.pdf", methods=["GET"],
         endpoint=extract_pdf),
    Rule("/sammantraden/<uuid:meeting_id>/<command>", methods=["POST"], endpoint=meeting_command),
]
