"""The packaging scripts refuse bad input before they reach a Dev Hub (they cannot run here past that)."""

from __future__ import annotations

import subprocess

import pytest

from .force_app import DEFAULT, ROOT

SCRIPTS = ROOT / "sfdx" / "scripts"
CANVAS = DEFAULT / "extlClntAppCanvasSettings" / "Inflow.ecaCanvas-meta.xml"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPTS / script), *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.sh")))
def test_scripts_parse(script: str) -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPTS / script)]).returncode == 0


def test_create_refuses_a_canvas_url_that_salesforce_would_mangle() -> None:
    before = CANVAS.read_text()
    result = run("package-version-create.sh", "--canvas-url", "https://eu.inflow.example.com/canvas#x")
    assert result.returncode == 1
    assert "no #fragment" in result.stderr
    assert CANVAS.read_text() == before


@pytest.mark.parametrize("script", ["package-version-promote.sh", "package-install.sh"])
def test_version_scripts_want_a_04t_id(script: str) -> None:
    result = run(script, "0Ho000000000001AAA", "--target-org", "x") if "install" in script else run(script, "0Ho1")
    assert result.returncode == 1
    assert "expected a package version id (04t...)" in result.stderr


def test_install_needs_a_target_org() -> None:
    result = run("package-install.sh", "04t000000000001AAA")
    assert result.returncode == 1
    assert "--target-org is required" in result.stderr


def test_help_names_the_flags() -> None:
    result = run("package-version-create.sh", "--help")
    assert result.returncode == 0
    assert "--canvas-url" in result.stdout and "--devhub" in result.stdout


def test_scripts_are_executable() -> None:
    for path in SCRIPTS.glob("package-*.sh"):
        assert path.stat().st_mode & 0o111, path
