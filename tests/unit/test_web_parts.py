"""The web app's pure parts: PKCE and the sign-in flow's cookie, form fields to JSON, a service's
400 beside the form's fields, search snippets, and the page to return to after signing in."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import Markup

from services.web.forms import CommandForm, Field, field_errors
from services.web.signin import Flow, OpenIdSignIn, code_challenge
from services.web.site import _local, _snippet


def test_the_pkce_challenge_is_rfc_7636s_s256() -> None:
    # RFC 7636, appendix B
    assert code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_new_flow_has_fresh_random_values_and_a_verifier_of_the_length_pkce_asks() -> None:
    first, second = Flow.new("/arenden"), Flow.new("/arenden")
    assert len({first.state, first.nonce, first.verifier, second.state, second.nonce, second.verifier}) == 6
    assert 43 <= len(first.verifier) <= 128 and set(first.verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert first.next == "/arenden"
    assert Flow.new("https://evil.example/").next == "/"


def test_the_flow_cookie_round_trips_and_a_damaged_one_is_no_flow() -> None:
    flow = Flow.new("/arenden?q=samverkan")
    assert Flow.from_cookie(flow.cookie()) == flow
    assert Flow.from_cookie(None) is None and Flow.from_cookie("") is None
    assert Flow.from_cookie("not base64 json") is None
    assert Flow.from_cookie(base64.urlsafe_b64encode(b'["a", "b"]').decode()) is None
    assert Flow.from_cookie(base64.urlsafe_b64encode(b'["a", "b", "", "/"]').decode()) is None
    tampered = base64.urlsafe_b64encode(json.dumps(["s", "n", "v", "//evil.example"]).encode()).decode()
    assert Flow.from_cookie(tampered).next == "/"  # the page to return to is checked again


def test_the_state_must_be_the_flows_own() -> None:
    flow = Flow.new("/")
    assert flow.state_matches(flow.state)
    assert not flow.state_matches(flow.state + "x")
    assert not flow.state_matches("")
    assert not flow.state_matches(None)
    assert not flow.state_matches(flow.nonce)


def test_the_authorization_request_asks_for_a_code_with_s256_state_and_nonce() -> None:
    signin = OpenIdSignIn(issuer="https://login.example/realms/r", client_id="arenden-web",
                          public_url="https://arenden.example/")
    signin._discovery, signin._discovered_at = {"authorization_endpoint": "https://login.example/auth?kc=1"}, 1e18
    flow = Flow.new("/")
    url = signin.authorization_url(flow)
    asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://login.example/auth?kc=1&")
    assert asked == {"kc": "1", "response_type": "code", "client_id": "arenden-web",
                     "redirect_uri": "https://arenden.example/logga-in/oidc/klar", "scope": "openid profile",
                     "state": flow.state, "nonce": flow.nonce, "code_challenge": code_challenge(flow.verifier),
                     "code_challenge_method": "S256"}
    assert flow.verifier not in url


@pytest.mark.parametrize("field, typed, sent", [
    (Field("title", "Rubrik"), {"title": "  Om samverkan  "}, "Om samverkan"),
    (Field("title", "Rubrik"), {"title": "   "}, None),
    (Field("title", "Rubrik"), {}, None),
    (Field("urgent", "Brådskande", "checkbox"), {"urgent": "on"}, True),
    (Field("urgent", "Brådskande", "checkbox"), {}, False),
    (Field("at", "Tid", "datetime"), {"at": "2025-05-17T10:30"}, "2025-05-17T10:30:00+02:00"),  # Swedish summer time
    (Field("at", "Tid", "datetime"), {"at": "2025-05-17T10:30:15"}, "2025-05-17T10:30:15+02:00"),
    (Field("clauses", "Att-satser", "lines"), {"clauses": "att utreda\r\n\n  att besluta  \n"},
     ["att utreda", "att besluta"]),
    (Field("people", "Förslagsställare", "rows", columns=("name", "party")),
     {"people": "Veronica Kerr; KD\nPer Boström\n\n"}, [{"name": "Veronica Kerr", "party": "KD"}, {"name": "Per Boström"}]),
    (Field("docs", "Underlag", "rows", columns=("title", "reference")),
     {"docs": "Protokoll; § 22; bilaga 3"}, [{"title": "Protokoll", "reference": "§ 22; bilaga 3"}]),
    (Field("people", "Mottagare", "rows", columns=("name", "party", "title")),
     {"people": "Rut; ; registrator"}, [{"name": "Rut", "title": "registrator"}]),
])
def test_a_field_gives_its_part_of_the_json_body(field: Field, typed: dict[str, str], sent: object) -> None:
    assert field.value_of(typed) == sent


FORM = CommandForm("submit", "Nytt ärende", "initiatives", "/initiatives", ("registrar",), (
    Field("title", "Rubrik"), Field("submitters", "Förslagsställare", "rows", columns=("name", "party")),
))


def test_a_services_400_is_shown_beside_its_fields_in_swedish_and_the_rest_on_top() -> None:
    by_field, general = field_errors({"errors": [
        {"field": "title", "message": "Missing data for required field."},
        {"field": "submitters.1.party", "message": "Not a valid string."},
        {"field": "submitted_on", "message": "Not a valid date."},
        {"field": "body", "message": "Something about the whole body"},
    ]}, FORM)
    assert by_field == {"title": ["Måste fyllas i."], "submitters": ["Rad 2: Inte en giltig text."]}
    assert general == ["submitted_on: Inte ett giltigt datum (ÅÅÅÅ-MM-DD).", "Something about the whole body"]


def test_a_400_without_field_errors_is_shown_on_top() -> None:
    assert field_errors({"title": "Invalid request", "detail": "The date is in the future"}, FORM) == (
        {}, ["The date is in the future"])
    assert field_errors({"title": "Invalid request"}, FORM) == ({}, ["Invalid request"])


def test_a_snippet_keeps_only_the_services_marks() -> None:
    # as the service sends it: the text escaped (shared.readmodel), the matches in <mark>
    sent = "Om &lt;b&gt;<mark>samverkan</mark>&lt;/b&gt; &amp; <script>alert(1)</script> &lt;mark&gt;x&lt;/mark&gt;"
    shown = _snippet(sent)
    assert isinstance(shown, Markup)
    assert shown == ("Om &lt;b&gt;<mark>samverkan</mark>&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt; "
                     "&lt;mark&gt;x&lt;/mark&gt;")
    assert _snippet("<mark onclick=x>a</mark>") == "&lt;mark onclick=x&gt;a</mark>"
    assert _snippet(None) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize("asked, kept", [
    ("/arenden", "/arenden"),
    ("/arenden?q=samverkan&state=registered", "/arenden?q=samverkan&state=registered"),
    ("/arenden?", "/arenden"),
    ("/", "/"),
    ("//evil.example/arenden", "/"),
    ("///evil.example", "/"),
    ("https://evil.example/", "/"),
    ("http:/evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("/\\evil.example", "/"),
    ("/\t/evil.example", "/"),
    ("arenden", "/"),
    ("", "/"),
])
def test_only_a_path_on_this_site_is_a_page_to_return_to(asked: str, kept: str) -> None:
    assert _local(asked) == kept


def test_every_template_compiles_with_the_sites_filters() -> None:
    from services.web.service import AREAS
    from services.web.site import Settings, Site
    from shared.auth import Authenticator

    site = Site(Settings(service_urls={}, authenticator=Authenticator([]), development_tokens={}), AREAS)
    names = site.templates.list_templates()
    assert "cases/case.html" in names and "meetings/meeting.html" in names
    for name in names:
        site.templates.get_template(name)  # a syntax error, or a filter the site lacks, raises here


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_style_sheets_text_colours_meet_wcag_aa_on_their_backgrounds() -> None:
    """WCAG 2.1 AA: 4.5:1 for text. The colours are the style sheet's own (its :root variables and
    the backgrounds text is set on)."""
    import re
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "services/web/static/site.css").read_text()
    colour = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", css))
    backgrounds = {"white": "#ffffff", "wash": colour["wash"], "notice": "#eef7ee", "problem": "#fcf0f1",
                   "overdue": "#fff4e5", "mark": "#ffe58a"}
    assert {"ink", "link", "bad", "quiet", "good"} <= set(colour)
    for text in ("ink", "link", "bad", "quiet"):
        for name, background in backgrounds.items():
            assert contrast(colour[text], background) >= 4.5, (text, name, contrast(colour[text], background))
    assert contrast("#ffffff", colour["link"]) >= 4.5  # button text on the button
    for background in ("#eef7ee", "#fcf0f1", "#fff4e5", "#ffe58a"):
        assert background in css  # the backgrounds checked are the ones the sheet uses
