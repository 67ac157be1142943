"""The promises file, the tests that prove each promise, and docs/security.md generated from both.

The check itself (tests/promise_check.py) is run here by a real pytest, in a subprocess, on a tiny project.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backend.promises import DOC_FILE, ROOT, find_proofs, generate, load, render

TWO_PROMISES = '''
[[promise]]
id = "alpha"
promise = "Alpha holds."
mechanism = """First line.
Second line."""
enforced = ["a.py"]

[[promise]]
id = "beta"
promise = "Beta holds."
mechanism = """First line.
Second line."""
'''
GAMMA = '''
[[promise]]
id = "gamma"
promise = "Gamma holds."
mechanism = "One line."
'''
CHECKS = '''
import pytest


@pytest.mark.promise("alpha")
def test_one():
    assert True


@pytest.mark.promise("beta")
def test_two():
    assert {outcome}
'''


def test_the_committed_security_page_is_the_generated_one():
    assert DOC_FILE.read_text(encoding="utf-8") == generate(), \
        "docs/security.md is stale: run `python -m backend.promises`"


def test_every_promise_names_a_marked_test_and_every_marked_test_a_promise():
    known = {p.id for p in load()}
    proofs = find_proofs()
    assert {pid for pid, _ in proofs} == known
    for _, test in proofs:
        path, _, name = test.partition("::")
        assert f"def {name.rsplit('::', 1)[-1]}(" in (ROOT / path).read_text(encoding="utf-8")


def test_the_command_checks_the_page():
    result = subprocess.run([sys.executable, "-m", "backend.promises", "--check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "security.md is current" in result.stdout, result.stdout + result.stderr


class TinyProject:
    """A project with its own promises, page and tests, run by pytest with our plugin, as CI runs it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "checks").mkdir()
        (root / "pytest.ini").write_text("[pytest]\ntestpaths = checks\npromises_file = promises.toml\n"
                                         "promises_doc = security.md\naddopts = -p no:cacheprovider "
                                         "-p tests.promise_check\n")
        self.write(TWO_PROMISES, CHECKS.format(outcome="True"))
        self.regenerate()

    def write(self, promises: str, checks: str) -> None:
        (self.root / "promises.toml").write_text(promises)
        (self.root / "checks" / "test_checks.py").write_text(textwrap.dedent(checks))

    def regenerate(self) -> None:
        proofs = find_proofs(self.root, "checks")
        (self.root / "security.md").write_text(render(load(self.root / "promises.toml"), proofs))

    def pytest(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=120)


@pytest.fixture
def tiny(tmp_path: Path) -> TinyProject:
    return TinyProject(tmp_path)


def test_the_check_passes_when_every_promise_has_a_passing_test_and_the_page_is_current(tiny):
    result = tiny.pytest()
    assert result.returncode == 0, result.stdout
    assert "alpha" in (tiny.root / "security.md").read_text()


def test_a_promise_without_a_test_fails_a_full_run_but_not_a_partial_one(tiny):
    tiny.write(TWO_PROMISES + GAMMA, CHECKS.format(outcome="True"))
    tiny.regenerate()
    full = tiny.pytest()
    assert full.returncode == 1 and "promise 'gamma' has no passing test" in full.stdout, full.stdout
    assert tiny.pytest("checks/test_checks.py").returncode == 0  # a few tests cannot judge the promises
    forced = tiny.pytest("checks/test_checks.py", "--check-promises")
    assert forced.returncode == 1 and "'gamma'" in forced.stdout


def test_a_promise_whose_only_test_fails_is_not_kept(tiny):
    tiny.write(TWO_PROMISES, CHECKS.format(outcome="False"))
    result = tiny.pytest()
    assert result.returncode == 1 and "promise 'beta' has no passing test" in result.stdout, result.stdout
    assert "'alpha'" not in result.stdout.split("promise check")[-1]


def test_a_renamed_test_is_caught(tiny):
    tiny.write(TWO_PROMISES, CHECKS.format(outcome="True").replace("def test_two", "def test_two_renamed"))
    result = tiny.pytest()
    assert result.returncode == 1, result.stdout
    assert "security.md does not match the promises and their tests" in result.stdout
    tiny.regenerate()
    assert tiny.pytest().returncode == 0


def test_a_test_naming_an_unknown_promise_fails_any_run(tiny):
    tiny.write(TWO_PROMISES, CHECKS.format(outcome="True").replace('promise("beta")', 'promise("betta")'))
    result = tiny.pytest("checks/test_checks.py")
    assert result.returncode != 0
    assert "test_two names unknown promise 'betta'" in result.stdout + result.stderr
