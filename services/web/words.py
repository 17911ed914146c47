"""The Swedish words the pages use for the services' values (the handbook's DOMAIN.md).

A value with no word here is shown as the service sent it, so a new state is never hidden.
"""
from __future__ import annotations

import re
from typing import Any

WORDS: dict[str, dict[str, str]] = {
    "role": {
        "registrar": "registrator", "case_officer": "handläggare", "secretary": "nämndsekreterare",
        "strategist": "strateg", "auditor": "revisor",
    },
    "kind": {"initiative": "initiativärende", "motion": "motion"},
    "state": {
        # initiatives
        "submitted": "inkommet", "registered": "registrerat", "in_preparation": "under beredning",
        "answer_drafted": "svar framtaget", "scheduled": "på föredragningslista",
        "proposed": "förslag till beslut lämnat", "decided": "beslutat",
        "final": "beslutet justerat", "dispatched": "expedierat", "closed": "avslutat", "withdrawn": "återkallat",
        # meetings
        "convened": "kallat", "open": "pågår", "adjusted": "protokollet justerat", "cancelled": "inställt",
        # letters of intent, agreements
        "active": "gällande", "paused": "vilande", "terminated": "avslutad", "draft": "utkast",
        "in_force": "gäller", "signed": "undertecknad", "unsigned": "ej undertecknad",
        "awaiting_signatures": "inväntar underskrifter",
        # evaluations
        "planned": "planerad", "in_progress": "pågår", "completed": "klar", "published": "publicerad",
    },
    # a meeting's states: "scheduled" is its own word here (a case's is "på föredragningslista")
    "meeting_state": {
        "scheduled": "planerat", "convened": "kallat", "open": "pågår", "closed": "avslutat",
        "adjusted": "protokollet justerat", "cancelled": "inställt",
        # what the service says instead of a state when the state alone is not the reason
        "item already decided in this meeting": "pågår, och ärendet är redan beslutat",
        "signing has begun": "under justering: en justerare har redan skrivit under",
        "no adjusters appointed": "avslutat, men inga justerare är utsedda",
    },
    "membership_state": {"membership ended": "redan avslutat"},
    "outcome": {
        "approved": "bifall", "rejected": "avslag", "considered_answered": "anses besvarat",
        "referred_back": "återremiss", "tabled": "bordläggning",
    },
    "command": {
        "register": "registrera", "withdraw": "återkalla", "refer_for_preparation": "remittera för beredning",
        "draft_answer": "ta fram svar", "schedule_for_decision": "föra upp för beslut", "unschedule": "stryka från föredragningslistan",
        "record_decision": "föra in beslut", "finalise": "fastställa beslutet", "dispatch": "expediera",
        "close": "avsluta", "convene": "kalla", "cancel": "ställa in", "add_item": "lägga till ärende",
        "reorder_items": "ändra ordningen", "withdraw_item": "stryka ärende", "record_attendance": "föra närvaro",
        "decide_item": "besluta", "appoint_adjusters": "utse justerare", "sign_minutes": "justera protokollet",
        "record_public_notice": "anslå protokollet", "open": "öppna sammanträdet",
        "add_follow_up": "lägga till uppföljning", "compile_interim_report": "sammanställa delrapport",
        "pause": "göra vilande", "resume": "återuppta", "terminate": "avsluta", "renew": "förnya",
        "start": "påbörja", "revise_findings": "föra in resultat", "complete": "slutföra", "publish": "publicera",
        "sign_letter_of_intent": "föra in en avsiktsförklaring", "draft_agreement": "föra in en överenskommelse",
        "sign": "föra in en underskrift", "open_consultation": "skicka på remiss", "record_reply": "föra in remissvar",
        "schedule_review": "planera en prövning", "plan": "planera en utvärdering",
        "schedule": "planera sammanträdet", "establish": "inrätta organ", "add_member": "lägga till ledamot",
        "end_membership": "avsluta uppdraget", "mark_reminder_done": "kvittera bevakningen",
        "register_document": "registrera handlingar", "mark_secret": "sekretessmarkera",
        "lift_secrecy": "häva sekretessmarkeringar",
    },
    "body_kind": {"committee": "nämnd", "council": "fullmäktige", "collaboration_council": "samverkansråd",
                  "group": "grupp"},
    "member_role": {"chair": "ordförande", "vice_chair": "vice ordförande", "member": "ledamot",
                    "substitute": "ersättare", "co_opted": "adjungerad"},
    "side": {"majority": "majoriteten", "opposition": "oppositionen"},
    "vote": {"yes": "ja", "no": "nej", "abstain": "avstår"},
    "reminder_kind": {
        "preparation_due_passed": "beredningstiden har gått ut",
        "motion_undecided_11_months": "motionen är obesvarad efter elva månader",
        "motion_undecided_one_year": "motionen är obesvarad efter ett år (KL 5:35)",
        "minutes_not_adjusted": "protokollet är inte justerat 14 dagar efter sammanträdet",
        "appeal_period_ended": "överklagandetiden har gått ut: besluten har vunnit laga kraft",
        "consultation_reply_due_in_7_days": "remissvar ska in inom sju dagar",
        "consultation_reply_deadline_passed": "remisstiden har gått ut utan svar från alla",
    },
    # the rules of procedure a 409 names (shared.procedure, services/meetings/procedure.py)
    "rule": {
        "quorum": "Organet är inte beslutfört: fler än hälften av ledamöterna måste delta",
        "two-levels": "Ärendet bereds i två steg: beredande organ lämnar förslag till beslut, och bara organet "
                      "ärendet är ställt till avgör det",
        "referred-bodies": "Ärendet är inte remitterat till det här organet",
        "casting-vote": "Vid lika röstetal avgör ordförandens utslagsröst",
        "reservation": "Bara den som deltagit i beslutet och röstat emot det kan reservera sig",
    },
    "format": {"digital": "digitalt", "physical": "fysiskt", "residential": "internat"},
    "follow_up_kind": {"meeting": "möte", "contact": "kontakt", "joint_project": "gemensamt projekt",
                       "invitation": "inbjudan", "strategy_input": "inspel till strategi", "application": "ansökan"},
    "review_kind": {"mid_term": "halvtidsutvärdering", "relevance": "aktualitetsprövning",
                    "follow_up": "uppföljning", "dialogue": "dialog"},
    "status_change": {"paused": "gjordes vilande", "resumed": "återupptogs", "terminated": "avslutades",
                      "renewed": "förnyades"},
    "subject_kind": {"agreement": "överenskommelse", "letter_of_intent": "avsiktsförklaring", "body": "organ",
                     "case": "ärende"},
    # a case's documents (handlingar): their kind and direction in the diary, and the file types the services take
    "document_kind": {"motion": "motion", "tjansteskrivelse": "tjänsteskrivelse", "remissvar": "remissvar",
                      "protokollsutdrag": "protokollsutdrag", "beslut": "beslut", "skrivelse": "skrivelse",
                      "ovrigt": "övrigt"},
    "direction": {"incoming": "inkommande", "outgoing": "utgående", "drawn_up": "upprättad"},
    "media_type": {
        "application/pdf": "PDF", "text/plain": "text",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (DOCX)",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (XLSX)",
        "application/vnd.oasis.opendocument.text": "OpenDocument-text (ODT)",
        "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument-kalkyl (ODS)",
        "image/png": "PNG-bild", "image/jpeg": "JPEG-bild",
    },
    # the answer's sections, as a secrecy marking names them (answer.<section>)
    "answer_section": {"summary": "Sammanfattning", "proposal": "Förslag till beslut",
                       "assessed_results_and_consequences": "Bedömda resultat och konsekvenser",
                       "resources_and_financing": "Resurser och finansiering", "gender_equality": "Jämställdhet"},
    # how a day's view of a case reads its events (the services' `basis`)
    "basis": {"recorded": "som det registrerades", "in_effect": "som det gällde"},
    "service": {"initiatives": "ärenden", "meetings": "sammanträden", "letters_of_intent": "avsiktsförklaringar",
                "evaluations": "utvärderingar", "audit": "granskning"},
}

