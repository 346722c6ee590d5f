"""infra/scripts/seed.py fills the local stack through the signed webhooks, and what it sends can be searched."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import quote

from tests.conftest import ROOT
from tests.e2e.conftest import SECRETS

SCRIPT = ROOT / "infra" / "scripts" / "seed.py"


def test_help_says_what_it_sends():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout
    assert "usage:" in out and "--conversations" in out and "Jānis Bērziņš" in out


def test_seeded_customers_are_found_by_a_piece_of_their_name_their_phone_and_a_word_they_wrote(local_stack):
    env = dict(os.environ, **SECRETS, PUBLIC_BASE_URL=local_stack.base)
    run = subprocess.run([sys.executable, str(SCRIPT), "--url", local_stack.base, "--conversations", "12",
                          "--workers", "2"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "0 requests failed" in run.stdout

    def found(q: str, kind: str, name: str):
        def check():
            body = local_stack.api("GET", f"/api/search?q={quote(q)}").json()
            items = body.get(kind, [])
            return any(name in ((i.get("name") or i.get("contact", {}).get("name")), i.get("phone")) for i in items)
        return check

    # (an SMS carries no name: José García is known by his number)
    for q, kind, name in [("berz", "contacts", "Jānis Bērziņš"), ("+371 2000 0000", "contacts", "Jānis Bērziņš"),
                          ("blender", "conversations", "Jānis Bērziņš"), ("88231", "conversations", "Zoë Müller"),
                          ("zoe.muller@", "contacts", "Zoë Müller"), ("+34 612 345 678", "contacts", "+34612345678"),
                          ("kayak", "conversations", "Ann Lee")]:
        assert local_stack.wait_for(found(q, kind, name), timeout=60), (q, kind, name)
