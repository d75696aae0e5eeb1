"""The public rating page `/csat/{token}`: a 1-5 choice and a comment, stored once.

Browsers post the form; the chat widget posts JSON `{"score": 4, "comment": "..."}` to the same URL and
gets JSON back. No sign-in: the unguessable token is the authorisation.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

import msgspec
from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Template

from ticketing import csat
from ticketing.service import ChangeRejected

TEMPLATE = "ticketing/csat.html"
Token = Annotated[str, Parameter(description="The survey token from the rating request", max_length=64)]


@get("/csat/{token:str}", opt={"public": True}, include_in_schema=False)
async def csat_page(token: Token) -> Template:
    survey = await csat.find(token)
    if survey is None:
        return Template(TEMPLATE, context={"state": "unknown"}, status_code=404)
    if survey.score is not None:
        return Template(TEMPLATE, context={"state": "answered"})
    return Template(TEMPLATE, context={"state": "form", "token": token})


class RatingIn(msgspec.Struct):
    score: int
    comment: str = ""


@post("/csat/{token:str}", opt={"public": True}, status_code=200, tags=["CSAT"])
async def csat_submit(request: Request[Any, Any, Any], token: Token) -> Response[Any] | Template:
    """Store the rating: form-encoded from the page, or JSON from the widget."""
    body = await request.body()
    wants_json = request.headers.get("content-type", "").startswith("application/json")
    try:
        if wants_json:
            data = msgspec.json.decode(body, type=RatingIn)
        else:
            form = parse_qs(body.decode("utf-8", "replace"))
            data = RatingIn(score=int((form.get("score") or ["0"])[0]), comment=(form.get("comment") or [""])[0])
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
        data = RatingIn(score=0)
    try:
        await csat.answer(token, data.score, data.comment, via="widget" if wants_json else "page")
    except LookupError as exc:
        if wants_json:
            return Response({"detail": str(exc)}, status_code=404)
        return Template(TEMPLATE, context={"state": "unknown"}, status_code=404)
    except ChangeRejected as exc:
        survey = await csat.find(token)
        answered = survey is not None and survey.score is not None
        if wants_json:
            return Response({"detail": str(exc)}, status_code=409 if answered else 400)
        if answered:
            return Template(TEMPLATE, context={"state": "answered"}, status_code=409)
        return Template(TEMPLATE, context={"state": "form", "token": token, "error": str(exc)}, status_code=400)
    if wants_json:
        return Response({"status": "recorded", "score": data.score})
    return Template(TEMPLATE, context={"state": "thanks", "score": data.score})