# What an event means, for the timeline (by the event's type; the service's own name otherwise).
EVENTS = {
    "Initiative.Submitted": "Initiativet lämnades in", "Initiative.Registered": "Registrerat i diariet",
    "Initiative.ReferredForPreparation": "Remitterat för beredning", "Initiative.AnswerDrafted": "Svar framtaget",
    "Initiative.ScheduledForDecision": "Uppfört på föredragningslista", "Initiative.Unscheduled": "Struket från föredragningslista",
    "Initiative.DecisionRecorded": "Beslut fattat", "Initiative.ProposalRecorded": "Förslag till beslut lämnat",
    "Initiative.ReminderRaised": "Bevakning", "Initiative.DecisionGainedLegalForce": "Beslutet har vunnit laga kraft",
    "Meeting.ReminderRaised": "Bevakning", "CollaborationAgreement.ReminderRaised": "Bevakning",
    "Initiative.Finalised": "Protokollet justerat, beslutet gäller",
    "Initiative.Dispatched": "Beslutet expedierat", "Initiative.Closed": "Ärendet avslutat",
    "Initiative.Withdrawn": "Återkallat", "Initiative.DocumentRegistered": "Handling registrerad",
    "Initiative.SecrecyMarked": "Sekretessmarkerat", "Initiative.SecrecyLifted": "Sekretessmarkering hävd",
    "Meeting.Scheduled": "Sammanträde planerat", "Meeting.Convened": "Kallelse skickad",
    "Meeting.ItemAdded": "Uppfört på föredragningslistan", "Meeting.ItemWithdrawn": "Struket från föredragningslistan",
    "Meeting.AgendaReordered": "Föredragningslistan ändrad", "Meeting.AttendanceRecorded": "Närvaro förd",
    "Meeting.Opened": "Sammanträdet öppnat", "Meeting.ItemDecided": "Beslut i paragraf",
    "Meeting.AdjustersAppointed": "Justerare utsedda", "Meeting.Closed": "Sammanträdet avslutat",
    "Meeting.MinutesSigned": "Protokollet signerat", "Meeting.MinutesAdjusted": "Protokollet justerat",
    "Meeting.PublicNoticeRecorded": "Protokollet anslaget", "Meeting.Cancelled": "Sammanträdet inställt",
    "LetterOfIntent.Signed": "Avsiktsförklaring undertecknad", "LetterOfIntent.FollowedUp": "Uppföljning",
    "LetterOfIntent.InterimReportCompiled": "Delrapport sammanställd",
    "LetterOfIntent.StatusChanged": "Avsiktsförklaringens läge ändrat",
    "CollaborationAgreement.Drafted": "Överenskommelse upprättad",
    "CollaborationAgreement.ContractSigned": "Samverkansavtal undertecknat",
    "CollaborationAgreement.EnteredIntoForce": "Överenskommelsen gäller",
    "CollaborationAgreement.ConsultationOpened": "Skickad på remiss",
    "CollaborationAgreement.ReplyRecorded": "Remissvar inkommet",
    "CollaborationAgreement.ReviewScheduled": "Prövning planerad",
    "CollaborationAgreement.ReviewFellDue": "Dags för prövning",
    "Evaluation.Planned": "Utvärdering planerad", "Evaluation.Started": "Utvärdering påbörjad",
    "Evaluation.FindingsRevised": "Resultat förda in", "Evaluation.Completed": "Utvärdering klar",
    "Evaluation.Published": "Utvärdering publicerad",
}

