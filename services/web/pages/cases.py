"""Ärenden: the list of cases (initiatives and motions), a case with its commands, its timeline
across the services, the case as it was on a day, its verification and archive package."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.web.client import Refused, ServiceDown
from services.web.forms import CommandForm, Field
from services.web.site import Failure, Page
from services.web.words import WORDS, message

PAGE_SIZE = 25
DATE_HINT = "ÅÅÅÅ-MM-DD; tomt betyder i dag"
OUTCOMES = tuple(WORDS["outcome"].items())
CONCLUSIVE = tuple((k, v) for k, v in OUTCOMES if k in ("approved", "rejected", "considered_answered"))

SUBMIT = CommandForm(
    "submit", "Nytt ärende", "initiatives", "/initiatives", ("registrar", "case_officer"), (
        Field("kind", "Slag", "select", required=True, options=tuple(WORDS["kind"].items())),
        Field("title", "Rubrik", required=True),
        Field("text", "Text", "textarea", required=True),
        Field("proposal_clauses", "Att-satser", "lines", hint="En att-sats per rad"),
        Field("submitters", "Förslagsställare", "rows", required=True, columns=("name", "party"),
              hint="En per rad: namn; parti"),
        Field("submitted_on", "Inkom", "date", required=True),
        Field("addressed_to", "Ställt till", required=True, hint="t.ex. Regionala utvecklingsnämnden"),
    ), submit="Lämna in")

COMMANDS = (
    CommandForm("register", "Registrera i diariet", "initiatives", "/initiatives/{id}/register", ("registrar",), (
        Field("registered_on", "Registreringsdatum", "date", hint=DATE_HINT),), submit="Registrera"),
    CommandForm("refer_for_preparation", "Remittera för beredning", "initiatives", "/initiatives/{id}/referral",
                ("registrar",), (
        Field("preparers", "Beredningsansvariga", "rows", required=True, columns=("name", "title"),
              hint="En per rad: namn; titel"),
        Field("preparing_bodies", "Beredande organ", "lines",
              hint="En motion till fullmäktige: organen som lämnar förslag till beslut, i tur och ordning, ett per "
                   "rad (t.ex. Regionala utvecklingsnämnden, Regionstyrelsen); tomt när organet ärendet är ställt "
                   "till beslutar direkt"),
        Field("due_date", "Besvaras senast", "date", hint="En motion: ett år efter att den väcktes, om tomt"),
        Field("referred_on", "Remitterat", "date", hint=DATE_HINT),
    ), submit="Remittera"),
    CommandForm("draft_answer", "Svar (förslag till beslut)", "initiatives", "/initiatives/{id}/answer",
                ("case_officer",), (
        Field("summary", "Sammanfattning", "textarea", required=True),
        Field("proposed_outcome", "Föreslaget beslut", "select", required=True, options=CONCLUSIVE),
        Field("proposal", "Förslag till beslut", "textarea", required=True,
              hint="t.ex. Initiativärendet anses besvarat."),
        Field("assessed_results_and_consequences", "Bedömda resultat och konsekvenser", "textarea"),
        Field("resources_and_financing", "Resurser och finansiering", "textarea"),
        Field("gender_equality", "Jämställdhet", "textarea"),
        Field("basis_documents", "Beslutsunderlag", "rows", columns=("title", "reference"),
              hint="En per rad: titel; diarienummer eller adress"),
    ), submit="Spara svaret"),
    CommandForm("schedule_for_decision", "För upp för beslut", "initiatives", "/initiatives/{id}/schedule",
                ("secretary",), (
        Field("body", "Organ", required=True), Field("meeting", "Sammanträde", required=True),
        Field("meeting_date", "Sammanträdesdag", "date"),
    ), submit="För upp"),
    CommandForm("record_decision", "För in beslut", "initiatives", "/initiatives/{id}/decision", ("secretary",), (
        Field("outcome", "Beslut", "select", required=True, options=OUTCOMES),
        Field("paragraph", "Paragraf", hint="t.ex. § 22"), Field("text", "Beslutstext", "textarea", required=True),
        Field("decided_on", "Beslutsdag", "date", hint=DATE_HINT),
        Field("proposal_to", "Förslag till beslut till", hint="Organet som beslutar härnäst; tomt när organet "
                                                              "självt avgör ärendet"),
    ), submit="För in"),
    CommandForm("finalise", "Protokollet är justerat", "initiatives", "/initiatives/{id}/finalisation",
                ("secretary",), (Field("minutes_adjusted_on", "Justerat", "date", hint=DATE_HINT),),
                submit="Fastställ"),
    CommandForm("dispatch", "Expediera beslutet", "initiatives", "/initiatives/{id}/dispatch", ("registrar",), (
        Field("recipients", "Mottagare", "rows", required=True, columns=("name", "party", "title", "organisation"),
              hint="En per rad: namn; parti; titel; organisation"),
        Field("dispatched_on", "Expedierat", "date", hint=DATE_HINT),
    ), submit="Expediera"),
    CommandForm("close", "Avsluta ärendet", "initiatives", "/initiatives/{id}/closure", ("registrar",), (
        Field("closed_on", "Avslutat", "date", hint=DATE_HINT),), submit="Avsluta"),
    CommandForm("withdraw", "Återkalla", "initiatives", "/initiatives/{id}/withdrawal", ("registrar",), (
        Field("reason", "Skäl", "textarea", required=True), Field("withdrawn_on", "Återkallat", "date", hint=DATE_HINT),
    ), submit="Återkalla"),
)
BY_COMMAND = {form.command: form for form in COMMANDS}


def home(page: Page) -> Response:
    return page.redirect("/arenden")


def case_list(page: Page) -> Response:
    args = page.request.args
    filters = {name: args.get(name, "").strip() for name in ("q", "state", "kind", "diary")}
    overdue = args.get("overdue") == "true"
    cursor = args.get("cursor") or None
    if filters["q"]:
        found = page.services.get("initiatives", "/search", {"q": filters["q"], "limit": PAGE_SIZE, "cursor": cursor})
        return page.render("cases/list.html", filters=filters, overdue=overdue, hits=found["hits"], cases=None,
                           next_cursor=found["next"])
    listed = page.services.get("initiatives", "/initiatives", {
        "state": filters["state"], "kind": filters["kind"], "diary": filters["diary"],
        "overdue": "true" if overdue else None, "limit": PAGE_SIZE, "cursor": cursor, "order": "desc"})
    return page.render("cases/list.html", filters=filters, overdue=overdue, hits=None, cases=listed["initiatives"],
                       next_cursor=listed["next"])


def by_diary_number(page: Page) -> Response:
    """/arenden/dnr?dnr=RUN 2025-0001: the case with that diary number."""
    number = (page.request.args.get("dnr") or "").strip()
    found = page.services.get("initiatives", "/initiatives", {"diary_number": number})["initiatives"]
    return page.redirect(f"/arenden/{found[0]['id']}")


def new_case(page: Page, failure: Failure | None = None) -> Response:
    return page.render("form_page.html", form=SUBMIT, action="/arenden/nytt", failure=failure,
                       back=("/arenden", "Ärenden"), status=failure.status if failure else 200)


def submit_case(page: Page) -> Response:
    return page.form_command(SUBMIT, {}, lambda failure: new_case(page, failure),
                             lambda created: f"/arenden/{created['id']}", "Ärendet är inlämnat.")


def case_page(page: Page, case_id: UUID, failure: Failure | None = None) -> Response:
    as_of = (page.request.args.get("per") or "").strip()
    case, as_of_error = _case(page, case_id, as_of)
    typed_as_of, as_of = as_of, "" if as_of_error else as_of
    timeline = verification = None
    timeline_error = None
    if case.get("diary_number"):
        try:
            timeline = page.services.get("audit", f"/cases/{case['diary_number']}/timeline",
                                         {"as_of": as_of or None})["events"]
            if page.has_role("auditor"):
                verification = page.services.get("audit", f"/cases/{case['diary_number']}/verification")
        except ServiceDown as down:
            timeline_error = f"{down.service_name.capitalize()} svarar inte just nu; tidslinjen kan inte visas."
        except Refused as refused:
            timeline_error = str(refused.problem.get("detail") or "")
    forms = page.offered(COMMANDS, case.get("allowed_commands", ())) if not as_of else []
    return page.render("cases/case.html", status=failure.status if failure else 200, case=case, forms=forms,
                       failure=failure, timeline=timeline, timeline_error=timeline_error, as_of=as_of, typed_as_of=typed_as_of,
                       as_of_error=as_of_error, verification=verification,
                       changed=_changed_events(verification, timeline))


def case_command(page: Page, case_id: UUID, command: str) -> Response:
    return page.item_command(BY_COMMAND, command, case_id, case_page, f"/arenden/{case_id}")


def archive(page: Page, case_id: UUID) -> Response:
    """The case's archive package from the audit service, as a download."""
    case = page.services.get("initiatives", f"/initiatives/{case_id}")
    if not case.get("diary_number"):
        return page.site.problem_page(page, 404, "Ärendet har inget diarienummer",
                                      "Ett arkivpaket ordnas efter diarienummer; registrera ärendet först.")
    package = page.services.request("GET", "audit", f"/cases/{case['diary_number']}/archive")
    return page.respond(Response(package.content, content_type="application/zip", headers={
        "Content-Disposition": package.headers.get("Content-Disposition", "attachment")}))


