"""`.ci/xmlcheck.py` catches the malformed XML that `sf project convert source` lets through."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .force_app import ROOT

SCRIPT = ROOT / ".ci" / "xmlcheck.py"


def run(*paths: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, paths)], capture_output=True, text=True, cwd=ROOT)


def test_the_package_metadata_is_well_formed() -> None:
    result = run("force-app", "sfdx/config")
    assert result.returncode == 0, result.stdout
    assert "xmlcheck: 0 malformed file(s)" in result.stdout


def test_mismatched_and_truncated_files_fail(tmp_path: Path) -> None:
    objects = tmp_path / "objects" / "Import_Run__c"
    objects.mkdir(parents=True)
    (objects / "Import_Run__c.object-meta.xml").write_text("<CustomObject><label>Import Run<label></CustomObject>")
    (tmp_path / "Inflow.eca-meta.xml").write_text(
        '<?xml version="1.0"?>\n<ExternalClientApplication>\n  <label>x</label>\n'
    )
    (tmp_path / "notes.txt").write_text("<not xml")
    result = run(tmp_path)
    assert result.returncode == 1
    assert "Import_Run__c.object-meta.xml: mismatched tag" in result.stdout
    assert "Inflow.eca-meta.xml: no element found" in result.stdout
    assert "notes.txt" not in result.stdout
    assert "xmlcheck: 2 malformed file(s)" in result.stdout


def test_aura_markup_with_undeclared_prefixes_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "host.cmp").write_text('<aura:component><force:canvasApp developerName="Inflow"/></aura:component>')
    assert run(tmp_path).returncode == 0


def test_a_missing_path_is_an_error() -> None:
    assert run("no-such-dir").returncode == 2
