"""A case's life in the browser, role by role, as the issue describes it: the registrar submits,
registers and refers it; the case officer drafts the answer; the secretary holds the meeting that
decides it and has the minutes adjusted; the case page then shows it final with its timeline across
both services. An auditor then finds the stored event someone changed named on the case page."""
from __future__ import annotations

import re
from datetime import timedelta
import zipfile
from io import BytesIO
from typing import Any

from playwright.sync_api import Browser, Page, expect

from services.initiatives.demo import seed_000
from shared import clock
from tests.browser.conftest import Web, assert_accessible, field, reload_until, screenshot
from tests.support.tampering import StoredRows


def test_a_case_from_submission_to_final_minutes_in_the_browser(browser: Browser, web: Web) -> None:
    seed = seed_000()
    registrar = web.signed_in(browser, "registrar")

    # Submitted without the day it came in: the service's 400 is shown beside that field
    registrar.get_by_role("link", name="Nytt ärende").click()
    field(registrar, "Slag").select_option("initiative")
    field(registrar, "Rubrik").fill(seed["submission"]["title"])
    field(registrar, "Text").fill(seed["submission"]["text"])
    field(registrar, "Att-satser").fill("\n".join(seed["submission"]["proposal_clauses"]))
    field(registrar, "Förslagsställare").fill("Veronica Kerr; KD\nPer Boström; KD")
    field(registrar, "Ställt till").fill("Regionala utvecklingsnämnden")
    registrar.get_by_role("button", name="Lämna in").click()
    submitted_on = field(registrar, "Inkom")
    expect(submitted_on).to_have_attribute("aria-invalid", "true")
    expect(registrar.locator(".field.invalid")).to_have_count(1)
    expect(registrar.locator(".field.invalid .error")).to_have_text("Måste fyllas i.")
    expect(field(registrar, "Rubrik")).to_have_value(seed["submission"]["title"])  # nothing typed is lost
    assert_accessible(registrar)
    screenshot(registrar, "form-with-field-message")

    submitted_on.fill("2025-05-17")
    registrar.get_by_role("button", name="Lämna in").click()
    expect(registrar.locator("#arendets-lage")).to_have_text("inkommet")
    registrar.get_by_role("button", name="Registrera").click()
    expect(registrar.locator("#arendets-lage")).to_have_text("registrerat")
    diary_number = registrar.locator(".dnr").inner_text()
    assert re.fullmatch(rf"RUN {clock.today().year}-\d{{4}}", diary_number), diary_number
    case_url = registrar.url
    field(registrar, "Beredningsansvariga").fill("Kerstin Hamre; samordnare\nAnders Byström; verksamhetschef")
    field(registrar, "Besvaras senast").fill((clock.today() + timedelta(days=60)).isoformat())
    registrar.get_by_role("button", name="Remittera").click()
    expect(registrar.locator("#arendets-lage")).to_have_text("under beredning")
    expect(registrar.get_by_text("Kerstin Hamre, samordnare")).to_be_visible()
    assert_accessible(registrar)

    case_officer = web.signed_in(browser, "case_officer")
    case_officer.goto(case_url)
    expect(case_officer.get_by_role("button", name="Registrera")).to_have_count(0)  # not this role's step
    answer = seed["answer"]
    field(case_officer, "Sammanfattning").fill(answer["summary"])
    field(case_officer, "Föreslaget beslut").select_option("considered_answered")
    field(case_officer, "Förslag till beslut").fill(answer["proposal"])
    field(case_officer, "Jämställdhet").fill(answer["gender_equality"])
    case_officer.get_by_role("button", name="Spara svaret").click()
    expect(case_officer.locator("#arendets-lage")).to_have_text("svar framtaget")
    expect(case_officer.locator("#svar")).to_be_visible()

    secretary = web.signed_in(browser, "secretary")
    meeting_url = hold_meeting_in_browser(secretary, diary_number)

    # The case follows the meeting over RabbitMQ: final once the minutes are adjusted
    registrar.goto(case_url)
    reload_until(registrar, lambda: registrar.locator("#arendets-lage").inner_text() == "beslutet justerat")
    decisions = registrar.locator("#beslut").locator("xpath=..")
    expect(decisions).to_contain_text("§ 1 anses besvarat")
    expect(decisions.get_by_role("link")).to_have_attribute("href", meeting_url.removeprefix(web.base_url))
    timeline = registrar.locator("ol.timeline > li")
    reload_until(registrar, lambda: "Initiative.Finalised" in timeline_types(registrar))
    types = timeline_types(registrar)
    assert {"initiatives", "meetings"} <= set(registrar.locator("ol.timeline > li").evaluate_all(
        "items => items.map(i => i.dataset.source)"))
    for earlier, later in [("Initiative.Submitted", "Initiative.Registered"),
                           ("Initiative.Registered", "Initiative.ReferredForPreparation"),
                           ("Initiative.AnswerDrafted", "Meeting.ItemDecided"),
                           ("Meeting.ItemDecided", "Initiative.DecisionRecorded"),
                           ("Meeting.MinutesAdjusted", "Initiative.Finalised")]:
        assert types.index(earlier) < types.index(later), types
    decided = timeline.filter(has=registrar.locator("a", has_text="Beslut i paragraf"))
    expect(decided).to_contain_text("Sara Sekreterare")  # who
    expect(decided.locator("a")).to_have_attribute("href", meeting_url.removeprefix(web.base_url))
    assert_accessible(registrar)
    screenshot(registrar, "case-final-with-timeline")

    # As of a day: the case and its timeline then, without forms; before it existed, said beside the date
    field(registrar, "Visa ärendet som det var den").fill(clock.today().isoformat())
    registrar.get_by_role("button", name="Visa", exact=True).click()
    expect(registrar.locator(".asof")).to_contain_text(clock.today().isoformat())
    expect(registrar.locator("#arendets-lage")).to_have_text("beslutet justerat")
    assert timeline_types(registrar) == types
    expect(registrar.locator("form.command")).to_have_count(0)
    field(registrar, "Visa ärendet som det var den").fill("2020-01-01")
    registrar.get_by_role("button", name="Visa", exact=True).click()
    expect(registrar.locator("#per-error")).to_have_text("Det fanns inte då.")

    # Sök: every service at once; the hit leads to the case
    registrar.get_by_role("link", name="Sök", exact=True).click()
    field(registrar, "Sökord").fill("civilsamhället samverkan")
    registrar.get_by_role("button", name="Sök", exact=True).click()
    hit = registrar.locator("ol.hits > li").filter(has_text=diary_number)
    expect(hit.locator("mark").first).to_be_visible()
    assert_accessible(registrar)
    hit.get_by_role("link").click()
    assert registrar.url == case_url

    auditor_sees_a_changed_event_named(browser, web, case_url, diary_number)