def _case(page: Page, case_id: UUID, as_of: str) -> tuple[dict[str, Any], str | None]:
    """The case now, or as it was at the end of the day `as_of`; the service's 400 (not a date, or
    before the case existed) is shown beside the date control, with the case as it is now."""
    if as_of:
        try:
            return page.services.get("initiatives", f"/initiatives/{case_id}/history", {"as_of": as_of})["state"], None
        except Refused as refused:
            if refused.status != 400:
                raise
            errors = refused.problem.get("errors") or [{"message": refused.problem.get("detail", "")}]
            return page.services.get("initiatives", f"/initiatives/{case_id}"), message(str(errors[0]["message"]))
    return page.services.get("initiatives", f"/initiatives/{case_id}"), None


def _changed_events(verification: dict[str, Any] | None, timeline: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The first changed event of each broken chain, named as the timeline names it."""
    if not verification or verification.get("intact"):
        return []
    entries = {(e["aggregate_id"], e["aggregate_version"]): e for e in timeline or []}
    changed = []
    for chain in verification.get("aggregates", []):
        problem = chain.get("problem")
        if chain.get("intact") or not problem:
            continue
        entry = entries.get((chain["aggregate_id"], problem["version"]), {})
        changed.append({"service": chain.get("service"), "aggregate_id": chain["aggregate_id"],
                        "version": problem["version"], "problem": problem["problem"], "type": entry.get("type"),
                        "occurred_at": entry.get("occurred_at")})
    return changed


routes = [
    Rule("/", methods=["GET"], endpoint=home),
    Rule("/arenden", methods=["GET"], endpoint=case_list),
    Rule("/arenden/dnr", methods=["GET"], endpoint=by_diary_number),
    Rule("/arenden/nytt", methods=["GET"], endpoint=new_case),
    Rule("/arenden/nytt", methods=["POST"], endpoint=submit_case),
    Rule("/arenden/<uuid:case_id>", methods=["GET"], endpoint=case_page),
    Rule("/arenden/<uuid:case_id>/arkivpaket", methods=["GET"], endpoint=archive),
    Rule("/arenden/<uuid:case_id>/<command>", methods=["POST"], endpoint=case_command),
]