# marshmallow's messages, as the services send them, in Swedish (others are shown as sent).
MESSAGES = {
    "Missing data for required field.": "Måste fyllas i.",
    "Not a valid date.": "Inte ett giltigt datum (ÅÅÅÅ-MM-DD).",
    "Not a valid datetime.": "Inte en giltig tidpunkt.",
    "Not a valid string.": "Inte en giltig text.",
    "Not a valid UUID.": "Inte en giltig identitet.",
    "Not a valid URL.": "Inte en giltig webbadress.",
    "Not a valid boolean.": "Inte ett giltigt ja/nej-värde.",
    "Field may not be null.": "Måste fyllas i.",
    "Unknown field.": "Okänt fält.",
    "the aggregate did not exist at that point": "Det fanns inte då.",
    "the aggregate was not yet in effect on that day": "Det gällde inte ännu den dagen.",
    "expected a version number or an ISO 8601 date or timestamp": "Ange ett datum som ÅÅÅÅ-MM-DD.",
    "expected an ISO 8601 date or timestamp": "Ange ett datum som ÅÅÅÅ-MM-DD.",
    "Must be one of": "Måste vara ett av",
    "Shorter than minimum length 1.": "Minst en rad behövs.",
    # letters of intent, agreements, evaluations: what their rules answer
    "must fall after the signing (": "Måste infalla efter undertecknandet (",
    "must not precede the letter's signing (": "Får inte infalla före avsiktsförklaringens undertecknande (",
    "must not precede period_from": "Får inte infalla före periodens början.",
    "a report covers what has happened (compiled ": "En delrapport gäller det som har hänt (sammanställs ",
    "must fall after the renewal": "Måste infalla efter förnyelsen.",
    "each party once": "Varje part en gång.",
    "must be parties to the agreement": "Måste vara parter i överenskommelsen.",
    "not a party to this agreement: ": "Inte part i överenskommelsen: ",
    "after the agreement's period (": "Efter överenskommelsens period (",
    "each a party to the agreement, once": "Var och en part i överenskommelsen, en gång.",
    "within the agreement's period ": "Inom överenskommelsens period ",
    "must not precede the period (": "Får inte infalla före perioden (",
    "must not precede the start (": "Får inte infalla före starten (",
    "must not precede completion (": "Får inte infalla före slutförandet (",
    "no conclusion in the findings yet": "Resultaten har ännu ingen slutsats",
    "the id of the agreement": "Överenskommelsens id behövs (som i dess adress).",
    "the id of the letter_of_intent": "Avsiktsförklaringens id behövs (som i dess adress).",
    "the id of the body": "Organets id behövs (som i dess adress).",
    # the meetings service's own
    "must list each active item once:": "Ta med varje punkt på föredragningslistan en gång:",
    "not an adjuster of these minutes:": "Inte justerare av protokollet:",
    "each adjuster once": "Varje justerare en gång.",
    "must not precede the meeting": "Får inte vara före sammanträdet",
    "must not precede the adjustment": "Får inte vara före justeringen",
    "must not precede": "Får inte vara före",
}

