"""Sök: every service's full-text search at once (the audit service's /search), each hit linked
to its page."""
from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.web.client import Refused
from services.web.site import Page

PAGE_SIZE = 25
# Where a hit's page is, by the list it is in on its service.
PAGES = {"initiatives": "/arenden", "meetings": "/sammantraden", "bodies": "/organ",
         "letters": "/avsiktsforklaringar", "agreements": "/overenskommelser", "evaluations": "/utvarderingar"}
KINDS = {"initiatives": "Ärende", "meetings": "Sammanträde", "bodies": "Organ", "letters": "Avsiktsförklaring",
         "agreements": "Överenskommelse", "evaluations": "Utvärdering"}


def search(page: Page) -> Response:
    words = (page.request.args.get("q") or "").strip()
    if not words:
        return page.render("search.html", words="", hits=None, next_cursor=None, error=None)
    try:
        found = page.services.get("audit", "/search", {
            "q": words, "limit": PAGE_SIZE, "cursor": page.request.args.get("cursor") or None})
    except Refused as refused:
        if refused.status != 400:
            raise
        errors = refused.problem.get("errors") or [{"message": refused.problem.get("detail", "")}]
        return page.render("search.html", status=400, words=words, hits=None, next_cursor=None,
                           error=errors[0]["message"])
    hits = [{**hit, "href": f"{PAGES[hit['listing']]}/{hit['aggregate_id']}" if hit.get("listing") in PAGES else None,
             "what": KINDS.get(hit.get("listing"), hit.get("aggregate"))} for hit in found["hits"]]
    return page.render("search.html", words=words, hits=hits, next_cursor=found["next"], error=None)


routes = [Rule("/sok", methods=["GET"], endpoint=search)]
