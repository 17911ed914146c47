"""The meeting's minutes as documents: the whole protokoll, and a protokollsutdrag of one paragraph.

Both are rendered from the meeting's view (the MeetingView dump, the JSON GET /meetings/<id>
answers), read with .get: a meeting recorded before votes, reservations, recusals or
decisions proposed to another body were kept simply has none to show.

The protokoll follows the layout Swedish minutes use: the first page tells where and when,
who decided and who else was there, who adjusts, the paragraphs it holds, the signatures and
the ANSLAG/BEVIS (when the adjustment was announced, when the notice comes down, where the
minutes are kept); then one section per paragraph.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Sequence

from services.meetings.domain import APPEAL_PERIOD  # the notice stays up for the time to appeal
from shared import clock
from shared.pdf import Document, Signer

KEPT_AT = "Regionens registratur (diariet)"

OUTCOMES = {
    "approved": "bifalls", "rejected": "avslås", "considered_answered": "anses besvarad",
    "referred_back": "återremitteras", "tabled": "bordläggs",
}
ROLES = {
    "chair": "ordförande", "vice_chair": "vice ordförande", "member": "ledamot", "substitute": "ersättare",
    "co_opted": "adjungerad", "secretary": "sekreterare",
}
BALLOTS = {"yes": "Ja", "no": "Nej", "abstain": "Avstår"}
# Who decides: the body's members, and a substitute serving for one; the rest attend (co-opted
# members, officials, the secretary). The role is the service's word or, typed in a form, Swedish.
DECIDING_ROLES = {"chair", "vice_chair", "member", "ordförande", "vice ordförande", "ledamot", ""}
CHAIR_ROLES = {"chair", "ordförande"}
SECRETARY_ROLES = {"secretary", "sekreterare", "nämndsekreterare"}
ROLE_ORDER = {"chair": 0, "ordförande": 0, "vice_chair": 1, "vice ordförande": 1}

Meeting = Mapping[str, Any]


# --- the documents ------------------------------------------------------------------------


def minutes_pdf(meeting: Meeting, kept_at: str = KEPT_AT) -> bytes:
    """The whole PROTOKOLL; until adjusted it says "Ej justerat" on every page."""
    body, day = meeting.get("body") or "", meeting_day(meeting)
    adjusted = is_adjusted(meeting)
    doc = Document(title=f"Protokoll {body} {day}", header_left=body, header_right=f"PROTOKOLL {day}",
                   mark="" if adjusted else "Ej justerat", author=body)
    doc.title_block(body, "PROTOKOLL", [f"Sammanträdesdatum {day}", *([meeting["title"]] if meeting.get("title") else [])])
    if not adjusted:
        doc.banner("EJ JUSTERAT")
        doc.text("Protokollet är ännu inte justerat. Besluten är inte slutliga förrän justeringen är klar.")

    deciding, others = split_attendance(meeting.get("attendance") or [])
    rows: list[tuple[str, str | Sequence[str]]] = [
        ("Plats och tid", place_and_time(meeting)),
        ("Beslutande", [attendee_line(a) for a in deciding] or "–"),
    ]
    if others:
        rows.append(("Övriga närvarande", [attendee_line(a) for a in others]))
    rows += [
        ("Justerare", swedish_list(meeting.get("adjusters") or []) or "Inga utsedda"),
        ("Justeringens plats och tid", f"Justerat {as_day(meeting.get('adjusted_on'))}" if adjusted else "Ej justerat"),
        ("Paragrafer", paragraph_range(meeting.get("paragraphs") or []) or "–"),
    ]
    doc.facts(rows)

    doc.heading("Underskrifter", level=2)
    doc.signatures(signers(meeting, others))
    notice(doc, meeting, kept_at)

    paragraphs = meeting.get("paragraphs") or []
    if paragraphs:
        doc.page_break()
    for paragraph in paragraphs:
        paragraph_section(doc, meeting, paragraph)
    return doc.to_bytes()


def extract_pdf(meeting: Meeting, paragraph: str) -> bytes:
    """The PROTOKOLLSUTDRAG of one paragraph ("§ 45" or "45"), to dispatch with the decision."""
    found = paragraph_of(meeting, paragraph)
    if found is None:
        raise LookupError(f"no paragraph {paragraph} in the minutes of {meeting.get('title')}")
    body, day = meeting.get("body") or "", meeting_day(meeting)
    adjusted = is_adjusted(meeting)
    doc = Document(title=f"Protokollsutdrag {body} {day} {found.get('paragraph')}", header_left=body,
                   header_right=f"PROTOKOLLSUTDRAG {day} {found.get('paragraph')}",
                   mark="" if adjusted else "Ej justerat", author=body)
    doc.title_block(body, "PROTOKOLLSUTDRAG", [f"Sammanträdesdatum {day}",
                                                f"Utdrag ur protokollet, {found.get('paragraph') or ''}"])
    if not adjusted:
        doc.banner("EJ JUSTERAT")
    doc.facts([
        ("Organ", body),
        ("Sammanträde", meeting.get("title") or "–"),
        ("Sammanträdesdatum", day or "–"),
        ("Paragraf", found.get("paragraph") or "–"),
        ("Dnr", found.get("diary_number") or "–"),
    ])
    paragraph_section(doc, meeting, found, show_diary_number=False)

    doc.heading("Justering och anslag", level=2)
    notice_on = as_date(meeting.get("public_notice_on"))
    doc.facts([
        ("Justerare", swedish_list(meeting.get("adjusters") or []) or "Inga utsedda"),
        ("Justeringsdatum", as_day(meeting.get("adjusted_on")) if adjusted else "Ej justerat"),
        ("Justeringen anslagen", notice_on.isoformat() if notice_on else "Ännu inte anslagen"),
        ("Anslaget tas ned", (notice_on + APPEAL_PERIOD).isoformat() if notice_on else "–"),
    ])
    doc.space(4)
    doc.text("Utdraget överensstämmer med protokollet.")
    doc.signatures([Signer("Utdragsbestyrkande", "", "Namnförtydligande och datum")], per_row=2)
    return doc.to_bytes()


# --- parts --------------------------------------------------------------------------------


def paragraph_section(doc: Document, meeting: Meeting, paragraph: Mapping[str, Any],
                      show_diary_number: bool = True) -> None:
    """One § as the minutes record it: the proposals, the vote, the decision, reservations, recusals."""
    doc.heading(f"{paragraph.get('paragraph') or '§'} {paragraph.get('title') or ''}".strip())
    if show_diary_number and paragraph.get("diary_number"):
        doc.text(f"Dnr {paragraph['diary_number']}")
    parties = parties_of(meeting)
    proposals = [p for p in paragraph.get("proposals") or [] if isinstance(p, Mapping)]
    if proposals:
        doc.heading("Förslag till beslut" if len(proposals) == 1 else "Yrkanden", level=2)
        for number, proposal in enumerate(proposals, start=1):
            prefix = f"Förslag {number} – " if len(proposals) > 1 else ""
            doc.text(f"{prefix}{who(proposal.get('by'), parties)}: {proposal.get('text') or ''}")
    vote = paragraph.get("vote")
    if isinstance(vote, Mapping):
        vote_section(doc, meeting, vote, proposals, parties)

    doc.heading("Beslut", level=2)
    outcome = paragraph.get("outcome")
    if outcome:
        doc.text(f"Utfall: {OUTCOMES.get(outcome, outcome)}", bold=True)
    if paragraph.get("text"):
        doc.text(paragraph["text"])
    if paragraph.get("proposal_to"):
        doc.text(f"Beslutet är ett förslag till {paragraph['proposal_to']}.")

    reservations = [r for r in paragraph.get("reservations") or [] if isinstance(r, Mapping)]
    if reservations:
        doc.heading("Reservation", level=2)
        for reservation in reservations:
            doc.text(reservation_line(reservation, parties))
    recused = [name for name in paragraph.get("recused") or [] if name]
    if recused:
        doc.heading("Jäv", level=2)
        doc.text(f"{swedish_list(recused)} deltar inte i handläggningen av ärendet på grund av jäv.")


def vote_section(doc: Document, meeting: Meeting, vote: Mapping[str, Any], proposals: Sequence[Mapping[str, Any]],
                 parties: Mapping[str, str]) -> None:
    doc.heading("Omröstning", level=2)
    yes_text = proposal_name(vote.get("yes_proposal"), proposals, parties)
    no_text = proposal_name(vote.get("no_proposal"), proposals, parties)
    put = "Omröstning begärs och verkställs."
    if yes_text and no_text:
        put += f" Ja-röst för {yes_text}, nej-röst för {no_text}."
    doc.text(put)
    ballots = [b for b in vote.get("ballots") or [] if isinstance(b, Mapping)]
    counts = {kind: sum(1 for b in ballots if b.get("vote") == kind) for kind in BALLOTS}
    counts = {kind: vote.get(kind) if isinstance(vote.get(kind), int) else counts[kind] for kind in BALLOTS}
    if ballots:
        rows = [[b.get("member") or "", parties.get(b.get("member") or "", ""),
                 *("X" if b.get("vote") == kind else "" for kind in BALLOTS)] for b in ballots]
        doc.table(["Ledamot", "Parti", *BALLOTS.values()], rows, widths=(70, 25, 25, 25, 25),
                  align=("LEFT", "LEFT", "CENTER", "CENTER", "CENTER"),
                  footer=["Summa", "", *(str(counts[kind]) for kind in BALLOTS)])
    doc.text(f"Omröstningen utfaller med {votes(counts['yes'], 'ja')} mot {votes(counts['no'], 'nej')}; "
             f"{counts['abstain']} avstår.")
    casting = vote.get("casting_vote")
    if casting in ("yes", "no"):
        doc.text(f"Rösterna är lika. Ordföranden använder sin utslagsröst för {BALLOTS[casting].lower()}.", bold=True)
    result = vote.get("result")
    if result in ("yes", "no"):
        chosen = proposal_name(vote.get(f"{result}_proposal"), proposals, parties)
        outcome = f"{meeting.get('body') or 'Organet'} har därmed beslutat enligt {chosen}." if chosen else ""
        doc.text(f"Resultat: {BALLOTS[result].lower()}. {outcome}".strip())


def notice(doc: Document, meeting: Meeting, kept_at: str) -> None:
    """ANSLAG/BEVIS: the adjustment announced on the notice board, three weeks."""
    notice_on = as_date(meeting.get("public_notice_on"))
    with doc.framed(least_height=70):
        doc.heading("ANSLAG/BEVIS", level=2)
        if notice_on:
            doc.text("Protokollet är justerat. Justeringen har tillkännagivits genom anslag.")
        elif is_adjusted(meeting):
            doc.text("Protokollet är justerat. Justeringen har ännu inte tillkännagivits genom anslag.")
        else:
            doc.text("Protokollet är inte justerat. Justeringen tillkännages genom anslag när den är klar.")
        doc.facts([
            ("Organ", meeting.get("body") or "–"),
            ("Sammanträdesdatum", meeting_day(meeting) or "–"),
            ("Datum då anslaget sätts upp", notice_on.isoformat() if notice_on else "–"),
            ("Datum då anslaget tas ned", (notice_on + APPEAL_PERIOD).isoformat() if notice_on else "–"),
            ("Förvaringsplats för protokollet", kept_at),
        ])
        doc.signatures([Signer("Underskrift", "", "Namnförtydligande")], per_row=2)


def signers(meeting: Meeting, others: Sequence[Mapping[str, Any]]) -> list[Signer]:
    """Sekreterare, ordförande and each justerare, with the day each adjuster signed."""
    attendance = meeting.get("attendance") or []
    secretary = next((a.get("name") for a in others if role_of(a) in SECRETARY_ROLES), "")
    chair = next((a.get("name") for a in attendance if role_of(a) in CHAIR_ROLES), "")
    signatures = meeting.get("signatures") or {}
    lines = [Signer("Sekreterare", secretary or ""), Signer("Ordförande", chair or "")]
    for name in meeting.get("adjusters") or []:
        signed = signatures.get(name)
        lines.append(Signer("Justerare", name, f"Justerat {as_day(signed)}" if signed else "Har inte justerat"))
    return lines


def split_attendance(attendance: Iterable[Any]) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(beslutande, övriga närvarande): a substitute decides when serving for a member."""
    deciding, others = [], []
    for attendee in attendance:
        if not isinstance(attendee, Mapping):
            continue
        role = role_of(attendee)
        if role in DECIDING_ROLES or attendee.get("serving_for"):
            deciding.append(attendee)
        else:
            others.append(attendee)
    deciding.sort(key=lambda a: ROLE_ORDER.get(role_of(a), 2))
    return deciding, others