# Messages with the service's values inside them, in Swedish (a replacement, or a function of the match).
PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"must not precede (\S+) \(signing or the last change\)"),
     r"Får inte infalla före \1 (undertecknandet eller den senaste ändringen)."),
    (re.compile(r"(.+) signed on (\S+)"), r"\1 skrev under \2"),
    (re.compile(r"(.+) has replied already"), r"\1 har redan svarat"),
    (re.compile(r"(.+) was not asked in this consultation"), r"\1 fick inte remissen."),
    (re.compile(r"replies must carry (.+), not (.+)"), r"Remissvaret ska ha diarienummer \1, inte \2."),
    (re.compile(r"The minutes are issued once the meeting is closed; the meeting is (\w+)\."),
     lambda found: f"Protokollet kan hämtas när sammanträdet är avslutat (läge nu: {word('meeting_state', found[1])})."),
    (re.compile(r"An extract of the minutes is issued once they are adjusted; the meeting is (\w+)\."),
     lambda found: f"Ett protokollsutdrag kan hämtas när protokollet är justerat (läge nu: {word('meeting_state', found[1])})."),
    (re.compile(r"The document is secret \(sekretess\) under (.+); only roles cleared for secret content read its file"),
     r"Handlingen omfattas av sekretess enligt \1. Din roll får inte läsa den."),
    (re.compile(r"larger than (\d+) bytes"),
     lambda found: f"Filen är för stor: högst {file_size(int(found[1]))}."),
    (re.compile(r"A case officer registers documents drawn up \(drawn_up\).*"),
     "En handläggare registrerar bara handlingar som upprättats här; registratorn registrerar inkommande och "
     "utgående handlingar."),
    (re.compile(r"a (\w+) review is already due on (\S+)"),
     lambda found: f"En {word('review_kind', found[1])} är redan planerad till {found[2]}"),
]


def word(group: str, value: object) -> str:
    if value is None:
        return ""
    return WORDS.get(group, {}).get(str(value), str(value))


def file_size(size: object) -> str:
    """A file's size in Swedish: "812 byte", "14,2 kB", "3,1 MB" (1 kB = 1024 byte)."""
    if not isinstance(size, int) or isinstance(size, bool):
        return ""
    if size < 1024:
        return f"{size} byte"
    amount, unit = size / 1024, "kB"
    if amount >= 1024:
        amount, unit = amount / 1024, "MB"
    return f"{amount:.1f} {unit}".replace(".", ",")


def event_words(event_type: str) -> str:
    return EVENTS.get(event_type, event_type)


def message(text: str) -> str:
    """A service's validation message in Swedish, where the pages know it."""
    for pattern, swedish in PATTERNS:
        if pattern.fullmatch(text):
            return pattern.sub(swedish, text)
    for english, swedish in MESSAGES.items():
        if text.startswith(english):
            return swedish + text[len(english):]
    return text
