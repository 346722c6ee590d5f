"""The customer's side of a survey: one-click rating links and the thank-you page (HTML, no sign-in)."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.errors import SwitchboardError
from switchboard.services import survey
from switchboard.store.table import Table

router = APIGatewayHttpRouter()

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d2733}}
textarea{{width:100%;min-height:6rem}}button{{padding:.5rem 1rem}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def page(status: int, title: str, body: str) -> Response:
    return Response(status_code=status, content_type="text/html; charset=utf-8",
                    body=PAGE.format(title=html.escape(title), body=body),
                    headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
                             "Referrer-Policy": "no-referrer"})


def _error(exc: SwitchboardError) -> Response:
    status = exc.status if 400 <= exc.status < 500 else 503
    return page(status, "Sorry", f"<p>{html.escape(exc.message)}</p>")


@router.get("/survey/<token>", include_in_schema=False)
def rate(token: str):
    raw = router.current_event.get_query_string_value("rating") or ""
    try:
        rating = int(raw) if raw.isdigit() else 0
        _, recorded = survey.record_rating(Table(), token, rating)
    except SwitchboardError as exc:
        return _error(exc)
    note = "" if recorded else "<p>We had already received your rating; the first one counts.</p>"
    form = (f'<form method="post" action="/survey/{html.escape(token)}"><label for="comment">Anything to add? '
            f'(optional)</label><textarea id="comment" name="comment" maxlength="2000"></textarea>'
            f'<p><button type="submit">Send</button></p></form>')
    return page(200, "Thank you!", f"<p>Thank you for your feedback.</p>{note}{form}")


@router.post("/survey/<token>", include_in_schema=False)
def comment(token: str):
    body = router.current_event.decoded_body or ""
    text = (parse_qs(body).get("comment") or [""])[0]
    try:
        survey.record_comment(Table(), token, text)
    except SwitchboardError as exc:
        return _error(exc)
    return page(200, "Thank you!", "<p>Your comment was recorded.</p>")
