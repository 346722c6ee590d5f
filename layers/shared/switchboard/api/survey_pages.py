"""The customer's side of a survey: one-click rating links and the thank-you page (HTML, no sign-in)."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.automation_settings import SurveyPageSettings
from switchboard.errors import BadRequest, SwitchboardError, TooManyRequests
from switchboard.services import automation_config, ratelimit, survey, survey_answers
from switchboard.settings import get_settings
from switchboard.store.table import Table

router = APIGatewayHttpRouter()

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d2733}}
textarea{{width:100%;min-height:6rem}}button{{padding:.5rem 1rem}}
button[aria-pressed=true]{{background:#1d2733;color:#fff;font-weight:700}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""

# A refusal's words, by its error code (the page settings hold them in the customers' language).
ERROR_TEXTS = {"invalid_token": "invalid_link", "expired_token": "expired_link", "survey_gone": "gone",
               "invalid_rating": "invalid_rating", "empty_comment": "comment_refused",
               "comment_refused": "comment_refused", "rate_limited": "rate_limited"}
MAX_FORM_FIELDS = 8


def _words() -> SurveyPageSettings:
    try:
        return automation_config.load(Table()).survey.page
    except SwitchboardError:  # the settings could not be read: the pages still answer, in the defaults
        return SurveyPageSettings()


def page(status: int, title: str, body: str, words: SurveyPageSettings,
         headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="text/html; charset=utf-8",
                    body=PAGE.format(lang=html.escape(words.language), title=html.escape(title), body=body),
                    headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
                             "Referrer-Policy": "no-referrer",
                             "Content-Language": words.language, **(headers or {})})


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _error(exc: SwitchboardError, words: SurveyPageSettings) -> Response:
    status = exc.status if 400 <= exc.status < 500 else 503
    text = getattr(words, ERROR_TEXTS.get(exc.code, "unavailable" if status >= 500 else "invalid_link"))
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return page(status, words.sorry_title, _p(text), words, headers)


def _limit(kind: str) -> None:
    """Each client address may open so many survey pages, and post so many answers, a minute (429 past that)."""
    address = ratelimit.client_address(router.current_event.request_context.http.source_ip)
    if address is None:
        return
    settings = get_settings()
    limit = settings.survey_address_pages_per_minute if kind == "page" else settings.survey_address_posts_per_minute
    ratelimit.check(Table(), "survey-address", ratelimit.subject(survey.rate_limit_key(), address),
                    [ratelimit.Limit(kind, 60, limit)], "requests")


def _forms(token: str, shown: int | None, prompt: str, words: SurveyPageSettings) -> str:
    """The rating (to confirm or change: a POST, which link scanners do not send) and the optional comment, which
    confirms the rating shown with it."""
    action = f"/survey/{html.escape(token)}"
    pressed = {n: ' aria-pressed="true"' if n == shown else "" for n in range(1, 6)}
    buttons = "".join(f'<button type="submit" name="rating" value="{n}"{pressed[n]}>{n}</button> ' for n in range(1, 6))
    rating = f'<form method="post" action="{action}"><p>{html.escape(prompt)}</p><p>{buttons}</p></form>'
    keep = f'<input type="hidden" name="rating" value="{shown}">' if shown else ""
    comment = (f'<form method="post" action="{action}">{keep}<label for="comment">'
               f'{html.escape(words.comment_prompt)}</label><textarea id="comment" name="comment" maxlength="2000">'
               f'</textarea><p><button type="submit">{html.escape(words.comment_button)}</button></p></form>')
    return rating + comment


@router.get("/survey/<token>", include_in_schema=False)
def rate(token: str):
    words = _words()
    try:
        _limit("page")
        rating = survey_answers.parse_rating(router.current_event.get_query_string_value("rating"))
        _, decision = survey.answer_token(Table(), token, rating, "link")
    except SwitchboardError as exc:
        return _error(exc, words)
    if decision.outcome == "held":  # maybe a mail filter's click: the customer confirms it here
        return page(200, words.thanks_title, _forms(token, rating, words.confirm_prompt, words), words)
    note = _p(words.already_rated) if decision.outcome == "unchanged" else ""
    return page(200, words.thanks_title, f"{_p(words.thanks_text)}{note}"
                + _forms(token, decision.counted, words.change_prompt, words), words)


@router.post("/survey/<token>", include_in_schema=False)
def comment(token: str):
    words = _words()
    try:
        _limit("post")
        try:
            form = parse_qs(router.current_event.decoded_body or "", max_num_fields=MAX_FORM_FIELDS)
        except ValueError:
            raise BadRequest("too many form fields", code="empty_comment") from None
        ratings, text = form.get("rating"), (form.get("comment") or [""])[0]
        shown: int | None = None
        if ratings is not None:
            if len(ratings) != 1:
                raise BadRequest("one rating at a time", code="invalid_rating")
            _, decision = survey.answer_token(Table(), token, survey_answers.parse_rating(ratings[0]), "page")
            shown = decision.counted
        elif not text.strip():
            raise BadRequest("the comment is empty", code="empty_comment")
        if text.strip():
            survey.record_comment(Table(), token, text)
            return page(200, words.thanks_title, _p(words.comment_thanks), words)
    except SwitchboardError as exc:
        return _error(exc, words)
    return page(200, words.thanks_title, _p(words.rating_saved) + _forms(token, shown, words.change_prompt, words),
                words)
