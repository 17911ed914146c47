"""The web app's Sammanträden and Organ pages, over the real meetings service, on each store:
a meeting held through the secretary's forms, its protokoll, a form refused (400 beside the
field, 409 on top), and a body's members as of a date."""
from __future__ import annotations

import html
import re
from typing import Any, Iterator

import pytest

from services.web.service import WebService
from tests.integration.conftest import running
from tests.support.meetings import establish_body
from tests.support.services import Api
from tests.support.web import Web, options, section, web_config


@pytest.fixture
def web_url(container_factory: Any, infrastructure: Any, meetings_api: Api) -> Iterator[str]:
    config = web_config(infrastructure.amqp_uri, {"meetings": meetings_api.base_url})
    for _ in running(container_factory, WebService, config):
        yield f"http://{config['WEB_SERVER_ADDRESS']}"


def test_a_meeting_held_through_the_secretarys_forms_has_its_protokoll(web_url: str, meetings_api: Api) -> None:
    web = Web(web_url).sign_in("secretary")
    body = web.command("/organ", {"name": "Regionala utvecklingsnämnden", "kind": "committee",
                                  "convener": "Region Västerbotten", "format": "physical"})
    body_id = body.rsplit("/", 1)[1]
    assert (body_id, "Regionala utvecklingsnämnden") in options(web.get("/sammantraden/nytt"), "schedule-body_id")
    meeting = web.command("/sammantraden/nytt", {
        "body_id": body_id, "title": "Nämndens sammanträde 2025-11-12", "starts_at": "2025-11-12T09:00",
        "place": "Regionens hus, Umeå"})
    assert meetings_api.get(meeting.replace("/sammantraden", "/meetings")).json()["starts_at"] == \
        "2025-11-12T09:00:00+01:00"  # the datetime-local value is Swedish time

    web.command(f"{meeting}/convene", {"convened_on": "2025-11-03"})
    web.command(f"{meeting}/add_item", {"title": "Svar på initiativärende om samverkan", "diary_number": "RUN 2025-0001",
                                        "goal_area": "Samverkan"})
    web.command(f"{meeting}/add_item", {"title": "Rapport om RUS", "diary_number": "RUN 2025-0002"})

    empty = web.send(f"{meeting}/record_attendance", {"present": "  "})
    assert empty.status_code == 400
    attendance = section(empty.text, 'id="form-record_attendance"', "</form>")
    assert re.search(r'<label for="record_attendance-present">Närvarande.*?<p class="error"[^>]*>Måste fyllas i\.</p>'
                     r'\s*<textarea id="record_attendance-present"[^>]*aria-invalid="true"', attendance, re.S)
    web.command(f"{meeting}/record_attendance", {"present": "Anna Ordförande; ordförande\nVeronica Kerr; ledamot\n"
                                                            "Per Boström; ledamot"})
    web.command(f"{meeting}/open")

    page = web.get(meeting)
    items = options(page, "decide_item-item_id")
    assert [text for _, text in items] == ["1. Svar på initiativärende om samverkan", "2. Rapport om RUS"]
    web.command(f"{meeting}/decide_item", {"item_id": items[0][0], "outcome": "considered_answered",
                                           "text": "Initiativärendet anses besvarat."})
    assert [text for _, text in options(web.get(meeting), "decide_item-item_id")] == ["2. Rapport om RUS"]
    no_item = web.send(f"{meeting}/decide_item", {"outcome": "tabled", "text": "Bordläggs."})
    assert no_item.status_code == 400 and 'id="decide_item-item_id-error-1">Måste fyllas i.' in no_item.text
    web.command(f"{meeting}/decide_item", {"item_id": items[1][0], "outcome": "tabled", "text": "Ärendet bordläggs."})
    web.command(f"{meeting}/appoint_adjusters", {"adjusters": "Anna Ordförande\nVeronica Kerr\n"})
    web.command(f"{meeting}/close")

    adjusters = options(web.get(meeting), "sign_minutes-adjuster")
    assert adjusters == [("Anna Ordförande", "Anna Ordförande"), ("Veronica Kerr", "Veronica Kerr")]
    bad_date = web.send(f"{meeting}/sign_minutes", {"adjuster": "Anna Ordförande", "signed_on": "2025-13-45"})
    assert bad_date.status_code == 400
    signing = section(bad_date.text, 'id="form-sign_minutes"', "</form>")
    assert 'id="sign_minutes-signed_on-error-1">Inte ett giltigt datum (ÅÅÅÅ-MM-DD).</p>' in signing
    assert 'value="2025-13-45"' in signing  # as typed
    web.command(f"{meeting}/sign_minutes", {"adjuster": "Anna Ordförande", "signed_on": "2025-11-17"})
    assert options(web.get(meeting), "sign_minutes-adjuster") == [("Veronica Kerr", "Veronica Kerr")]
    web.command(f"{meeting}/sign_minutes", {"adjuster": "Veronica Kerr", "signed_on": "2025-11-18"})
    web.command(f"{meeting}/record_public_notice", {"notice_on": "2025-11-19"})

    page = web.get(meeting)
    assert 'id="sammantradets-lage">protokollet justerat<' in page
    agenda = section(page, 'id="foredragningslista"', "</section>")
    assert '<a class="dnr" href="/arenden/dnr?dnr=RUN%202025-0001">RUN 2025-0001</a>' in agenda
    assert "Rapport om RUS" in agenda
    assert "Veronica Kerr, ledamot" in section(page, 'id="narvaro"', "</section>")
    minutes = section(page, 'class="protokoll"', "</article>")
    assert "Regionala utvecklingsnämnden" in minutes and "2025-11-12" in minutes and "Regionens hus, Umeå" in minutes
    assert "Anna Ordförande (ordförande)" in minutes
    paragraphs = re.findall(r'<span class="nummer">(§ \d+)</span> ([^<]+)</h3>.*?class="utfall">([^<]+)<', minutes, re.S)
    assert paragraphs == [("§ 1", "Svar på initiativärende om samverkan", "anses besvarat"),
                          ("§ 2", "Rapport om RUS", "bordläggning")]
    assert "Initiativärendet anses besvarat." in minutes and 'href="/arenden/dnr?dnr=RUN%202025-0002"' in minutes
    assert "Anna Ordförande: justerat 2025-11-17" in minutes and "Veronica Kerr: justerat 2025-11-18" in minutes
    assert "Protokollet justerades 2025-11-18." in minutes
    assert "tillkännagetts genom anslag 2025-11-19" in minutes

    refused = web.send(f"{meeting}/cancel", {"reason": "För sent"})
    assert refused.status_code == 409
    top = section(refused.text, 'id="konflikt"', "</div>")
    assert "Det gick inte: ställa in" in top and "Sammanträdet är protokollet justerat." in top
    assert "Inget mer kan göras med sammanträdet." in top  # the notice is recorded: nothing is left to do
    assert 'action="/sammantraden/' not in section(refused.text, "<h1>", "</main>")  # so no form is offered
    assert refused.text.index('id="konflikt"') < refused.text.index("<h1>")

    listed = web.get("/sammantraden", body_id=body_id, state="adjusted")
    assert f'href="{meeting}"' in listed and "protokollet justerat" in listed
    assert f'href="{meeting}"' not in web.get("/sammantraden", body_id=body_id, to="2025-11-11")
    assert 'id="from-error">Inte ett giltigt datum' in web.get("/sammantraden", status=400, **{"from": "2025-02-30"})

    reader = Web(web_url).sign_in("auditor")
    read = reader.get(meeting)
    assert 'class="protokoll"' in read and "§ 2" in read
    assert 'class="command"' not in read and 'href="/sammantraden/nytt"' not in reader.get("/sammantraden")


