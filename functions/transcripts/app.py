"""Amazon Transcribe's job state changes (EventBridge rule "Transcribe Job State Change", this stage's jobs): a
voicemail's transcript joins its message, once; a failed job is recorded."""

from aws_lambda_powertools import Logger

from switchboard import observability

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    # pydantic and the services load on the first invocation, not at init (tests/unit/test_cold_start.py)
    from switchboard.models import TranscriptionJobChange
    from switchboard.services import transcription
    from switchboard.store.table import Table

    change = TranscriptionJobChange.model_validate(event.get("detail") or {})
    outcome = transcription.finished(Table(), change.job_name, change.status)
    logger.info("transcription job ended", extra={"job": change.job_name, "status": change.status, "outcome": outcome})
    return {"outcome": outcome}
