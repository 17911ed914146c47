"""The web app's pure parts for documents and secrecy: a file field is not part of the JSON body and makes
its form multipart, file sizes and the services' file messages in Swedish, the secrecy forms' choices,
and a request limit that lets the services' largest file through."""
from __future__ import annotations

import re
from pathlib import Path


from services.web.forms import CommandForm, Field
from services.web.pages.cases import REGISTER_DOCUMENT, _secrecy_forms
from services.web.site import DEFAULT_MAX_BODY_BYTES, Settings
from services.web.words import file_size, message
from shared.files import DEFAULT_FILE_MAX_BYTES

ROOT = Path(__file__).resolve().parents[2]


def test_a_file_field_is_left_out_of_the_body_and_makes_the_form_multipart() -> None:
    assert REGISTER_DOCUMENT.has_file
    body = REGISTER_DOCUMENT.body({"kind": "remissvar", "direction": "incoming", "title": " Remissvar ",
                                   "dated": "2025-06-02", "file": "remissvar.pdf", "secret_under": ""})
    assert body == {"kind": "remissvar", "direction": "incoming", "title": "Remissvar", "dated": "2025-06-02"}
    plain = CommandForm("close", "Avsluta", "initiatives", "/initiatives/{id}/closure", ("registrar",),
                        (Field("closed_on", "Avslutat", "date"),))
    assert not plain.has_file


def test_file_sizes_and_the_services_file_messages_are_said_in_swedish() -> None:
    assert [file_size(n) for n in (0, 1023, 1024, 14_540, 26_214_400)] == [
        "0 byte", "1023 byte", "1,0 kB", "14,2 kB", "25,0 MB"]
    assert file_size(None) == "" and file_size(True) == ""
    assert message("larger than 65536 bytes") == "Filen är för stor: högst 64,0 kB."
    assert message("The document is secret (sekretess) under OSL 21 kap. 7 §; only roles cleared for secret "
                   "content read its file") == "Handlingen omfattas av sekretess enligt OSL 21 kap. 7 §. Din roll " \
                                               "får inte läsa den."


def test_the_secrecy_forms_offer_the_sections_with_text_the_documents_and_the_markings() -> None:
    case = {"answer": {"summary": "Text", "proposal": "Bifalls.", "gender_equality": None},
            "documents": [{"document_id": "d1", "kind": "remissvar", "title": "Remissvar", "dated": "2025-06-02"},
                          {"document_id": "d2", "kind": "motion", "title": None, "dated": "2025-05-17",
                           "redacted": {"provision": "OSL 21 kap. 7 §"}}],
            "secrecy": {"document:d2": {"provision": "OSL 21 kap. 7 §"}}}
    mark, lift = _secrecy_forms(case)
    [target] = [f for f in mark.fields if f.name == "target"]
    assert target.options == (("answer.summary", "Svaret: Sammanfattning"),
                              ("answer.proposal", "Svaret: Förslag till beslut"),
                              ("document:d1", "Handling: Remissvar (remissvar, 2025-06-02)"),
                              ("document:d2", "Handling: sekretess enligt OSL 21 kap. 7 § (motion, 2025-05-17)"))
    [marked] = [f for f in lift.fields if f.name == "target"]
    assert marked.options == (("document:d2", "Handling: sekretess enligt OSL 21 kap. 7 § (motion, 2025-05-17) – "
                                              "OSL 21 kap. 7 §"),)
    assert [f.command for f in _secrecy_forms({"answer": None, "documents": [], "secrecy": {}})] == []


def test_the_web_app_takes_a_form_with_the_largest_file_the_services_take() -> None:
    assert Settings({}, None, {}).max_body_bytes == DEFAULT_MAX_BODY_BYTES > DEFAULT_FILE_MAX_BYTES
    for service, setting in (("web", "WEB_MAX_BODY_BYTES"), ("initiatives", "FILE_MAX_BYTES"),
                             ("letters_of_intent", "FILE_MAX_BYTES"), ("evaluations", "FILE_MAX_BYTES")):
        assert re.search(rf"^{setting}: \$\{{{setting}:(\d+)\}}", config_of(service), re.M), service
    web = default_of("web", "WEB_MAX_BODY_BYTES")
    assert web >= DEFAULT_MAX_BODY_BYTES
    assert all(web > default_of(service, "FILE_MAX_BYTES") for service in ("initiatives", "letters_of_intent",
                                                                           "evaluations"))


def config_of(service: str) -> str:
    return (ROOT / "services" / service / "config.yml").read_text()


def default_of(service: str, setting: str) -> int:
    return int(re.search(rf"^{setting}: \$\{{{setting}:(\d+)\}}", config_of(service), re.M)[1])
