"""The customer's side of a survey: one-click rating links and the thank-you page (HTML, no sign-in)."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.automation_settings import SurveyPageSettings
from switchboard.errors import SwitchboardError
from switchboard.services import automation_config, survey
from switchboard.store.table import Table

router = APIGatewayHttpRouter()

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d2733}}
textarea{{width:100%;min-height:6rem}}button{{padding:.5rem 1rem}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""

# A refusal's words, by its error code (the page settings hold them in the customers' language).
ERROR_TEXTS = {"invalid_token": "invalid_link", "expired_token": "expired_link", "survey_gone": "gone",
               "invalid_rating": "invalid_rating", "empty_comment": "comment_refused",
               "comment_refused": "comment_refused"}


def _words() -> SurveyPageSettings:
    try:
        return automation_config.load(Table()).survey.page
    except SwitchboardError:  # the settings could not be read: the pages still answer, in the defaults
        return SurveyPageSettings()


def page(status: int, title: str, body: str, words: SurveyPageSettings) -> Response:
    return Response(status_code=status, content_type="text/html; charset=utf-8",
                    body=PAGE.format(lang=html.escape(words.language), title=html.escape(title), body=body),
                    headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
                             "Referrer-Policy": "no-referrer",
                             "Content-Language": words.language})


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _error(exc: SwitchboardError, words: SurveyPageSettings) -> Response:
    status = exc.status if 400 <= exc.status < 500 else 503
    text = getattr(words, ERROR_TEXTS.get(exc.code, "unavailable" if status >= 500 else "invalid_link"))
    return page(status, words.sorry_title, _p(text), words)


@router.get("/survey/<token>", include_in_schema=False)
def rate(token: str):
    words = _words()
    raw = router.current_event.get_query_string_value("rating") or ""
    try:
        rating = int(raw) if raw.isdigit() else 0
        _, recorded = survey.record_rating(Table(), token, rating)
    except SwitchboardError as exc:
        return _error(exc, words)
    note = "" if recorded else _p(words.already_rated)
    form = (f'<form method="post" action="/survey/{html.escape(token)}"><label for="comment">'
            f'{html.escape(words.comment_prompt)}</label><textarea id="comment" name="comment" maxlength="2000">'
            f'</textarea><p><button type="submit">{html.escape(words.comment_button)}</button></p></form>')
    return page(200, words.thanks_title, f"{_p(words.thanks_text)}{note}{form}", words)


@router.post("/survey/<token>", include_in_schema=False)
def comment(token: str):
    words = _words()
    body = router.current_event.decoded_body or ""
    text = (parse_qs(body).get("comment") or [""])[0]
    try:
        survey.record_comment(Table(), token, text)
    except SwitchboardError as exc:
        return _error(exc, words)
    return page(200, words.thanks_title, _p(words.comment_thanks), words)
