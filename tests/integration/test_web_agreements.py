"""The web app's pages for letters of intent, collaboration agreements and evaluations, over the
real services in this process: what a strategist sees, and the commands sent as forms."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
import requests

from services.letters_of_intent.demo import load_agreement, seed
from services.web.service import WebService
from tests.integration.conftest import running
from tests.support.meetings import eventually
from tests.support.services import TEST_TOKENS, Api
from tests.support.web import web_config

LETTER = seed("seed_000_letters")["letters"][0]["letter"]  # Samforma, signed 2024-03-01


@dataclass
class Web:
    """The web app, as a signed-in person's browser: forms are sent from the site's own pages."""

    base_url: str
    session: requests.Session

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=60)

    def post(self, path: str, form: dict[str, str]) -> requests.Response:
        return self.session.post(self.base_url + path, data=form, headers={"Origin": self.base_url},
                                 allow_redirects=False, timeout=60)

    def send(self, path: str, form: dict[str, str]) -> str:
        """A form that must succeed: 303 to a page, which is returned (with its notice)."""
        response = self.post(path, form)
        assert response.status_code == 303, f"{path}: {response.status_code} {text_of(response.text)[:3000]}"
        shown = self.get(response.headers["Location"])
        assert shown.status_code == 200
        return shown.text


def signed_in(base_url: str, role: str) -> Web:
    web = Web(base_url, requests.Session())
    response = web.post("/logga-in", {"token": TEST_TOKENS[role]["token"], "next": "/"})
    assert response.status_code == 303, response.text
    return web


@pytest.fixture
def web_url(container_factory: Any, letters_api: Api, evaluations_api: Api,
            letters_config: dict[str, Any]) -> Iterator[str]:
    config = web_config(letters_config["AMQP_URI"], {"letters_of_intent": letters_api.base_url,
                                                     "evaluations": evaluations_api.base_url})
    for _ in running(container_factory, WebService, config):
        yield f"http://{config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def strategist(web_url: str) -> Web:
    return signed_in(web_url, "strategist")


def text_of(markup: str) -> str:
    """What a reader sees of some HTML: its text, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def rows(page: str, attribute: str) -> dict[str, tuple[str, str]]:
    """The table rows marked with a data attribute: {value: (class, text)}."""
    found = re.finditer(rf'<tr data-{attribute}="([^"]+)"(?: class="([^"]*)")?>(.*?)</tr>', page, re.S)
    return {html.unescape(m[1]): (m[2] or "", text_of(m[3])) for m in found}


def field(page: str, field_id: str) -> str:
    """A form field's block: its label, hint, messages and input."""
    label = page.index(f'<label for="{field_id}">')
    start = page.rindex('<div class="field', 0, label)
    ends = [i for i in (page.find('<div class="field', label), page.find("</form>", label)) if i != -1]
    return page[start:min(ends)]


def conflict(page: str) -> str:
    match = re.search(r'<div class="problem" role="alert" id="konflikt">(.*?)</div>', page, re.S)
    assert match, "no explanation on top"
    return text_of(match[1])


