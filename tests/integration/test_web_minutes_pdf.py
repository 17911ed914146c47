"""The minutes as PDF through the web app: the meeting's page links them once they exist, and the web
app passes the meetings service's document on with the user's token (the browser never needs the
service's address); what the service refuses is a Swedish page."""
from __future__ import annotations

import io

import requests
from pypdf import PdfReader

from tests.integration.test_web_meetings import Web, web_url  # noqa: F401 - the web app over the meetings service
from tests.support.meetings import advance, establish_body, meeting_steps
from tests.support.services import Api


def pdf(web: Web, path: str) -> tuple[requests.Response, str]:
    response = web.session.get(web.base_url + path, timeout=60, allow_redirects=False)
    assert response.status_code == 200, f"{path}: {response.status_code}\n{response.text[:2000]}"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Request-ID"]
    return response, " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def test_the_protokoll_and_extracts_are_served_through_the_web_app(web_url: str, meetings_api: Api) -> None:  # noqa: F811
    body = establish_body(meetings_api)
    steps = meeting_steps(meetings_api, body["id"], "RUN 2025-0001")
    meeting = advance(steps, "decision")
    page_path = f"/sammantraden/{meeting['id']}"
    minutes_path = f"{page_path}/protokoll.pdf"
    extract_path = f"{page_path}/paragrafer/1/protokollsutdrag.pdf"
    web = Web(web_url).sign_in("auditor")

    page = web.get(page_path)
    assert "Protokoll (PDF)" not in page and "Protokollsutdrag (PDF)" not in page
    early = web.get(minutes_path, status=409)
    assert "Protokollet kan hämtas när sammanträdet är avslutat (läge nu: pågår)." in early

    advance(steps, "closing")
    page = web.get(page_path)
    assert f'<a class="pdf" href="{minutes_path}">Protokoll (PDF)</a>' in page
    assert "Protokollsutdrag (PDF)" not in page
    response, text = pdf(web, minutes_path)
    assert response.headers["Content-Disposition"] == \
        "inline; filename=protokoll-regionala-utvecklingsnamnden-2025-11-12.pdf"
    assert "PROTOKOLL" in text and "EJ JUSTERAT" in text and "§ 1 Svar på initiativärende" in text
    refused = web.get(extract_path, status=409)
    assert "Ett protokollsutdrag kan hämtas när protokollet är justerat (läge nu: avslutat)." in refused

    advance(steps, "public_notice")
    page = web.get(page_path)
    assert f'href="{extract_path}" aria-label="Protokollsutdrag (PDF), § 1">Protokollsutdrag (PDF)</a>' in page
    response, text = pdf(web, extract_path)
    assert response.headers["Content-Disposition"] == \
        "inline; filename=protokollsutdrag-regionala-utvecklingsnamnden-2025-11-12-paragraf-1.pdf"
    assert "PROTOKOLLSUTDRAG" in text and "Utdragsbestyrkande" in text and "EJ JUSTERAT" not in text
    assert "Det finns inte" in web.get(f"{page_path}/paragrafer/9/protokollsutdrag.pdf", status=404)

    anonymous = requests.get(web_url + minutes_path, allow_redirects=False, timeout=60)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/logga-in")
