"""Small files of every allowed type, made here (no fixtures on disk), and uploading them to a running
service: for the file store's tests and the documents' and attachments' tests."""
from __future__ import annotations

import io
import zipfile
from typing import Any

import requests

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
PNG = "image/png"
JPEG = "image/jpeg"
TEXT = "text/plain"


def pdf(text: str = "Tjänsteskrivelse") -> bytes:
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text=text.encode("latin-1", "replace").decode("latin-1"))
    return bytes(document.output())


def _zip(entries: list[tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries:
            archive.writestr(name, content, compress_type=zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def docx() -> bytes:
    return _zip([("[Content_Types].xml", "<Types/>"), ("_rels/.rels", "<Relationships/>"),
                 ("word/document.xml", "<w:document/>")])


def xlsx() -> bytes:
    return _zip([("[Content_Types].xml", "<Types/>"), ("xl/workbook.xml", "<workbook/>")])


def odt() -> bytes:
    return _zip([("mimetype", ODT), ("content.xml", "<office:document-content/>")])


def image(format_: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format=format_)
    return buffer.getvalue()


def samples() -> dict[str, bytes]:
    """One file of each allowed type, by its media type."""
    return {PDF: pdf(), DOCX: docx(), XLSX: xlsx(), ODT: odt(), PNG: image("PNG"), JPEG: image("JPEG"),
            TEXT: "Remissvar från Umeå kommun\nSe bilaga.\n".encode("utf-8")}


def upload(api: Any, content: bytes, media_type: str | None, filename: str | None = "Motion.pdf",
           role: str = "registrar") -> requests.Response:
    """POST /files on a running service (tests.support.services.Api); no filename or type: none sent."""
    params = {} if filename is None else {"filename": filename}
    headers = {} if media_type is None else {"Content-Type": media_type}
    return api.request("POST", "/files", role, params=params, data=content, headers=headers)


def uploaded(api: Any, content: bytes, media_type: str, filename: str, role: str = "registrar") -> dict[str, Any]:
    """An upload that must succeed: the stored file {sha256, size, media_type, filename}."""
    response = upload(api, content, media_type, filename, role)
    assert response.status_code == 201, response.text
    return response.json()


def document(file: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A document to register on seed 000's case (an incoming motion), naming an uploaded file or none."""
    return {"kind": "motion", "direction": "incoming", "title": "Motion om samverkan med kommunerna",
            "dated": "2025-05-17", "counterpart": "Veronica Kerr (KD)",
            "file": None if file is None else {"sha256": file["sha256"], "filename": file["filename"]}, **changes}