def test_a_bodys_members_as_of_a_date(web_url: str, meetings_api: Api) -> None:
    body = establish_body(meetings_api)
    path = f"/organ/{body['id']}"
    web = Web(web_url).sign_in("secretary")
    leaving = next(value for value, text in options(web.get(path), "end_membership-membership_id")
                   if text.startswith("Per Boström"))
    web.command(f"{path}/end_membership", {"membership_id": leaving, "to_date": "2025-06-30"})
    web.command(f"{path}/add_member", {"name": "Ny ledamot (exempel)", "party": "KD", "role": "substitute",
                                       "side": "opposition", "from_date": "2025-07-01"})
    no_date = web.send(f"{path}/add_member", {"name": "Utan datum", "role": "member"})
    assert no_date.status_code == 400 and 'id="add_member-from_date-error-1">Måste fyllas i.' in no_date.text

    def members_on(day: str) -> str:
        return section(web.get(path, per=day), 'id="ledamoter-tabell"', "</table>")

    june = members_on("2025-06-30")
    assert "Per Boström" in june and "Ny ledamot (exempel)" not in june
    assert "<td>2025-06-30</td>" in june  # his last day
    july = members_on("2025-07-01")
    assert "Per Boström" not in july
    assert re.search(r"Ny ledamot \(exempel\)</td>\s*<td>ersättare</td>\s*<td>KD</td>\s*<td>oppositionen</td>", july)
    assert "Ingen satt i organet den dagen." in members_on("2022-12-31")
    assert "Per Boström" not in [text for _, text in options(web.get(path), "end_membership-membership_id")]

    again = web.send(f"{path}/end_membership", {"membership_id": leaving, "to_date": "2025-08-01"})
    assert again.status_code == 409 and "Uppdraget är redan avslutat." in again.text  # ended before: the service says so
    bad_day = web.get(path, per="2025-02-30")
    assert 'id="per-error">Ange ett datum som ÅÅÅÅ-MM-DD.' in bad_day

    listed = web.get("/organ", kind="committee")
    assert f'href="{path}"' in listed and "nämnd" in listed
    assert f'href="{path}"' not in web.get("/organ", kind="group")


