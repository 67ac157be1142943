"""`python -m sfdx.localorg --org src --org dst`: two orgs at once, each in the state file with its own URL,
token, data and Ids, as org-to-org runs and the migration benchmark use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_two_orgs_from_the_command_line_keep_their_own_data_and_ids(tmp_path: Path):
    state_file = tmp_path / "localorg.json"
    proc = subprocess.Popen([sys.executable, "-m", "sfdx.localorg", "--seed", "none", "--state-file", str(state_file),
                             "--org", "src", "--org", "dst"], cwd=ROOT, env={**os.environ},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (state_file.exists() and {"src", "dst"} <= set(json.loads(state_file.read_text())["orgs"])):
            assert time.monotonic() < deadline and proc.poll() is None, "localorg did not start"
            time.sleep(0.2)
        state = json.loads(state_file.read_text())
        src, dst = state["orgs"]["src"], state["orgs"]["dst"]
        assert src["instance_url"] != dst["instance_url"] and src["access_token"] != dst["access_token"]
        s = requests.Session()
        s.verify, s.trust_env = state["ca_cert"], False

        def call(org, method, path, token=None, **kw):
            return s.request(method, f"{org['instance_url']}/services/data/v66.0/{path}",
                             headers={"Authorization": f"Bearer {token or org['access_token']}"}, timeout=30, **kw)
        made = {o: call(org, "POST", "sobjects/Account", json={"Name": "Only here"}).json()["id"]
                for o, org in (("src", src), ("dst", dst))}
        assert made["src"] != made["dst"]
        for org in (src, dst):
            assert call(org, "GET", "query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"] == 1
        assert call(src, "GET", f"sobjects/Account/{made['dst']}").status_code == 404
        assert call(src, "GET", "limits", token=dst["access_token"]).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
