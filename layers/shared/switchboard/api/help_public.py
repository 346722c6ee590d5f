"""The help center's public routes (no sign-in, no cookies, rate limited per client address): the widget's
suggestions before a chat, readers' feedback, the pages' view beacon, and chats started after a suggestion."""

from __future__ import annotations

import html
import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api.help_schemas import ChatAfterIn, FeedbackIn, Ok, SuggestionList, ViewIn
from switchboard.api.schemas import ApiModel
from switchboard.channels.webchat import check_origin
from switchboard.errors import BadRequest, SwitchboardError, TooManyRequests
from switchboard.services import help_public
from switchboard.settings import get_settings

router = APIGatewayHttpRouter()
MAX_BODY = 2048
# The public bodies (parsed here, since the feedback also comes as a plain HTML form): in the OpenAPI document.
BODIES: dict[str, type[ApiModel]] = {"/help/feedback": FeedbackIn, "/help/views": ViewIn, "/help/chats": ChatAfterIn}


def _ip() -> str | None:
    return router.current_event.request_context.http.source_ip


def _error(exc: SwitchboardError) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else {}
    return Response(status_code=exc.status, content_type="application/json", headers=headers,
                    body={"error": {"code": exc.code, "message": exc.message}})


def _form() -> bool:
    return (router.current_event.headers.get("content-type") or "").startswith("application/x-www-form-urlencoded")


def _body() -> dict[str, Any]:
    raw = router.current_event.decoded_body or ""
    if len(raw) > MAX_BODY:
        raise BadRequest("the body is too large", code="bad_json")
    if _form():
        try:
            form = parse_qs(raw, max_num_fields=8)
        except ValueError:
            raise BadRequest("too many form fields", code="bad_form") from None
        return {k: v[0] for k, v in form.items() if len(v) == 1}
    try:
        body = json.loads(raw or "{}")
    except ValueError:
        raise BadRequest("the body is not JSON", code="bad_json") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", code="bad_json")
    return body


# The routes return a Response (not a model): a refusal (429 with Retry-After) is answered here, not validated as
# the success model; the models are documented through `responses`.
def _doc(status: int, model: Any, description: str) -> Any:
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


@router.get("/webchat/articles", summary="Articles answering what a visitor types before a chat (the best three)",
            responses=_doc(200, SuggestionList, "the best three (or none)"))
def suggest(
    q: Annotated[str | None, Query(max_length=200)] = None,
    locale: Annotated[str | None, Query(max_length=16)] = None,
) -> Response[Any]:
    try:
        check_origin(router.current_event.headers.get("origin"))
        found = help_public.suggest(q, locale, _ip())
    except SwitchboardError as exc:
        return _error(exc)
    return Response(status_code=200, content_type="application/json", body=SuggestionList.model_validate(found),
                    headers={"Cache-Control": "no-store"})


THANKS = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,
initial-scale=1"><title>Thank you</title></head><body><main><p>{text}</p><p><a href="{home}">{home_text}</a></p></main>
</body></html>"""


@router.post("/help/feedback", summary='"Was this helpful?" on an article page (JSON, or the page\'s form)',
             responses=_doc(200, Ok, "counted (the form gets a thank-you page)"))
def feedback() -> Response[Any]:
    try:
        help_public.feedback(_body(), _ip())
    except SwitchboardError as exc:
        return _error(exc)
    if _form():  # the page without JavaScript: a page to land on
        from switchboard.services import automation_config
        from switchboard.store.table import Table

        try:
            look = automation_config.load(Table()).help_center
            words = (look.thanks, look.all_articles)
        except SwitchboardError:
            words = ("Thanks for your feedback!", "All articles")
        home = get_settings().help_site_url.rstrip("/") + "/"
        page = THANKS.format(text=html.escape(words[0]), home=html.escape(home), home_text=html.escape(words[1]))
        return Response(status_code=200, content_type="text/html; charset=utf-8", body=page,
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'",
                                 "Referrer-Policy": "no-referrer"})
    return Response(status_code=200, content_type="application/json", body=Ok())


@router.post("/help/views", summary="A view of an article page (the page's beacon)",
             responses={204: {"description": "counted"}})
def view() -> Response[Any]:
    try:
        help_public.viewed(_body(), _ip())
    except SwitchboardError as exc:
        return _error(exc)
    return Response(status_code=204, content_type="application/json", body="")


@router.post("/help/chats", summary="A visitor who opened a suggested article still started a chat (not deflected)",
             responses={204: {"description": "counted"}})
def chat_after() -> Response[Any]:
    try:
        help_public.chat_after(_body(), _ip())
    except SwitchboardError as exc:
        return _error(exc)
    return Response(status_code=204, content_type="application/json", body="")


PUBLIC_ERRORS = {"400": "Bad input", "403": "An origin the web chat does not allow", "404": "No such published article",
                 "422": "Invalid query parameters", "429": "Too many requests from this address (Retry-After)",
                 "503": "A dependency is unavailable; retry"}


def document(doc: dict[str, Any]) -> None:
    """Name the public routes' bodies and refusals in the OpenAPI document (the bodies are parsed here: the
    feedback is also a form)."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    for path in ("/webchat/articles", *BODIES):
        for operation in doc.get("paths", {}).get(path, {}).values():
            responses = operation.setdefault("responses", {})
            for status, description in PUBLIC_ERRORS.items():
                responses[status] = {"description": description, "content": error}
    for path, model in BODIES.items():
        operation = doc.get("paths", {}).get(path, {}).get("post")
        if operation is None:
            continue
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        content = {"application/json": {"schema": ref}}
        if path == "/help/feedback":
            content["application/x-www-form-urlencoded"] = {"schema": ref}
        operation["requestBody"] = {"required": True, "content": content}
