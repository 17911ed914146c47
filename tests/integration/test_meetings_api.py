"""The meetings service on both stores: bodies, agendas, numbered minutes, adjustment."""
from __future__ import annotations


from services.meetings.demo import run_meeting_seed
from tests.support.meetings import establish_body, hold_meeting
from tests.support.services import Api, assert_problem


def test_who_sat_on_a_body_on_a_given_date(meetings_api: Api) -> None:
    body = establish_body(meetings_api)
    leaving = next(m for m in body["memberships"] if m["name"] == "Per Boström")
    meetings_api.command(f"/bodies/{body['id']}/members/{leaving['membership_id']}/end", "secretary",
                         {"to_date": "2025-06-30"})
    meetings_api.command(f"/bodies/{body['id']}/members", "secretary",
                         {"name": "Ny ledamot (exempel)", "party": "KD", "role": "member", "side": "opposition",
                          "from_date": "2025-07-01"})

    def members_on(day: str) -> set[str]:
        shown = meetings_api.get(f"/bodies/{body['id']}", params={"on": day}).json()
        return {m["name"] for m in shown["memberships"]}

    assert "Per Boström" in members_on("2025-06-30")
    assert "Ny ledamot (exempel)" not in members_on("2025-06-30")
    assert "Per Boström" not in members_on("2025-07-01")
    assert "Ny ledamot (exempel)" in members_on("2025-07-01")
    assert members_on("2022-12-31") == set()
    assert_problem(meetings_api.post(f"/bodies/{body['id']}/members/{leaving['membership_id']}/end", "secretary",
                              {"to_date": "2025-08-01"}), 409)


def test_paragraphs_are_numbered_on_through_the_bodys_year(meetings_api: Api) -> None:
    body = establish_body(meetings_api)
    first = hold_meeting(meetings_api, body["id"], "RUN 2025-0001", through="decision")
    path = f"/meetings/{first['id']}"
    assert [p["paragraph"] for p in first["paragraphs"]] == ["§ 1"]
    assert_problem(meetings_api.post(f"{path}/agenda", "secretary", {"title": "För sent"}), 409)

    later = meetings_api.command("/meetings", "secretary", {
        **run_meeting_seed()["meeting"], "body_id": body["id"], "title": "Decembersammanträdet",
        "starts_at": "2025-12-10T09:00:00+01:00"})
    later_path = f"/meetings/{later['id']}"
    for title in ("Ärende A", "Ärende B"):
        later = meetings_api.command(f"{later_path}/agenda", "secretary", {"title": title})
    meetings_api.command(f"{later_path}/convocation", "secretary", {})
    meetings_api.command(f"{later_path}/opening", "secretary", {})
    for item in later["agenda"]:
        later = meetings_api.command(f"{later_path}/agenda/{item['item_id']}/decision", "secretary",
                                     {"outcome": "approved", "text": "Bifall."})
    assert [p["paragraph"] for p in later["paragraphs"]] == ["§ 2", "§ 3"]

    other_body = meetings_api.command("/bodies", "secretary", {**run_meeting_seed()["body"], "name": "Annan nämnd"})
    other = hold_meeting(meetings_api, other_body["id"], "RUN 2025-0002", through="decision")
    assert [p["paragraph"] for p in other["paragraphs"]] == ["§ 1"]


def test_agenda_items_can_be_added_reordered_and_withdrawn_until_the_meeting_opens(meetings_api: Api) -> None:
    body = establish_body(meetings_api)
    meeting = meetings_api.command("/meetings", "secretary", {**run_meeting_seed()["meeting"], "body_id": body["id"]})
    path = f"/meetings/{meeting['id']}"
    for title in ("Första", "Andra", "Tredje"):
        meeting = meetings_api.command(f"{path}/agenda", "secretary", {"title": title, "goal_area": "Samverkan"})
    ids = [item["item_id"] for item in meeting["agenda"]]
    meeting = meetings_api.command(f"{path}/agenda/order", "secretary", {"item_ids": [ids[2], ids[0], ids[1]]})
    assert [(i["number"], i["title"]) for i in meeting["agenda"]] == [(1, "Tredje"), (2, "Första"), (3, "Andra")]
    meeting = meetings_api.command(f"{path}/agenda/{ids[0]}/withdrawal", "secretary", {"reason": "Utgår"})
    assert [(i["number"], i["title"]) for i in meeting["agenda"]] == [(1, "Tredje"), (2, "Andra")]
    assert assert_problem(meetings_api.post(f"{path}/agenda/order", "secretary", {"item_ids": [ids[1]]}), 400)[
        "errors"][0]["field"] == "item_ids"
    meetings_api.command(f"{path}/convocation", "secretary", {})
    meetings_api.command(f"{path}/opening", "secretary", {})
    refused = assert_problem(meetings_api.post(f"{path}/agenda/{ids[1]}/withdrawal", "secretary", {"reason": "x"}), 409)
    assert refused["state"] == "open" and "decide_item" in refused["allowed_commands"]


