"""`python -m infra.local` (make dev): serve the whole product on 127.0.0.1:$PORT until interrupted."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    for name in ("werkzeug", "botocore", "boto3", "urllib3", "s3transfer"):  # their INFO lines are noise locally
        logging.getLogger(name).setLevel(logging.WARNING)
    from infra.local.stack import LocalStack

    port = int(os.environ.get("PORT", "3000"))
    # LOCAL_TEMPLATE: another template (a test's modified copy); its CodeUri paths are relative to it, as for SAM.
    template = Path(os.environ["LOCAL_TEMPLATE"]).resolve() if os.environ.get("LOCAL_TEMPLATE") else None
    stack = LocalStack(ROOT, port, os.environ.get("AWS_ENDPOINT_URL") or None, template=template)
    stack.start()
    print(f"Switchboard local stack ready: http://127.0.0.1:{port}/  (AWS stand-in: {stack.endpoint})", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    stack.stop()
    # Nothing to save: skip the interpreter's teardown of the AWS stand-in's memory (seconds, after a long session).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
