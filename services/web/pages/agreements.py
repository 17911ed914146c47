"""Avsiktsförklaringar och överenskommelser: letters of intent with their follow-ups and interim
reports, collaboration agreements with each party's signature, their consultations (remisser)
and reviews with the evaluations those planned. The strategist's commands are forms.

Both live in the letters of intent service. A letter shows the forms of its `allowed_commands`;
an agreement has no states, so its forms are the strategist's and the service answers each.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.web.client import Refused, ServiceDown
from services.web.forms import CommandForm, Field
from services.web.site import Failure, Page
from services.web.words import WORDS

PAGE_SIZE = 25
STRATEGISTS = ("strategist",)
SERVICE = "letters_of_intent"
DATE_HINT = "ÅÅÅÅ-MM-DD"

# --- letters of intent ----------------------------------------------------------

NEW_LETTER = CommandForm(
    "sign_letter_of_intent", "Ny avsiktsförklaring", SERVICE, "/letters", STRATEGISTS, (
        Field("title", "Rubrik", required=True, hint="t.ex. Avsiktsförklaring om samverkan med Samforma"),
        Field("counterparts", "Motparter", "rows", required=True, columns=("name", "description"),
              hint="En per rad: namn; beskrivning"),
        Field("purpose", "Syfte", "textarea", required=True),
        Field("areas", "Samverkansområden", "lines", hint="Ett område per rad"),
        Field("responsible_officials", "Ansvariga tjänstepersoner", "rows", columns=("name", "title"),
              hint="En per rad: namn; titel"),
        Field("signed_on", "Undertecknad", "date", required=True, hint=DATE_HINT),
        Field("review_on", "Omprövas", "date", hint="ÅÅÅÅ-MM-DD, efter undertecknandet"),
        Field("diary_number", "Diarienummer", hint="t.ex. RUN 2024-0012"),
    ), submit="Spara avsiktsförklaringen")

STATUS_FIELDS = (Field("reason", "Skäl", "textarea", required=True),
                 Field("on", "Datum", "date", required=True, hint=DATE_HINT))

LETTER_COMMANDS = (
    CommandForm("add_follow_up", "Lägg till uppföljning", SERVICE, "/letters/{id}/follow-ups", STRATEGISTS, (
        Field("kind", "Slag", "select", required=True, options=tuple(WORDS["follow_up_kind"].items())),
        Field("on", "Datum", "date", required=True, hint=DATE_HINT),
        Field("text", "Vad hände", "textarea", required=True),
        Field("involved", "Berörda", "lines", hint="En person eller organisation per rad"),
        Field("diary_number", "Ärende", hint="Diarienumret på ett ärende uppföljningen gäller, om något"),
    ), submit="Lägg till"),
    CommandForm("compile_interim_report", "Sammanställ delrapport", SERVICE, "/letters/{id}/reports",
                STRATEGISTS, (
        Field("title", "Rubrik", required=True, hint="t.ex. Delrapport 2025 (Stratsys)"),
        Field("period_from", "Perioden från", "date", required=True, hint=DATE_HINT),
        Field("period_to", "Perioden till", "date", required=True, hint="ÅÅÅÅ-MM-DD, senast i dag"),
    ), submit="Sammanställ"),
    CommandForm("pause", "Gör samarbetet vilande", SERVICE, "/letters/{id}/pause", STRATEGISTS, STATUS_FIELDS,
                submit="Gör vilande"),
    CommandForm("resume", "Återuppta samarbetet", SERVICE, "/letters/{id}/resumption", STRATEGISTS, STATUS_FIELDS,
                submit="Återuppta"),
    CommandForm("renew", "Förnya avsiktsförklaringen", SERVICE, "/letters/{id}/renewal", STRATEGISTS, (
        *STATUS_FIELDS, Field("review_on", "Ny omprövning", "date", required=True, hint="ÅÅÅÅ-MM-DD, efter förnyelsen"),
    ), submit="Förnya"),
    CommandForm("terminate", "Avsluta avsiktsförklaringen", SERVICE, "/letters/{id}/termination", STRATEGISTS,
                STATUS_FIELDS, submit="Avsluta"),
)
LETTER_FORMS = {form.command: form for form in LETTER_COMMANDS}

# --- collaboration agreements ---------------------------------------------------

NEW_AGREEMENT = CommandForm(
    "draft_agreement", "Ny samverkansöverenskommelse", SERVICE, "/agreements", STRATEGISTS, (
        Field("title", "Rubrik", required=True),
        Field("summary", "Sammanfattning", "textarea", required=True),
        Field("diary_number", "Diarienummer", required=True, hint="t.ex. KS 2022-0092-106"),
        Field("period_from", "Gäller från", "date", required=True, hint=DATE_HINT),
        Field("period_to", "Gäller till", "date", required=True, hint=DATE_HINT),
        Field("parties", "Parter", "lines", required=True, hint="En part per rad, t.ex. Lycksele kommun"),
        Field("required_parties", "Parter vars underskrift krävs", "lines",
              hint="En per rad; tomt betyder alla parter"),
    ), submit="Spara överenskommelsen")

SIGN = CommandForm("sign", "För in en underskrift", SERVICE, "/agreements/{id}/signatures", STRATEGISTS, (
    Field("party", "Part", "select", required=True, hint="De parter som inte har skrivit under"),
    Field("signed_by", "Undertecknad av", required=True, hint="t.ex. Kommunstyrelsens ordförande"),
    Field("signed_on", "Datum", "date", required=True, hint=DATE_HINT),
    Field("decided_by", "Beslutat av", hint="t.ex. Kommunfullmäktige"),
), submit="För in underskriften")
OPEN_CONSULTATION = CommandForm(
    "open_consultation", "Skicka på remiss", SERVICE, "/agreements/{id}/consultations", STRATEGISTS, (
        Field("title", "Rubrik", required=True, hint="t.ex. Remiss: Överenskommelse om samverkan 2023–2026"),
        Field("recipients", "Remissinstanser", "lines", hint="En part per rad; tomt betyder alla parter"),
        Field("reply_by", "Svar senast", "date", required=True, hint=DATE_HINT),
        Field("diary_number", "Diarienummer", required=True, hint="Svaren märks med det, t.ex. RUN 374-2021"),
    ), submit="Skicka på remiss")
RECORD_REPLY = CommandForm(
    "record_reply", "För in remissvar", SERVICE, "/agreements/{id}/consultations/{consultation_id}/replies",
    STRATEGISTS, (
        Field("consultation_id", "Remiss", "select", required=True, in_path=True),
        Field("party", "Part", "select", required=True),
        Field("received_on", "Inkom", "date", required=True, hint=DATE_HINT),
        Field("diary_number", "Diarienummer på svaret", required=True, hint="Remissens diarienummer"),
        Field("summary", "Sammanfattning av svaret", "textarea"),
    ), submit="För in svaret")
SCHEDULE_REVIEW = CommandForm(
    "schedule_review", "Planera en prövning", SERVICE, "/agreements/{id}/reviews", STRATEGISTS, (
        Field("kind", "Slag", "select", required=True,
              options=tuple((k, WORDS["review_kind"][k]) for k in ("mid_term", "relevance"))),
        Field("title", "Rubrik", required=True, hint="t.ex. Aktualitetsprövning 2024"),
        Field("due_on", "Infaller", "date", required=True, hint="ÅÅÅÅ-MM-DD, inom överenskommelsens period"),
    ), submit="Planera")
AGREEMENT_FORMS = {form.command: form for form in (SIGN, OPEN_CONSULTATION, RECORD_REPLY, SCHEDULE_REVIEW)}


# --- letters ---------------------------------------------------------------------


def letter_list(page: Page) -> Response:
    filters = {name: page.request.args.get(name, "").strip() for name in ("state", "party")}
    listed = page.services.get(SERVICE, "/letters", {**filters, "limit": PAGE_SIZE,
                                                     "cursor": page.request.args.get("cursor")})
    return page.render("agreements/letters.html", filters=filters, letters=listed["letters"],
                       next_cursor=listed["next"])


def new_letter(page: Page, failure: Failure | None = None) -> Response:
    return page.render("form_page.html", form=NEW_LETTER, action="/avsiktsforklaringar/ny", failure=failure,
                       back=("/avsiktsforklaringar", "Avsiktsförklaringar"),
                       status=failure.status if failure else 200)


def record_letter(page: Page) -> Response:
    return page.form_command(NEW_LETTER, {}, lambda failure: new_letter(page, failure),
                             lambda letter: f"/avsiktsforklaringar/{letter['id']}", "Avsiktsförklaringen är sparad.")


def letter_page(page: Page, letter_id: UUID, failure: Failure | None = None) -> Response:
    letter = page.services.get(SERVICE, f"/letters/{letter_id}")
    forms = page.offered(LETTER_COMMANDS, letter.get("allowed_commands", ()))
    evaluations, evaluations_note = evaluations_of(page, str(letter_id))
    return page.render("agreements/letter.html", status=failure.status if failure else 200, letter=letter,
                       forms=forms, failure=failure, evaluations=evaluations, evaluations_note=evaluations_note)


def letter_command(page: Page, letter_id: UUID, command: str) -> Response:
    return page.item_command(LETTER_FORMS, command, letter_id, letter_page, f"/avsiktsforklaringar/{letter_id}")


# --- agreements ------------------------------------------------------------------


def agreement_list(page: Page) -> Response:
    filters = {name: page.request.args.get(name, "").strip() for name in ("status", "party")}
    listed = page.services.get(SERVICE, "/agreements", {**filters, "limit": PAGE_SIZE,
                                                        "cursor": page.request.args.get("cursor")})
    return page.render("agreements/agreements.html", filters=filters, agreements=listed["agreements"],
                       next_cursor=listed["next"])


def new_agreement(page: Page, failure: Failure | None = None) -> Response:
    return page.render("form_page.html", form=NEW_AGREEMENT, action="/overenskommelser/ny", failure=failure,
                       back=("/overenskommelser", "Samverkansöverenskommelser"),
                       status=failure.status if failure else 200)


def record_agreement(page: Page) -> Response:
    return page.form_command(NEW_AGREEMENT, {}, lambda failure: new_agreement(page, failure),
                             lambda agreement: f"/overenskommelser/{agreement['id']}",
                             "Överenskommelsen är sparad.")


def agreement_page(page: Page, agreement_id: UUID, failure: Failure | None = None) -> Response:
    agreement = page.services.get(SERVICE, f"/agreements/{agreement_id}")
    for consultation in agreement["consultations"]:  # whose reply is late today: the service says
        consultation["overdue"] = page.services.get(
            SERVICE, f"/agreements/{agreement_id}/consultations/{consultation['consultation_id']}/overdue")["overdue"]
    evaluations, evaluations_note = evaluations_of(page, str(agreement_id))
    return page.render("agreements/agreement.html", status=failure.status if failure else 200, agreement=agreement,
                       forms=agreement_forms(page, agreement), failure=failure, evaluations=evaluations,
                       evaluations_note=evaluations_note)


def agreement_forms(page: Page, agreement: dict[str, Any]) -> list[CommandForm]:
    """The strategist's forms, their choices filled from the agreement: the parties that have not
    signed, the consultations open for replies. A form with nothing to choose is left out."""
    if not SIGN.allowed_for(page.roles):
        return []
    parties = tuple((p["party"], p["party"]) for p in agreement["parties"])
    unsigned = tuple((p["party"], p["party"]) for p in agreement["parties"] if not p["signed"])
    consultations = tuple((c["consultation_id"], f"{c['title']} ({c['diary_number']}, svar senast {c['reply_by']})")
                          for c in agreement["consultations"])
    forms = [with_options(SIGN, party=unsigned)] if unsigned else []
    forms.append(OPEN_CONSULTATION)
    if consultations:
        forms.append(with_options(RECORD_REPLY, consultation_id=consultations, party=parties))
    forms.append(SCHEDULE_REVIEW)
    return forms


def with_options(form: CommandForm, **options: tuple[tuple[str, str], ...]) -> CommandForm:
    return replace(form, fields=tuple(replace(f, options=options[f.name]) if f.name in options else f
                                      for f in form.fields))


def agreement_command(page: Page, agreement_id: UUID, command: str) -> Response:
    return page.item_command(AGREEMENT_FORMS, command, agreement_id, agreement_page, f"/overenskommelser/{agreement_id}")


# --- the evaluations of a letter or an agreement ------------------------------------


def evaluations_of(page: Page, subject: str) -> tuple[list[dict[str, Any]], str | None]:
    """The evaluations whose subject this is (those its reviews planned among them), and a note for
    the page: there are more than shown, or the evaluations service does not answer (the page is
    shown without them)."""
    try:
        found = page.services.get("evaluations", "/evaluations", {"subject": subject, "limit": 100})
    except ServiceDown as down:
        return [], f"{down.service_name.capitalize()} svarar inte just nu; utvärderingarna kan inte visas."
    except Refused as refused:
        return [], str(refused.problem.get("detail") or "Utvärderingarna kan inte visas.")
    return found["evaluations"], "Det finns fler än dessa." if found["next"] else None


routes = [
    Rule("/avsiktsforklaringar", methods=["GET"], endpoint=letter_list),
    Rule("/avsiktsforklaringar/ny", methods=["GET"], endpoint=new_letter),
    Rule("/avsiktsforklaringar/ny", methods=["POST"], endpoint=record_letter),
    Rule("/avsiktsforklaringar/<uuid:letter_id>", methods=["GET"], endpoint=letter_page),
    Rule("/avsiktsforklaringar/<uuid:letter_id>/<command>", methods=["POST"], endpoint=letter_command),
    Rule("/overenskommelser", methods=["GET"], endpoint=agreement_list),
    Rule("/overenskommelser/ny", methods=["GET"], endpoint=new_agreement),
    Rule("/overenskommelser/ny", methods=["POST"], endpoint=record_agreement),
    Rule("/overenskommelser/<uuid:agreement_id>", methods=["GET"], endpoint=agreement_page),
    Rule("/overenskommelser/<uuid:agreement_id>/<command>", methods=["POST"], endpoint=agreement_command),
]
