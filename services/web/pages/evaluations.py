"""Utvärderingar: the list of evaluations, an evaluation with its findings (areas × challenges /
opportunities / next steps), and the strategist's commands as forms: plan, start, record
findings, complete, publish."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping
from uuid import UUID

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.web.forms import CommandForm, Field
from services.web.site import Failure, Page
from services.web.words import WORDS

PAGE_SIZE = 25
STRATEGISTS = ("strategist",)
SERVICE = "evaluations"
DATE_HINT = "ÅÅÅÅ-MM-DD; tomt betyder i dag"
POINTS = ("challenges", "opportunities", "next_steps")
BETWEEN_POINTS = " | "


@dataclass(frozen=True)
class AreasField(Field):
    """The findings' areas, one a line: "område; utmaningar; möjligheter; nästa steg", the points
    of a column separated by "|". The service checks them (its messages name the line)."""

    kind: str = "textarea"

    def value_of(self, form: Mapping[str, str]) -> Any:
        lines = [line for line in (form.get(self.name) or "").splitlines() if line.strip()]
        return [area_of(line) for line in lines] or None


def area_of(line: str) -> dict[str, Any]:
    name, *columns = [part.strip() for part in line.split(";", 3)]
    area: dict[str, Any] = {"name": name} if name else {}
    for key, column in zip(POINTS, columns):
        area[key] = [point.strip() for point in column.split("|") if point.strip()]
    return area


def areas_text(areas: list[dict[str, Any]]) -> str:
    """The areas as the form writes them: what a revision starts from."""
    return "\n".join("; ".join([area.get("name", ""), *(BETWEEN_POINTS.join(area.get(key) or []) for key in POINTS)])
                     for area in areas)


PLAN = CommandForm(
    "plan", "Planera en utvärdering", SERVICE, "/evaluations", STRATEGISTS, (
        Field("title", "Rubrik", required=True, hint="t.ex. Halvtidsutvärdering av samverkansrådet"),
        Field("kind", "Slag", "select", required=True, options=tuple(WORDS["review_kind"].items())),
        Field("subject.kind", "Vad utvärderas", "select", required=True, options=tuple(WORDS["subject_kind"].items())),
        Field("subject.reference", "Föremålets id eller diarienummer", required=True,
              hint="En överenskommelses, avsiktsförklarings eller ett organs id (som i sidans adress); "
                   "för ett ärende dess diarienummer"),
        Field("subject.title", "Föremålets namn", hint="t.ex. Regionala samverkansrådet"),
        Field("period_from", "Perioden från", "date", hint="ÅÅÅÅ-MM-DD"),
        Field("period_to", "Perioden till", "date", hint="ÅÅÅÅ-MM-DD"),
        Field("responsible", "Ansvariga", "rows", columns=("name", "title"), hint="En per rad: namn; titel"),
        Field("diary_number", "Diarienummer", hint="t.ex. RUN 2025-0031"),
    ), submit="Planera")

FINDINGS = CommandForm(
    "revise_findings", "För in resultat", SERVICE, "/evaluations/{id}/findings", STRATEGISTS, (
        AreasField("areas", "Områden", hint="Ett område per rad: område; utmaningar; möjligheter; nästa steg. "
                   "Skilj flera punkter i samma kolumn med |, t.ex. Samverkan; Otydliga roller | Brist på "
                   "struktur; Ökat förtroende; Utveckla samverkansråden"),
        Field("statements", "Synpunkter", "rows", columns=("respondent", "text"), hint="En per rad: vem; synpunkt"),
        Field("conclusion", "Slutsats", "textarea", hint="Behövs för att utvärderingen ska kunna slutföras"),
        Field("assessed_results_and_consequences", "Bedömda resultat och konsekvenser", "textarea"),
        Field("resources", "Resurser", "textarea"),
        Field("gender_equality", "Jämställdhet", "textarea"),
    ), submit="Spara resultaten")

COMMANDS = (
    CommandForm("start", "Påbörja utvärderingen", SERVICE, "/evaluations/{id}/start", STRATEGISTS, (
        Field("started_on", "Påbörjad", "date", hint=DATE_HINT),), submit="Påbörja"),
    FINDINGS,
    CommandForm("complete", "Slutför utvärderingen", SERVICE, "/evaluations/{id}/completion", STRATEGISTS, (
        Field("completed_on", "Klar", "date", hint=DATE_HINT),), submit="Slutför"),
    CommandForm("publish", "Publicera utvärderingen", SERVICE, "/evaluations/{id}/publication", STRATEGISTS, (
        Field("published_on", "Publicerad", "date", hint=DATE_HINT),), submit="Publicera"),
)
BY_COMMAND = {form.command: form for form in COMMANDS}
SUBJECT_PAGES = {"agreement": "/overenskommelser/{}", "letter_of_intent": "/avsiktsforklaringar/{}"}


def evaluation_list(page: Page) -> Response:
    filters = {name: page.request.args.get(name, "").strip() for name in ("state", "kind", "subject")}
    listed = page.services.get(SERVICE, "/evaluations", {**filters, "limit": PAGE_SIZE,
                                                         "cursor": page.request.args.get("cursor")})
    return page.render("evaluations/list.html", filters=filters, evaluations=listed["evaluations"],
                       next_cursor=listed["next"])


def new_evaluation(page: Page, failure: Failure | None = None) -> Response:
    return page.render("form_page.html", form=PLAN, action="/utvarderingar/ny", failure=failure,
                       back=("/utvarderingar", "Utvärderingar"), status=failure.status if failure else 200)


def plan_evaluation(page: Page) -> Response:
    return page.form_command(PLAN, {}, lambda failure: new_evaluation(page, failure),
                             lambda evaluation: f"/utvarderingar/{evaluation['id']}", "Utvärderingen är planerad.")


def evaluation_page(page: Page, evaluation_id: UUID, failure: Failure | None = None) -> Response:
    evaluation = page.services.get(SERVICE, f"/evaluations/{evaluation_id}")
    forms = page.offered(COMMANDS, evaluation.get("allowed_commands", ()))
    subject = evaluation.get("subject") or {}
    subject_page = SUBJECT_PAGES.get(subject.get("kind", ""), "").format(subject.get("reference"))
    if subject.get("kind") == "case":
        subject_page = page.link("/arenden/dnr", dnr=subject.get("reference"))
    findings = evaluation.get("findings") or {}
    current = {**{key: findings.get(key) or "" for key in (
        "conclusion", "assessed_results_and_consequences", "resources", "gender_equality")},
        "areas": areas_text(findings.get("areas") or []),
        "statements": "\n".join(f"{s['respondent']}; {s['text']}" for s in findings.get("statements") or [])}
    return page.render("evaluations/evaluation.html", status=failure.status if failure else 200,
                       evaluation=evaluation, forms=forms, failure=failure, subject_page=subject_page,
                       current_findings=current)


def evaluation_command(page: Page, evaluation_id: UUID, command: str) -> Response:
    return page.item_command(BY_COMMAND, command, evaluation_id, evaluation_page, f"/utvarderingar/{evaluation_id}")


routes = [
    Rule("/utvarderingar", methods=["GET"], endpoint=evaluation_list),
    Rule("/utvarderingar/ny", methods=["GET"], endpoint=new_evaluation),
    Rule("/utvarderingar/ny", methods=["POST"], endpoint=plan_evaluation),
    Rule("/utvarderingar/<uuid:evaluation_id>", methods=["GET"], endpoint=evaluation_page),
    Rule("/utvarderingar/<uuid:evaluation_id>/<command>", methods=["POST"], endpoint=evaluation_command),
]