def test_an_agreements_page_shows_each_partys_signature_and_the_overdue_replies(
    strategist: Web, web_url: str, letters_api: Api
) -> None:
    agreement = load_agreement(lambda path, body: letters_api.command(path, "strategist", body), signing=3)
    page = strategist.get(f"/overenskommelser/{agreement['id']}").text

    signed = [p["party"] for p in agreement["parties"] if p["signed"]]
    assert signed == ["Bjurholms kommun", "Dorotea kommun", "Lycksele kommun"]
    assert "undertecknat 2022-10-15 Kommunstyrelsens ordförande, Bjurholms kommun Kommunfullmäktige" in \
        text_of(page[page.index('id="underskrifter-tabell"'):])
    assert "3 av 15 parter har skrivit under" in text_of(page)
    unsigned_row = re.search(r'<tr data-party="Umeå kommun">(.*?)</tr>', page, re.S)
    assert unsigned_row and "ej undertecknat" in text_of(unsigned_row[1])
    sign_form = page[page.index('id="form-sign"'):]
    choices = re.findall(r'<option value="([^"]+)"', sign_form[:sign_form.index("</select>")])
    assert choices == [p["party"] for p in agreement["parties"] if not p["signed"]]

    # the consultation (reply by 2022-06-30): five replied in time, Dorotea late, nine not at all
    consultation = page[page.index('class="consultation"'):page.index('id="provningar"')]
    replies = rows(consultation, "recipient")
    overdue = {party for party, (classes, _) in replies.items() if "overdue" in classes}
    assert overdue == set(agreement["consultations"][0]["recipients"]) - set(seed("seed_001_agreement")[
        "replies_on_time"]) - {"Dorotea kommun"}
    assert len(overdue) == 9
    assert all("försenat – svar saknas" in replies[party][1] for party in overdue)
    assert replies["Dorotea kommun"] == ("", "Dorotea kommun inkom 2022-07-10 (efter sista dag)")
    assert replies["Umeå kommun"][1] == "Umeå kommun inkom 2022-06-27 Tillstyrker."
    assert "9 svar försenade" in text_of(consultation)

    # the reviews have fallen due: the evaluations they planned are linked from them
    def reviews() -> dict[str, tuple[str, str]]:
        return rows(strategist.get(f"/overenskommelser/{agreement['id']}").text, "review")

    planned = eventually(reviews, lambda found: len(found) == 2 and all("(planerad)" in text for _, text in found.values()))
    assert len(planned) == 2
    again = strategist.get(f"/overenskommelser/{agreement['id']}").text
    links = re.findall(r'href="/utvarderingar/([0-9a-f-]{36})"', again)
    assert len(set(links)) == 2
    evaluation = strategist.get(f"/utvarderingar/{links[0]}").text
    assert f'href="/overenskommelser/{agreement["id"]}"' in evaluation  # and back to the agreement

    # a party signs through the form; an auditor reads the page without forms
    after = strategist.send(f"/overenskommelser/{agreement['id']}/sign", {
        "party": "Umeå kommun", "signed_by": "Kommunstyrelsens ordförande", "signed_on": "2022-12-01",
        "decided_by": "Kommunfullmäktige"})
    assert "Klart: för in en underskrift." in text_of(after)
    assert rows(after, "party")["Umeå kommun"][1] == \
        "Umeå kommun undertecknat 2022-12-01 Kommunstyrelsens ordförande Kommunfullmäktige"
    auditor = signed_in(web_url, "auditor").get(f"/overenskommelser/{agreement['id']}").text
    assert "Umeå kommun undertecknat 2022-12-01" in text_of(auditor) and 'class="command"' not in auditor


def test_a_follow_up_added_through_the_form_appears_on_the_letters_page(strategist: Web) -> None:
    page = strategist.send("/avsiktsforklaringar/ny", {
        "title": LETTER["title"], "counterparts": "Samforma; civilsamhällets samverkansorganisation",
        "purpose": LETTER["purpose"], "areas": "Samverkan med civilsamhället\nSocial innovation",
        "responsible_officials": "Kerstin Hamre; samordnare", "signed_on": "2024-03-01", "review_on": "2026-03-01"})
    assert "Avsiktsförklaringen är sparad." in text_of(page)
    letter_path = re.search(r'action="(/avsiktsforklaringar/[0-9a-f-]{36})/add_follow_up"', page)[1]
    assert "Ingen uppföljning ännu." in text_of(page)

    page = strategist.send(f"{letter_path}/add_follow_up", {
        "kind": "joint_project", "on": "2025-04-01", "involved": "SESIN\nUmeå universitet",
        "text": "Strategiskt samarbete med projekt SESIN inleds."})
    table = text_of(page[page.index('id="uppfoljningar"'):page.index('id="delrapporter"')])
    assert "2025-04-01 gemensamt projekt Strategiskt samarbete med projekt SESIN inleds. SESIN, Umeå universitet" \
        in table
    page = strategist.send(f"{letter_path}/compile_interim_report", {
        "title": "Delrapport 2025", "period_from": "2025-01-01", "period_to": "2025-12-31"})
    reports = text_of(page[page.index('id="delrapporter"'):page.index('id="utvarderingar"')])
    assert "Delrapport 2025 – perioden 2025-01-01 – 2025-12-31" in reports and "1 uppföljning" in reports