def hold_meeting_in_browser(secretary: Page, diary_number: str) -> str:
    """The secretary's part, on the Organ and Sammanträden pages: the committee, its meeting with the
    case on the agenda, the decision in § 1, the minutes signed by both adjusters; returns the
    meeting's page address."""
    secretary.get_by_role("link", name="Organ", exact=True).click()
    field(secretary, "Namn").fill("Regionala utvecklingsnämnden")
    field(secretary, "Typ av organ").select_option("committee")
    field(secretary, "Sammankallande").fill("Region Västerbotten")
    field(secretary, "Mötesform").select_option("physical")
    assert_accessible(secretary)
    secretary.get_by_role("button", name="Inrätta").click()
    expect(secretary.get_by_role("heading", level=1)).to_have_text("Regionala utvecklingsnämnden")

    secretary.get_by_role("link", name="Sammanträden", exact=True).click()
    secretary.get_by_role("link", name="Nytt sammanträde").click()
    field(secretary, "Organ").select_option(label="Regionala utvecklingsnämnden")
    field(secretary, "Rubrik").fill("Regionala utvecklingsnämndens sammanträde 2025-11-12")
    field(secretary, "Börjar").fill("2025-11-12T09:00")
    field(secretary, "Plats").fill("Regionens hus, Umeå")
    secretary.get_by_role("button", name="Planera sammanträdet").click()
    meeting_url = secretary.url
    secretary.get_by_role("button", name="Kalla").click()
    field(secretary, "Rubrik").fill("Svar på initiativärende om samverkan med civilsamhället")
    field(secretary, "Diarienummer").fill(diary_number)
    secretary.get_by_role("button", name="Lägg till").click()
    expect(secretary.get_by_role("link", name=diary_number).first).to_be_visible()
    field(secretary, "Närvarande").fill("Ordförande (exempel); chair\nVeronica Kerr; member\nPer Boström; member")
    secretary.get_by_role("button", name="Spara närvaron").click()
    secretary.get_by_role("button", name="Öppna").click()
    field(secretary, "Ärende att besluta").select_option(index=1)
    field(secretary, "Utfall").select_option("considered_answered")
    field(secretary, "Beslutstext").fill("Initiativärendet anses besvarat.")
    secretary.get_by_role("button", name="Besluta").click()
    field(secretary, "Utsedda justerare").fill("Ordförande (exempel)\nVeronica Kerr")
    secretary.get_by_role("button", name="Utse").click()
    secretary.get_by_role("button", name="Avsluta sammanträdet").click()
    for _ in range(2):
        field(secretary, "Justerare som skriver under").select_option(index=1)
        secretary.get_by_role("button", name="Justera").click()
    minutes = secretary.locator(".protokoll")
    expect(minutes).to_contain_text("§ 1")
    expect(minutes).to_contain_text(diary_number)
    expect(minutes).to_contain_text("anses besvarat")
    expect(minutes).to_contain_text("Protokollet justerades")
    assert_accessible(secretary)
    screenshot(secretary, "meeting-minutes-adjusted")
    return meeting_url


def timeline_types(page: Page) -> list[str]:
    return page.locator("ol.timeline > li").evaluate_all("items => items.map(i => i.dataset.type)")


def auditor_sees_a_changed_event_named(browser: Browser, web: Web, case_url: str, diary_number: str) -> None:
    auditor = web.signed_in(browser, "auditor", javascript=False)  # reading needs no JavaScript
    auditor.goto(case_url)
    badge = auditor.locator("section.badge")
    expect(badge).to_contain_text("Oförändrat")
    with auditor.expect_download() as download:
        auditor.get_by_role("link", name="Ladda ned arkivpaketet (zip)").click()
    package = zipfile.ZipFile(BytesIO(open(download.value.path(), "rb").read()))
    assert "manifest.json" in package.namelist()

    decided = next(e for e in case_timeline(web, diary_number) if e["type"] == "Meeting.ItemDecided")
    StoredRows(web.configs["meetings"], "meetings").edit(
        decided["aggregate_id"], decided["aggregate_version"], b"considered_answered", b"approved")
    auditor.reload()
    expect(badge).to_have_class(re.compile("changed"))
    expect(badge).to_contain_text("Ändrat!")
    expect(badge).to_contain_text(f"Första ändrade händelsen: Beslut i paragraf (Meeting.ItemDecided) i sammanträden, "
                                  f"version {decided['aggregate_version']}")
    screenshot(auditor, "case-verification-changed")


def case_timeline(web: Web, diary_number: str) -> list[dict[str, Any]]:
    from tests.support.services import api_for

    return api_for(web.configs["audit"]).get(f"/cases/{diary_number}/timeline").json()["events"]