def attendee_line(attendee: Mapping[str, Any]) -> str:
    """ "Veronica Kerr (KD), ledamot"; a substitute "Anna Berg (M) (ersättare för Bo Ek)"."""
    line = attendee.get("name") or ""
    if attendee.get("party"):
        line += f" ({attendee['party']})"
    if attendee.get("serving_for"):
        return f"{line} (ersättare för {attendee['serving_for']})"
    role = role_of(attendee)
    return f"{line}, {ROLES.get(role, role)}" if role else line


def reservation_line(reservation: Mapping[str, Any], parties: Mapping[str, str]) -> str:
    by = reservation.get("by") or ""
    subject = f"Ledamöterna för {by}" if reservation.get("party_group") else who(by, parties)
    reason = (reservation.get("reason") or "").strip()
    return f"{subject} reserverar sig mot beslutet" + (f": {reason}" if reason else ".")


def proposal_name(index: Any, proposals: Sequence[Mapping[str, Any]], parties: Mapping[str, str]) -> str:
    """ "förslag 1 (Veronica Kerr (KD))" for a 1-based index; "" when it points at no proposal."""
    if not isinstance(index, int) or not 1 <= index <= len(proposals):
        return ""
    by = proposals[index - 1].get("by")
    return f"förslag {index} ({who(by, parties)})" if by else f"förslag {index}"