def test_a_vote_with_the_chairs_casting_vote_and_a_reservation_through_the_secretarys_form(
        web_url: str, meetings_api: Api) -> None:
    body = establish_body(meetings_api)  # four members on record: the quorum and the votes are checked against them
    web = Web(web_url).sign_in("secretary")
    meeting = web.command("/sammantraden/nytt", {"body_id": body["id"], "title": "Nämndens sammanträde 2025-11-12",
                                                 "starts_at": "2025-11-12T09:00"})
    web.command(f"{meeting}/convene", {"convened_on": "2025-11-03"})
    web.command(f"{meeting}/add_item", {"title": "Svar på initiativärende om samverkan"})
    stranger = web.send(f"{meeting}/record_attendance", {"present": "Ordförande (exempel)\nOkänd Person"})
    assert stranger.status_code == 400
    assert "Rad 2: Okänd Person is not a member or substitute of Regionala utvecklingsnämnden on 2025-11-12" in \
        html.unescape(section(stranger.text, 'id="form-record_attendance"', "</form>"))
    web.command(f"{meeting}/record_attendance", {"present": "Ordförande (exempel)\nVeronica Kerr\nPer Boström\n"
                                                            "Ledamot (exempel)"})
    web.command(f"{meeting}/open")
    item = options(web.get(meeting), "decide_item-item_id")[0][0]
    decision = {"item_id": item, "outcome": "considered_answered", "text": "Initiativärendet anses besvarat.",
                "proposals": "Regiondirektören;; Initiativärendet anses besvarat.\nVeronica Kerr; ledamot; Bifall.",
                "vote.yes_proposal": "1", "vote.no_proposal": "2",
                "vote.ballots": "Ordförande (exempel); ja\nVeronica Kerr; nej\nPer Boström; Nej\nLedamot (exempel); ja"}

    tie = web.send(f"{meeting}/decide_item", decision)
    assert tie.status_code == 409
    top = section(tie.text, 'id="konflikt"', "</div>")
    assert "Det gick inte: besluta" in top and "Vid lika röstetal avgör ordförandens utslagsröst." in top
    outsider = web.send(f"{meeting}/decide_item", {**decision, "vote.ballots": decision["vote.ballots"] + "\nOkänd; ja"})
    assert outsider.status_code == 400
    assert re.search(r'id="decide_item-vote.ballots-error-1">Rad 5: Okänd is not a member taking part',
                     outsider.text)

    web.command(f"{meeting}/decide_item", {**decision, "vote.casting_vote": "yes",
                                           "reservations": "KD; parti; Vi ville bifalla initiativet."})
    minutes = html.unescape(section(web.get(meeting), 'class="protokoll"', "</article>"))
    assert re.findall(r"<td>([^<]+)</td><td>([^<]+)</td>", minutes) == [
        ("Ordförande (exempel)", "ja"), ("Veronica Kerr", "nej"), ("Per Boström", "nej"), ("Ledamot (exempel)", "ja")]
    assert "2 ja, 2 nej, 0 avstår; lika röstetal, ordförandens utslagsröst: ja. Förslag 1 vann." in minutes
    assert "KD (partigrupp) reserverar sig mot beslutet: " in minutes and "Vi ville bifalla initiativet." in minutes
    assert "<li>Regiondirektören: Initiativärendet anses besvarat.</li><li>Veronica Kerr: Bifall.</li>" in minutes