def test_findings_recorded_through_the_form_show_as_areas_by_challenges_opportunities_and_next_steps(
    strategist: Web, letters_api: Api
) -> None:
    letter = letters_api.command("/letters", "strategist", LETTER)
    page = strategist.send("/utvarderingar/ny", {
        "title": "Uppföljning av avsiktsförklaringen", "kind": "follow_up", "subject.kind": "letter_of_intent",
        "subject.reference": letter["id"], "subject.title": "Samforma", "responsible": "Kerstin Hamre; samordnare"})
    assert f'href="/avsiktsforklaringar/{letter["id"]}"' in page  # the subject, linked
    evaluation_path = re.search(r'action="(/utvarderingar/[0-9a-f-]{36})/start"', page)[1]
    strategist.send(f"{evaluation_path}/start", {"started_on": ""})
    areas = ("Samverkan; Stuprörsmentalitet | Brist på struktur; Ökat förtroende; Tydligare ledarskap\n"
             "Uppföljning och lärande; Ingen systematik;; Förbättra inrapporteringen | Årshjul för RUS")
    page = strategist.send(f"{evaluation_path}/revise_findings", {
        "areas": areas, "statements": "Länets kommuner; Samverkan har stärkts",
        "conclusion": "Samarbetet är fortsatt aktuellt."})

    table = page[page.index('id="omraden"'):]
    table = table[:table.index("</table>")]
    found = [[text_of(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
             for row in re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):], re.S)]
    assert found == [
        ["Samverkan", "Stuprörsmentalitet Brist på struktur", "Ökat förtroende", "Tydligare ledarskap"],
        ["Uppföljning och lärande", "Ingen systematik", "", "Förbättra inrapporteringen Årshjul för RUS"],
    ]
    assert re.findall(r"<li>(.*?)</li>", table) == [
        "Stuprörsmentalitet", "Brist på struktur", "Ökat förtroende", "Tydligare ledarskap", "Ingen systematik",
        "Förbättra inrapporteringen", "Årshjul för RUS"]
    assert "Länets kommuner: Samverkan har stärkts" in text_of(page)
    # a revision starts from what is there
    revise = field(page, "revise_findings-areas")
    assert "Samverkan; Stuprörsmentalitet | Brist på struktur; Ökat förtroende; Tydligare ledarskap" in \
        html.unescape(revise)

    page = strategist.send(f"{evaluation_path}/complete", {})
    page = strategist.send(f"{evaluation_path}/publish", {"published_on": ""})
    assert re.search(r'id="lage">publicerad<', page) and 'class="command"' not in page


def test_bad_input_comes_back_with_400_and_the_message_beside_its_field(strategist: Web, letters_api: Api) -> None:
    letter = letters_api.command("/letters", "strategist", LETTER)
    typed = {"kind": "meeting", "on": "", "text": "Möte med Samforma"}
    response = strategist.post(f"/avsiktsforklaringar/{letter['id']}/add_follow_up", typed)
    assert response.status_code == 400
    on = field(response.text, "add_follow_up-on")
    assert '<p class="error" id="add_follow_up-on-error-1">Måste fyllas i.</p>' in on and 'aria-invalid="true"' in on
    assert ">Möte med Samforma</textarea>" in field(response.text, "add_follow_up-text")  # as typed

    before_signing = strategist.post(f"/avsiktsforklaringar/{letter['id']}/add_follow_up", {**typed, "on": "2024-01-01"})
    assert before_signing.status_code == 400
    assert "Får inte infalla före avsiktsförklaringens undertecknande (2024-03-01)" in \
        text_of(field(before_signing.text, "add_follow_up-on"))

    evaluation = strategist.post("/utvarderingar/ny", {"title": "Utvärdering", "kind": "follow_up",
                                                       "subject.kind": "agreement", "subject.reference": "inte ett id"})
    assert evaluation.status_code == 400
    assert "Överenskommelsens id behövs" in text_of(field(evaluation.text, "plan-subject.reference"))

    agreement = load_agreement(lambda path, body: letters_api.command(path, "strategist", body), signing=0)
    reply = strategist.post(f"/overenskommelser/{agreement['id']}/record_reply", {
        "party": "Malå kommun", "received_on": "2022-07-01", "diary_number": "RUN 374-2021"})
    assert reply.status_code == 400
    assert "Måste fyllas i." in text_of(field(reply.text, "record_reply-consultation_id"))


def test_a_command_the_state_does_not_allow_is_409_with_the_explanation_on_top(
    strategist: Web, letters_api: Api
) -> None:
    letter = letters_api.command("/letters", "strategist", LETTER)
    path = f"/avsiktsforklaringar/{letter['id']}"
    page = strategist.send(f"{path}/terminate", {"reason": "Samarbetet är slutfört.", "on": "2025-12-31"})
    assert re.search(r'id="lage">avslutad<', page)
    assert re.findall(r'id="form-([a-z_]+)"', page) == ["compile_interim_report"]  # what the letter allows now

    refused = strategist.post(f"{path}/pause", {"reason": "Paus", "on": "2026-01-15"})  # from a page opened before
    assert refused.status_code == 409
    explanation = conflict(refused.text)
    assert "Det gick inte: göra vilande" in explanation
    assert "Avsiktsförklaringen är avslutad. Det som går nu: sammanställa delrapport." in explanation
    assert refused.text.index('id="konflikt"') < refused.text.index("<h1>")  # on top

    agreement = load_agreement(lambda path, body: letters_api.command(path, "strategist", body), signing=1)
    twice = strategist.post(f"/overenskommelser/{agreement['id']}/sign", {
        "party": "Bjurholms kommun", "signed_by": "Ordföranden", "signed_on": "2022-11-01"})
    assert twice.status_code == 409
    assert "Det gick inte: föra in en underskrift Bjurholms kommun skrev under 2022-10-15." in conflict(twice.text)
