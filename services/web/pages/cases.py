"""Ärenden: the list of cases (initiatives and motions), a case with its commands, its timeline
across the services, the case as it was on a day, its verification and archive package."""
from __future__ import annotations

import mimetypes
from dataclasses import replace
from typing import Any
from uuid import UUID

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.web.client import Refused, ServiceDown, SignedOut
from services.web.forms import CommandForm, Field
from services.web.site import Failure, Page
from services.web.words import WORDS, message, word

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

# Forms of every state (a document arriving late still belongs to the case): offered by role alone.
REGISTER_DOCUMENT = CommandForm(
    "register_document", "Registrera handling", "initiatives", "/initiatives/{id}/documents",
    ("registrar", "case_officer"), (
        Field("kind", "Slag av handling", "select", required=True, options=tuple(WORDS["document_kind"].items())),
        Field("direction", "Inkommande, utgående eller upprättad", "select", required=True,
              options=tuple(WORDS["direction"].items()),
              hint="En handläggare registrerar handlingar som upprättats här; registratorn alla"),
        Field("title", "Handlingens rubrik", required=True),
        Field("dated", "Daterad", "date", required=True, hint="Dagen den kom in, skickades eller upprättades"),
        Field("counterpart", "Avsändare eller mottagare", hint="Måste fyllas i för inkommande och utgående handlingar"),
        Field("file", "Fil", "file", hint="PDF, Word, Excel, OpenDocument, PNG, JPEG eller text; valfri"),
        Field("secret_under", "Sekretess enligt", hint="Bestämmelsen, t.ex. OSL 21 kap. 7 §; tomt om handlingen är "
                                                        "allmän och offentlig"),
    ), submit="Spara handlingen")
MARK_SECRET = CommandForm(
    "mark_secret", "Sekretessmarkering", "initiatives", "/initiatives/{id}/secrecy", ("registrar",), (
        Field("target", "Sekretessmarkera", "select", required=True),  # the options: the case's sections and documents
        Field("provision", "Bestämmelse", required=True, hint="Sekretess enligt, t.ex. OSL 21 kap. 7 §"),
        Field("reason", "Skäl för markeringen", "textarea"),
    ), submit="Markera")
LIFT_SECRECY = CommandForm(
    "lift_secrecy", "Häv sekretessmarkering", "initiatives", "/initiatives/{id}/secrecy/lifted", ("registrar",), (
        Field("target", "Markering att häva", "select", required=True),  # the options: the case's markings
        Field("reason", "Skäl för att häva", "textarea", required=True, hint="t.ex. Sekretessprövning: uppgiften kan lämnas ut"),
    ), submit="Häv markeringen")
SECRECY_FORMS = {form.command: form for form in (MARK_SECRET, LIFT_SECRECY)}
BASES = {"registrerat": "as_of", "gallande": "in_effect_on"}  # ?grund= of a day's view: as recorded, as in effect


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
    basis = page.request.args.get("grund") if page.request.args.get("grund") in BASES else "registrerat"
    case, as_of_error = _case(page, case_id, as_of, BASES[basis])
    typed_as_of, as_of = as_of, "" if as_of_error else as_of
    timeline = verification = None
    timeline_error = None
    if case.get("diary_number"):
        try:
            timeline = page.services.get("audit", f"/cases/{case['diary_number']}/timeline",
                                         {BASES[basis]: as_of or None})["events"]
            if page.has_role("auditor"):
                verification = page.services.get("audit", f"/cases/{case['diary_number']}/verification")
        except ServiceDown as down:
            timeline_error = f"{down.service_name.capitalize()} svarar inte just nu; tidslinjen kan inte visas."
        except Refused as refused:
            timeline_error = str(refused.problem.get("detail") or "")
    forms = page.offered(COMMANDS, case.get("allowed_commands", ())) if not as_of else []
    if not as_of:  # documents and secrecy in every state; a day's view is read only
        forms += page.offered([REGISTER_DOCUMENT, *_secrecy_forms(case)])
    return page.render("cases/case.html", status=failure.status if failure else 200, case=case, forms=forms,
                       failure=failure, timeline=timeline, timeline_error=timeline_error, as_of=as_of, typed_as_of=typed_as_of,
                       as_of_error=as_of_error, verification=verification, basis=basis,
                       changed=_changed_events(verification, timeline))


def _secrecy_forms(case: dict[str, Any]) -> list[CommandForm]:
    """Marking: a select of the answer's sections that hold text and the registered documents; lifting:
    a select of the case's markings. A form with nothing to choose is not offered."""
    answer = case.get("answer") or {}
    targets = [(f"answer.{name}", f"Svaret: {label}") for name, label in WORDS["answer_section"].items()
               if answer.get(name)]
    targets += [(f"document:{d['document_id']}", f"Handling: {_document_label(d)}") for d in case.get("documents") or []]
    names = dict(targets)
    markings = [(target, f"{names.get(target, target)} – {marking.get('provision')}")
                for target, marking in (case.get("secrecy") or {}).items()]
    return [_with_options(form, options) for form, options in ((MARK_SECRET, targets), (LIFT_SECRECY, markings))
            if options]


def _with_options(form: CommandForm, options: list[tuple[str, str]]) -> CommandForm:
    return replace(form, fields=tuple(replace(f, options=tuple(options)) if f.name == "target" else f
                                      for f in form.fields))


