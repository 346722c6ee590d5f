"""The local stack's Amazon Transcribe (issue 17): which functions a job's event reaches (the template's EventBridge
rule, matched as EventBridge matches), where a job's output goes, and what the sandbox writes there."""

from __future__ import annotations

import json
import types

from infra.local.events import transcribe_event
from infra.local.sandbox import TRANSCRIPT, transcribe_output
from infra.local.template import Resolver, load
from infra.local.transcribe import matches, output_location, targets
from switchboard.services.transcription import words_of
from tests.conftest import ROOT

CALL = "CA" + "7" * 32


def rule_pattern() -> dict:
    template = load(ROOT / "template.yaml")
    functions = {"TranscriptsFunction": types.SimpleNamespace(
        name="TranscriptsFunction", events=template["Resources"]["TranscriptsFunction"]["Properties"]["Events"])}
    (target,) = targets(functions, Resolver(template))
    return target.pattern


def test_the_rule_takes_this_stages_finished_jobs_only():
    pattern = rule_pattern()
    stage = pattern["detail"]["TranscriptionJobName"][0]["prefix"]
    assert stage == "switchboard-dev-"  # the template's default stage, as the local stack resolves it
    assert matches(pattern, transcribe_event(f"switchboard-dev-{CALL}", "COMPLETED"))
    assert matches(pattern, transcribe_event(f"switchboard-dev-{CALL}", "FAILED"))
    assert not matches(pattern, transcribe_event(f"switchboard-dev-{CALL}", "IN_PROGRESS"))
    assert not matches(pattern, transcribe_event(f"switchboard-prod-{CALL}", "COMPLETED"))
    other = transcribe_event(f"switchboard-dev-{CALL}", "COMPLETED") | {"source": "aws.s3"}
    assert not matches(pattern, other)
    assert not matches(pattern, {"source": "aws.transcribe"})  # no detail at all


def test_a_jobs_output_goes_where_transcribe_puts_it():
    def job(key: str | None) -> types.SimpleNamespace:
        return types.SimpleNamespace(transcription_job_name="j1", output_key=key, _output_bucket_name="b")

    assert output_location(job(f"transcripts/{CALL}.json")) == ("b", f"transcripts/{CALL}.json")
    assert output_location(job("transcripts/")) == ("b", "transcripts/j1.json")
    assert output_location(job("transcripts")) == ("b", "transcripts/j1.json")
    assert output_location(job(None)) == ("b", "j1.json")


def test_the_sandbox_writes_transcribes_output_format():
    body = transcribe_output("j1", "123456789012")
    document = json.loads(body)
    assert document["status"] == "COMPLETED" and document["results"]["transcripts"] == [{"transcript": TRANSCRIPT}]
    spoken = [i["alternatives"][0]["content"] for i in document["results"]["items"] if i["type"] == "pronunciation"]
    assert spoken[:3] == ["Hi", "this", "is"]
    assert words_of(body) == TRANSCRIPT


def test_a_job_stays_queued_until_finished_and_its_event_can_be_lost():
    # moto alone moves a job to COMPLETED as soon as it is read, with no output written: the emulation holds it, so
    # that TimersFunction's check (GetTranscriptionJob) sees a job under way until the emulation ends it
    import boto3
    from moto import mock_aws

    from infra.local.transcribe import LocalTranscribe, Target

    delivered: list[dict] = []
    function = types.SimpleNamespace(name="TranscriptsFunction", invoke=lambda event: delivered.append(event) or {})
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="media")
        s3.put_object(Bucket="media", Key="media/a.wav", Body=b"RIFF")
        local = LocalTranscribe([Target(function, rule_pattern())], s3)  # type: ignore[arg-type]
        try:
            transcribe = boto3.client("transcribe", region_name="us-east-1")
            name = f"switchboard-dev-{CALL}"
            transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US",
                                               Media={"MediaFileUri": "s3://media/media/a.wav"},
                                               OutputBucketName="media", OutputKey=f"transcripts/{CALL}.json")
            for _ in range(3):  # under way: moto's first state, which names no status
                job = transcribe.get_transcription_job(TranscriptionJobName=name)["TranscriptionJob"]
                assert job["TranscriptionJobName"] == name and "TranscriptionJobStatus" not in job
            assert local.finish_jobs(deliver=False) == [(name, "COMPLETED", [])]
            assert delivered == []  # the event lost on the way
            job = transcribe.get_transcription_job(TranscriptionJobName=name)["TranscriptionJob"]
            assert job["TranscriptionJobStatus"] == "COMPLETED"
            body = s3.get_object(Bucket="media", Key=f"transcripts/{CALL}.json")["Body"].read()
            assert words_of(body) == TRANSCRIPT
        finally:
            LocalTranscribe.release_jobs()