def parties_of(meeting: Meeting) -> dict[str, str]:
    return {a["name"]: a["party"] for a in meeting.get("attendance") or []
            if isinstance(a, Mapping) and a.get("name") and a.get("party")}


def who(name: Any, parties: Mapping[str, str]) -> str:
    name = str(name or "")
    return f"{name} ({parties[name]})" if name in parties else name


def role_of(attendee: Mapping[str, Any]) -> str:
    return str(attendee.get("role") or "").strip().lower()


def votes(count: Any, kind: str) -> str:
    return f"{count} {kind}-{'röst' if count == 1 else 'röster'}"


# --- facts of the meeting -------------------------------------------------------------------


def paragraph_of(meeting: Meeting, paragraph: str | int) -> Mapping[str, Any] | None:
    """The paragraph numbered so ("§ 45", "45" or 45); None when the minutes have none."""
    wanted = paragraph_number(str(paragraph))
    for found in meeting.get("paragraphs") or []:
        if wanted is not None and paragraph_number(str(found.get("paragraph") or "")) == wanted:
            return found
    return None


def paragraph_number(text: str) -> int | None:
    match = re.fullmatch(r"\s*(?:§\s*)?(\d+)\s*", text)
    return int(match.group(1)) if match else None


def paragraph_range(paragraphs: Sequence[Mapping[str, Any]]) -> str:
    numbers = [n for n in (paragraph_number(str(p.get("paragraph") or "")) for p in paragraphs) if n is not None]
    if not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    return f"§ {low}" if low == high else f"§ {low}–{high}"