def test_minutes_are_final_only_when_every_adjuster_has_signed(meetings_api: Api) -> None:
    body = establish_body(meetings_api)
    meeting = hold_meeting(meetings_api, body["id"], "RUN 2025-0001", through="signature_1")
    path = f"/meetings/{meeting['id']}"
    assert meeting["state"] == "closed" and meeting["adjusted_on"] is None
    assert assert_problem(meetings_api.post(f"{path}/signatures", "secretary", {"adjuster": "Någon annan"}), 400)[
        "errors"][0]["field"] == "adjuster"
    assert_problem(meetings_api.post(f"{path}/public-notice", "secretary", {}), 409)
    signed = meetings_api.command(f"{path}/signatures", "secretary", run_meeting_seed()["signatures"][1])
    assert signed["state"] == "adjusted" and signed["adjusted_on"] == "2025-11-17"
    noticed = meetings_api.command(f"{path}/public-notice", "secretary", {"notice_on": "2025-11-18"})
    assert noticed["public_notice_on"] == "2025-11-18"
    history = meetings_api.get(f"{path}/history").json()
    assert [e["type"] for e in history["events"]][-3:] == [
        "Meeting.MinutesSigned", "Meeting.MinutesAdjusted", "Meeting.PublicNoticeRecorded"]


def test_meetings_refuse_bad_input_and_other_roles(meetings_api: Api) -> None:
    seed = run_meeting_seed()
    assert_problem(meetings_api.post("/bodies", "registrar", seed["body"]), 403)
    assert_problem(meetings_api.post("/bodies", None, seed["body"]), 401)
    invalid = assert_problem(meetings_api.post("/bodies", "secretary", {**seed["body"], "kind": "club", "format": 3}), 400)
    assert {e["field"] for e in invalid["errors"]} == {"kind", "format"}
    naive = assert_problem(meetings_api.post("/meetings", "secretary", {
        **seed["meeting"], "body_id": "00000000-0000-0000-0000-000000000000", "starts_at": "2025-11-12T09:00"}), 400)
    assert naive["errors"][0]["field"] == "starts_at"
    assert_problem(meetings_api.post("/meetings", "secretary", {
        **seed["meeting"], "body_id": "00000000-0000-0000-0000-000000000000"}), 404)
    assert meetings_api.get("/openapi.json", None).status_code == 200


def test_a_meeting_closes_only_when_every_item_has_its_paragraph(meetings_api: Api) -> None:
    body = establish_body(meetings_api)
    meeting = hold_meeting(meetings_api, body["id"], "RUN 2025-0001", through="opening")
    refused = assert_problem(meetings_api.post(f"/meetings/{meeting['id']}/closing", "secretary", {}), 409)
    assert "undecided" in refused["detail"] and refused["allowed_commands"] == ["decide_item"]


def test_a_case_waits_on_one_meetings_agenda_at_a_time(meetings_api: Api) -> None:
    body = establish_body(meetings_api)
    hold_meeting(meetings_api, body["id"], "RUN 2025-0007", through="agenda")
    other = meetings_api.command("/meetings", "secretary", {**run_meeting_seed()["meeting"], "body_id": body["id"]})
    refused = assert_problem(meetings_api.post(f"/meetings/{other['id']}/agenda", "secretary",
                                        {"title": "Igen", "diary_number": "RUN 2025-0007"}), 400)
    assert refused["errors"][0]["field"] == "diary_number"


def test_paragraphs_decided_at_once_in_two_meetings_of_a_body_are_never_shared(meetings_api: Api) -> None:
    import eventlet

    body = establish_body(meetings_api)
    meetings = []
    for title in ("Förmiddag", "Eftermiddag"):
        meeting = meetings_api.command("/meetings", "secretary", {
            **run_meeting_seed()["meeting"], "body_id": body["id"], "title": title})
        for n in range(6):
            meeting = meetings_api.command(f"/meetings/{meeting['id']}/agenda", "secretary", {"title": f"Punkt {n}"})
        meetings_api.command(f"/meetings/{meeting['id']}/convocation", "secretary", {})
        meetings.append(meetings_api.command(f"/meetings/{meeting['id']}/opening", "secretary", {}))
    decisions = [(m["id"], item["item_id"]) for m in meetings for item in m["agenda"]]

    pool = eventlet.GreenPool(len(decisions))
    list(pool.imap(lambda d: meetings_api.command(f"/meetings/{d[0]}/agenda/{d[1]}/decision", "secretary",
                                                  {"outcome": "approved", "text": "Bifall."}), decisions))

    paragraphs = [p["paragraph"] for m in meetings for p in meetings_api.get(f"/meetings/{m['id']}").json()["paragraphs"]]
    assert sorted(paragraphs, key=lambda p: int(p[2:])) == [f"§ {n}" for n in range(1, 13)]
