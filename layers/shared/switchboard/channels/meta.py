"""What WhatsApp, Messenger and Instagram share: Meta's GET handshake, X-Hub-Signature-256, Graph sends, uploads and
errors."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote

from switchboard import http_input, secrets
from switchboard.channels import http
from switchboard.channels.base import INDICATOR_TIMEOUT_SECONDS, Channel, WebhookReply, WebhookRequest
from switchboard.channels.fields import as_str
from switchboard.errors import Forbidden, MalformedPayload, PermanentSendError, RetryableSendError, SignatureError
from switchboard.models import SendResult


class MetaChannel(Channel):
    # Graph error codes worth a retry later (throttling, maintenance); everything else is permanent.
    retryable_codes: frozenset[int] = frozenset({4, 17, 32, 613, 80007, 130429, 131056, 131057, 2})

    def handshake(self, request: WebhookRequest) -> WebhookReply:
        expected = secrets.get("meta_verify_token")
        token = request.query.get("hub.verify_token", "")
        challenge = request.query.get("hub.challenge", "")
        if (request.query.get("hub.mode") == "subscribe" and expected and challenge
                and hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected.encode())):
            return WebhookReply(200, challenge, "text/plain")
        raise Forbidden("verify token mismatch", code="handshake_refused")

    def verify(self, request: WebhookRequest) -> None:
        secret = secrets.get("meta_app_secret")
        header = request.header("x-hub-signature-256") or ""
        if not secret:
            raise SignatureError("no app secret configured: refusing every request")
        if not header.startswith("sha256="):
            raise SignatureError("missing X-Hub-Signature-256")
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(header[len("sha256="):].strip().lower().encode(), expected.encode()):
            raise SignatureError("signature mismatch")

    @staticmethod
    def load_json(body: bytes) -> dict[str, Any]:
        data = http_input.load_json(body, strict=False)  # not JSON, or past json's own depth: a 400
        if not isinstance(data, dict):
            raise MalformedPayload("body is not a JSON object")
        return data

    def graph_error(self, response: Any) -> None:
        """Raise the send error a Graph API failure means."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = _error_code(error.get("code"))
        title = next((t for t in (error.get("message"), error.get("error_user_msg")) if isinstance(t, str) and t), "")
        reason = f"{self.name} error {code}: {title}".rstrip(": ") if code is not None else ""
        reason = reason or f"{self.name} HTTP {response.status_code}"
        if response.status_code == 429 or response.status_code >= 500 or code in self.retryable_codes:
            raise RetryableSendError(reason, retry_after=http.retry_after(response))
        raise PermanentSendError(reason)

    def _auth(self) -> dict[str, str]:
        """The Graph API's Authorization header, with the channel's own token (PermanentSendError without one)."""
        raise NotImplementedError

    def graph_send(self, url: str, body: dict[str, Any], *id_path: str | int) -> SendResult:
        """POST a message (`body`, JSON) to the Graph API at `url`: its id, found in the answer at `id_path`
        (WhatsApp's messages[0].id, the Send API's message_id)."""
        response = self.graph_post(url, body)
        provider_id = _answer_id(response, id_path)
        if not provider_id:
            # Graph accepted the message (2xx): retrying could deliver it twice, so the outcome is reported instead.
            raise PermanentSendError("the Graph API accepted the send without a message id: delivery unknown",
                                     outcome_unknown=True)
        return SendResult(provider_message_id=provider_id)

    def graph_post(self, url: str, body: dict[str, Any], **options: Any) -> Any:
        """POST `body` (JSON) to the Graph API at `url` with the channel's token: the answer, or the send error a
        failure means. `options` go to http.request (a short timeout and no retries for an indicator)."""
        response = http.request("POST", url, json=body, headers=self._auth(), **options)
        if response.status_code >= 400:
            self.graph_error(response)
        return response

    def graph_indicate(self, url: str, body: dict[str, Any]) -> None:
        """An indicator (a read receipt, a typing indicator) POSTed to the Graph API: one attempt, a short timeout.
        Graph answers `{"success": true}` or the recipient, never a message id."""
        self.graph_post(url, body, retries=False, timeout=INDICATOR_TIMEOUT_SECONDS)

    def graph_upload(self, url: str, form: dict[str, Any], upload: dict[str, Any], *, id_key: str, what: str,
                     id_name: str) -> str:
        """POST a file (multipart: `form` and `upload`) to the Graph API at `url`: the id it answers with at
        `id_key`. An upload sends nothing to the customer, so one whose outcome is unknown, or refused for good
        before it was tried (no token), is simply tried again: RetryableSendError "`what`: ...", or "the Graph
        API took the `what` without `id_name`"."""
        try:
            response = http.request("POST", url, data=form, files=upload, headers=self._auth())
        except PermanentSendError as exc:
            raise RetryableSendError(f"{what}: {exc.message}") from None
        if response.status_code >= 400:
            self.graph_error(response)
        upload_id = _answer_id(response, (id_key,))
        if not upload_id:
            raise RetryableSendError(f"the Graph API took the {what} without {id_name}")
        return upload_id


def graph_segment(value: str) -> str:
    """An id (Page, PSID, IGSID, phone number id, media id) as one escaped Graph URL path segment. Raises ValueError
    for a dot segment or an empty id, which an HTTP library would resolve into another path."""
    if value in ("", ".", ".."):
        raise ValueError("not a Graph id")
    return quote(value, safe="")


def _answer_id(response: Any, path: tuple[str | int, ...]) -> str | None:
    """The id at `path` in a Graph answer's JSON; None when the answer is not JSON or has no such id."""
    try:
        found = response.json()
        for step in path:
            found = found[step]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return as_str(found)


def _error_code(value: Any) -> int | None:
    """Graph's numeric error code (an int; tolerate its string form and nothing else)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        return int(value)
    return None