def is_adjusted(meeting: Meeting) -> bool:
    return meeting.get("state") == "adjusted" or bool(meeting.get("adjusted_on"))


def starts_at(meeting: Meeting) -> datetime | None:
    value = meeting.get("starts_at")
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment.astimezone(clock.time_zone()) if moment.tzinfo else moment


def meeting_day(meeting: Meeting) -> str:
    moment = starts_at(meeting)
    return moment.date().isoformat() if moment else ""


def place_and_time(meeting: Meeting) -> str:
    moment = starts_at(meeting)
    when = f"{moment.date().isoformat()} kl. {moment.strftime('%H.%M')}" if moment else ""
    return ", ".join(part for part in (meeting.get("place"), when) if part) or "–"


def as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def as_day(value: Any) -> str:
    day = as_date(value)
    return day.isoformat() if day else str(value or "")


def swedish_list(names: Sequence[str]) -> str:
    """ "A, B och C"."""
    names = [str(name) for name in names if name]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + (f" och {names[-1]}" if names else "")


# --- file names -----------------------------------------------------------------------------


def minutes_filename(meeting: Meeting) -> str:
    """protokoll-regionala-utvecklingsnamnden-2025-11-12.pdf"""
    return f"{slug('protokoll', meeting.get('body'), meeting_day(meeting))}.pdf"


def extract_filename(meeting: Meeting, paragraph: str | int) -> str:
    """protokollsutdrag-regionala-utvecklingsnamnden-2025-11-12-paragraf-45.pdf"""
    number = paragraph_number(str(paragraph))
    return f"{slug('protokollsutdrag', meeting.get('body'), meeting_day(meeting), 'paragraf', number)}.pdf"


def slug(*parts: Any) -> str:
    """ASCII words joined by hyphens (å, ä, ö lose their marks): safe in a Content-Disposition."""
    text = " ".join(str(part) for part in parts if part not in (None, ""))
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:150] or "dokument"
