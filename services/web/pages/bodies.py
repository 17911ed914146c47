"""Organ: the bodies (nämnder, fullmäktige, samverkansråd, grupper) and who sat on one on a day;
the secretary establishes bodies and keeps their members."""
from __future__ import annotations

from uuid import UUID

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.web.client import Refused
from services.web.forms import CommandForm, Field
from services.web.pages.meetings import PAGE_SIZE, SECRETARY, with_options
from services.web.site import Failure, Page
from services.web.words import WORDS, word
from shared import clock

ESTABLISH = CommandForm("establish", "Inrätta organ", "meetings", "/bodies", SECRETARY, (
    Field("name", "Namn", required=True, hint="t.ex. Regionala samverkansrådet"),
    Field("kind", "Typ av organ", "select", required=True, options=tuple(WORDS["body_kind"].items())),
    Field("convener", "Sammankallande", required=True, hint="t.ex. Region Västernorrland"),
    Field("format", "Mötesform", "select", required=True, options=tuple(WORDS["format"].items())),
    Field("cadence", "Mötesfrekvens", hint="t.ex. digitalt ca 1 gång/månad, 1 internat/år"),
    Field("purpose", "Beskrivning och syfte", "textarea"),
), submit="Inrätta")

COMMANDS = (
    CommandForm("add_member", "Ny ledamot", "meetings", "/bodies/{id}/members", SECRETARY, (
        Field("name", "Namn", required=True, hint="En person eller en organisation"),
        Field("is_organisation", "Är en organisation", "checkbox"),
        Field("organisation", "Företräder", hint="Den organisation en person företräder, t.ex. Umeå kommun"),
        Field("party", "Parti"),
        Field("role", "Roll", "select", required=True, options=tuple(WORDS["member_role"].items())),
        Field("side", "Sida", "select", options=tuple(WORDS["side"].items())),
        Field("from_date", "Från och med", "date", required=True),
    ), submit="Lägg till ledamot"),
    CommandForm("end_membership", "Avsluta ett uppdrag", "meetings", "/bodies/{id}/members/{membership_id}/end",
                SECRETARY, (
        Field("membership_id", "Ledamot", "select", required=True, in_path=True),
        Field("to_date", "Till och med", "date", required=True, hint="Sista dagen i organet"),
    ), submit="Avsluta uppdraget"),
)
BY_COMMAND = {form.command: form for form in COMMANDS}


def body_list(page: Page, failure: Failure | None = None) -> Response:
    kind = page.request.args.get("kind", "").strip()
    listed = page.services.get("meetings", "/bodies", {
        "kind": kind, "limit": PAGE_SIZE, "cursor": page.request.args.get("cursor") or None})
    return page.render("meetings/bodies.html", status=failure.status if failure else 200, bodies=listed["bodies"],
                       next_cursor=listed["next"], kind=kind, kinds=tuple(WORDS["body_kind"]),
                       form=ESTABLISH if ESTABLISH.allowed_for(page.roles) else None, failure=failure)


def establish_body(page: Page) -> Response:
    return page.form_command(ESTABLISH, {}, lambda failure: body_list(page, failure),
                             lambda body: f"/organ/{body['id']}", "Organet är inrättat.")


def body_page(page: Page, body_id: UUID, failure: Failure | None = None) -> Response:
    """The body, and its members on the day asked for (today unless `per`)."""
    per = (page.request.args.get("per") or "").strip()
    today = clock.today().isoformat()
    body = page.services.get("meetings", f"/bodies/{body_id}")  # every membership: the open ones can end
    per_error = None
    try:
        on = page.services.get("meetings", f"/bodies/{body_id}", {"on": per or today})
    except Refused as refused:
        if refused.status != 400:
            raise
        per_error = "Ange ett datum som ÅÅÅÅ-MM-DD."
        on = page.services.get("meetings", f"/bodies/{body_id}", {"on": today})
    open_memberships = [
        (m["membership_id"], f"{m['name']} ({word('member_role', m['role'])}, från {m['from_date']})")
        for m in body["memberships"] if not m.get("to_date")]
    forms = [with_options(form, "membership_id", open_memberships) if form.command == "end_membership" else form
             for form in page.offered(COMMANDS)]
    return page.render("meetings/body.html", status=failure.status if failure else 200, body=body,
                       members=on["memberships"], day=today if per_error else (per or today), per=per,
                       per_error=per_error, forms=forms, failure=failure)


def body_command(page: Page, body_id: UUID, command: str) -> Response:
    return page.item_command(BY_COMMAND, command, body_id, body_page, f"/organ/{body_id}")

routes = [
    Rule("/organ", methods=["GET"], endpoint=body_list),
    Rule("/organ", methods=["POST"], endpoint=establish_body),
    Rule("/organ/<uuid:body_id>", methods=["GET"], endpoint=body_page),
    Rule("/organ/<uuid:body_id>/<command>", methods=["POST"], endpoint=body_command),
]
