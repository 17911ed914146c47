"""Bevakningar: what is due, per role, from every service that raises reminders; and the council's
report of undecided motions as a document."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from werkzeug.exceptions import NotFound
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.web.client import Refused, ServiceDown
from services.web.forms import CommandForm, Field
from services.web.site import Failure, Page
from shared import clock

# The services that raise reminders, and where each kind of aggregate is read on this site.
SERVICES = ("initiatives", "meetings", "letters_of_intent")
ROLES = ("registrar", "case_officer", "secretary", "strategist")  # the roles reminders are for
PAGES = {"Initiative": "/arenden", "Meeting": "/sammantraden", "CollaborationAgreement": "/overenskommelser"}
EACH_SERVICE = 100  # reminders read from each service for one page


def done_form(service: str) -> CommandForm:
    """Marking a reminder done (kvittera) on the service that raised it; the service checks the role."""
    return CommandForm("mark_reminder_done", "Klar", service, "/reminders/{aggregate_id}/done", ROLES,
                       (Field("key", "Bevakning", required=True),), submit="Klar")


def reminders(page: Page, failure: Failure | None = None) -> Response:
    args = page.request.args
    # the user's own role until another is chosen; an empty choice is every role
    role = args["role"] if "role" in args else next((r for r in ROLES if r in page.roles), "")
    due_before = (args.get("due_before") or "").strip()
    errors: dict[str, str] = {}
    found: list[dict[str, Any]] = []
    more, unavailable = False, []
    for service in SERVICES:
        try:
            listed = page.services.get(service, "/reminders", {"role": role or None, "due_before": due_before or None,
                                                                "limit": EACH_SERVICE})
        except ServiceDown:  # the others' reminders are still worth seeing
            unavailable.append(service)
            continue
        except Refused as refused:
            if refused.status != 400:
                raise
            errors = {str(e.get("field", "")): str(e.get("message", "")) for e in refused.problem.get("errors") or []}
            break
        found += [{**reminder, "service": service,
                   "href": f"{PAGES[reminder['aggregate']]}/{reminder['aggregate_id']}"
                   if reminder.get("aggregate") in PAGES else None} for reminder in listed["reminders"]]
        more = more or bool(listed["next"])
    found.sort(key=lambda reminder: (reminder["due_on"], reminder.get("diary_number") or "", reminder["title"]))
    return page.render("reminders.html", status=failure.status if failure else 400 if errors else 200,
                       reminders=[] if errors else found, more=more, unavailable=unavailable, roles=ROLES, role=role,
                       due_before=due_before, errors=errors, failure=failure, today=clock.today().isoformat())


def mark_done(page: Page, service: str, aggregate_id: UUID) -> Response:
    if service not in SERVICES:
        raise NotFound()
    shown = {name: page.request.args[name] for name in ("role", "due_before") if name in page.request.args}
    back = "/bevakningar" + (f"?{urlencode(shown)}" if shown else "")
    return page.form_command(done_form(service), {"aggregate_id": aggregate_id}, lambda failure: reminders(
        page, failure), back, "Bevakningen är kvitterad.")


def undecided_motions_pdf(page: Page) -> Response:
    """The council's report, from the initiatives service with the user's token."""
    on = (page.request.args.get("on") or "").strip() or None
    return page.document("initiatives", "/reports/undecided-motions.pdf", {"on": on})


routes = [
    Rule("/bevakningar", methods=["GET"], endpoint=reminders),
    Rule("/bevakningar/<service>/<uuid:aggregate_id>/klar", methods=["POST"], endpoint=mark_done),
    Rule("/rapporter/ej-avgjorda-motioner.pdf", methods=["GET"], endpoint=undecided_motions_pdf),
]
