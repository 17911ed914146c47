"""The web app's Bevakningar: what is due per role from the services that raise reminders, each linked
to its page; a service that does not answer is named while the others' reminders are shown; the
council's report of undecided motions as a document."""
from __future__ import annotations

import html
from datetime import timedelta
from typing import Any, Iterator

import pytest

from services.web.service import WebService
from shared import clock
from tests.integration.conftest import running
from tests.support.cases import drive, submit
from tests.support.meetings import establish_body, eventually, hold_meeting
from tests.support.reminding import reminding_initiatives, reminding_meetings  # noqa: F401 - reminders on
from tests.support.services import Api
from tests.support.web import Web, section, web_config


@pytest.fixture
def web_url(container_factory: Any, infrastructure: Any, api: Api, meetings_api: Api) -> Iterator[str]:
    config = web_config(infrastructure.amqp_uri, {"initiatives": api.base_url, "meetings": meetings_api.base_url})
    for _ in running(container_factory, WebService, config):  # letters of intent is down
        yield f"http://{config['WEB_SERVER_ADDRESS']}"


def test_each_role_sees_what_is_due_linked_to_its_page(web_url: str, api: Api, meetings_api: Api) -> None:
    drive(api, submit(api)["id"], "referral")  # its preparation was due 2025-10-31, and no answer yet
    raised_on = (clock.today() - timedelta(days=400)).isoformat()
    motion = submit(api, kind="motion", title="Motion om samverkan", submitted_on=raised_on)
    answered = drive(api, submit(api)["id"], "answer")
    meeting = hold_meeting(meetings_api, establish_body(meetings_api)["id"], answered["diary_number"],
                           through="closing")
    eventually(lambda: meetings_api.get("/reminders", "auditor").json()["reminders"], lambda found: len(found) == 1)
    eventually(lambda: api.get("/reminders", "auditor").json()["reminders"], lambda found: len(found) == 3)

    registrar = Web(web_url).sign_in("registrar")
    page = html.unescape(registrar.get("/bevakningar"))  # the user's role by default
    table = section(page, '<table class="reminders">', "</table>")
    assert "Bevakningar för registrator" in table
    assert table.count(f'<a href="/arenden/{motion["id"]}">Motion om samverkan</a>') == 2
    assert "motionen är obesvarad efter elva månader" in table and "motionen är obesvarad efter ett år" in table
    assert "Bevakningar från avsiktsförklaringar kunde inte läsas just nu" in page  # that service is down

    secretary = html.unescape(registrar.get("/bevakningar", role="secretary"))
    assert f'<a href="/sammantraden/{meeting["id"]}">{meeting["title"]}</a>' in secretary
    assert "protokollet är inte justerat 14 dagar efter sammanträdet" in secretary
    assert "2025-11-26" in secretary  # 14 days after the meeting of 2025-11-12
    everyone = html.unescape(registrar.get("/bevakningar", role=""))
    assert everyone.index("2025-11-01") < everyone.index("2025-11-26")  # the case officer's first: oldest first
    assert "beredningstiden har gått ut" in everyone
    assert "Inga bevakningar." in registrar.get("/bevakningar", role="case_officer", due_before="2025-10-31")

    assert 'id="role-error"' in registrar.get("/bevakningar", status=400, role="mayor")
    assert "Inga bevakningar." not in Web(web_url).sign_in("auditor").get("/bevakningar")  # every role's
    bad_day = registrar.get("/bevakningar", status=400, due_before="2025-02-30")
    assert 'id="due_before-error"' in bad_day and 'aria-invalid="true"' in bad_day

    minutes = meetings_api.get("/reminders", "auditor").json()["reminders"][0]
    refused = meetings_api.post(f"/reminders/{meeting['id']}/done", "registrar", {"key": minutes["key"]})
    assert refused.status_code == 403, refused.text  # the reminder is the secretary's
    assert 'action="/bevakningar/meetings/' not in registrar.get("/bevakningar", role="secretary")  # no button
    secretary_web = Web(web_url).sign_in("secretary")
    assert secretary_web.command(f"/bevakningar/meetings/{meeting['id']}/klar?role=secretary",
                                 {"key": minutes["key"]}) == "/bevakningar?role=secretary"
    assert "Inga bevakningar." in secretary_web.get("/bevakningar")  # done: it left the list, for good
    assert meetings_api.get("/reminders", "auditor").json()["reminders"] == []
    again = secretary_web.send(f"/bevakningar/meetings/{meeting['id']}/klar", {"key": minutes["key"]})
    assert again.status_code == 409 and "Det gick inte: kvittera bevakningen" in again.text

    report = registrar.session.get(f"{web_url}/rapporter/ej-avgjorda-motioner.pdf", timeout=30)
    assert report.status_code == 200 and report.headers["Content-Type"] == "application/pdf"
    assert f"ej-avgjorda-motioner-{clock.today().isoformat()}.pdf" in report.headers["Content-Disposition"]