def _document_label(document: dict[str, Any]) -> str:
    title = document.get("title") or f"sekretess enligt {(document.get('redacted') or {}).get('provision', '')}"
    return f"{title} ({word('document_kind', document.get('kind'))}, {str(document.get('dated') or '')[:10]})"


def case_command(page: Page, case_id: UUID, command: str) -> Response:
    return page.item_command({**BY_COMMAND, **SECRECY_FORMS}, command, case_id, case_page, f"/arenden/{case_id}")


def register_document(page: Page, case_id: UUID) -> Response:
    """The document's file (when one is chosen) goes first to the service's POST /files, with its type;
    the document then names it by {sha256, filename}. The service's refusal of either (413 too large,
    415 not its type, 400 naming a field) is shown beside the fields; nothing is registered then."""
    form, values = REGISTER_DOCUMENT, page.request.form.to_dict()
    again = lambda failure: case_page(page, case_id, failure=failure)  # noqa: E731
    chosen = page.request.files.get("file")
    if not form.allowed_for(page.roles) or chosen is None or not chosen.filename:
        return page.form_command(form, {"id": case_id}, again, f"/arenden/{case_id}", "Handlingen är registrerad.")
    content = chosen.read()
    media_type = (chosen.mimetype if chosen.mimetype not in ("", "application/octet-stream")
                  else mimetypes.guess_type(chosen.filename)[0]) or "application/octet-stream"
    try:
        stored = page.services.request("POST", "initiatives", "/files", params={"filename": chosen.filename},
                                       data=content, headers={"Content-Type": media_type}).json()
    except SignedOut:
        raise
    except Refused as refused:
        return again(Failure(form.command, values, {"file": _file_errors(refused, media_type)}, [],
                             status=refused.status))
    return page.form_command(form, {"id": case_id}, again, f"/arenden/{case_id}", "Handlingen är registrerad.",
                             extra={"file": {"sha256": stored["sha256"], "filename": stored["filename"]}})


def _file_errors(refused: Refused, media_type: str) -> list[str]:
    """Why the service did not take the file, in Swedish, for the page to show beside the file field."""
    if refused.status == 415:
        return [f"Filen är inte av en typ som tas emot, eller innehållet är inte {word('media_type', media_type)}. "
                "Tillåtet: PDF, Word (DOCX), Excel (XLSX), OpenDocument (ODT, ODS), PNG, JPEG och text (UTF-8)."]
    if refused.status == 403:
        return ["Din roll får inte ladda upp filer här."]
    errors = refused.problem.get("errors") or []
    texts = {"body": "Filen är tom.", "filename": "Filnamnet går inte att använda: "}
    found = [texts["body"] if e.get("field") == "body" and refused.status == 400
             else texts["filename"] + message(str(e.get("message", ""))) if e.get("field") == "filename"
             else message(str(e.get("message", ""))) for e in errors]
    return found or [message(str(refused.problem.get("detail") or refused.problem.get("title") or ""))]


def document_file(page: Page, case_id: UUID, document_id: UUID) -> Response:
    """A document's file, streamed from the service with the user's token (the service checks its hash,
    and answers 403 to a role not cleared for a secret document: a page that says so)."""
    try:
        found = page.services.request("GET", "initiatives", f"/initiatives/{case_id}/documents/{document_id}/file",
                                      accept="*/*", stream=True)
    except Refused as refused:
        if refused.status != 403:
            raise
        return page.site.problem_page(page, 403, "Handlingen omfattas av sekretess",
                                      message(str(refused.problem.get("detail") or "")))
    headers = {name: found.headers[name] for name in ("Content-Disposition", "Content-Length", "ETag")
               if name in found.headers}
    # a file is never a page of this site: not sniffed as another type, and without this site's rights if opened
    headers.update({"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"})
    return page.respond(Response(found.iter_content(64 * 1024), content_type=found.headers.get("Content-Type"),
                                 headers=headers, direct_passthrough=True))


def archive(page: Page, case_id: UUID) -> Response:
    """The case's archive package from the audit service, as a download."""
    case = page.services.get("initiatives", f"/initiatives/{case_id}")
    if not case.get("diary_number"):
        return page.site.problem_page(page, 404, "Ärendet har inget diarienummer",
                                      "Ett arkivpaket ordnas efter diarienummer; registrera ärendet först.")
    package = page.services.request("GET", "audit", f"/cases/{case['diary_number']}/archive")
    return page.respond(Response(package.content, content_type="application/zip", headers={
        "Content-Disposition": package.headers.get("Content-Disposition", "attachment")}))


def _case(page: Page, case_id: UUID, as_of: str, basis: str = "as_of") -> tuple[dict[str, Any], str | None]:
    """The case now, or on the day `as_of`: as recorded by the end of it (basis "as_of") or as in effect
    on it ("in_effect_on", by the dates its events carry); the service's 400 (not a date, or before the
    case existed) is shown beside the date control, with the case as it is now."""
    if as_of:
        try:
            return page.services.get("initiatives", f"/initiatives/{case_id}/history", {basis: as_of})["state"], None
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
    Rule("/arenden/<uuid:case_id>/handlingar/<uuid:document_id>/fil", methods=["GET"], endpoint=document_file),
    Rule("/arenden/<uuid:case_id>/register_document", methods=["POST"], endpoint=register_document),
    Rule("/arenden/<uuid:case_id>/<command>", methods=["POST"], endpoint=case_command),
]
