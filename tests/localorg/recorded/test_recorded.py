"""Replays every recorded real Salesforce exchange in fixtures/ against localorg and compares structure."""

from __future__ import annotations

from pathlib import Path

import pytest

from .compare import compare
from .replay import Replay, load

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.json"))


def test_enough_recordings_each_naming_its_source():
    assert len(FIXTURES) >= 60
    for path in FIXTURES:
        source = load(path)["source"]
        assert source.get("url") or {"repo", "path", "commit"} <= source.keys(), path.name
        assert "commit" not in source or len(source["commit"]) == 40, path.name


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_localorg_answers_like_the_recording(path, localorg, make_org, sf_session):
    fixture = load(path)
    resp = Replay(localorg, make_org(), sf_session).send(fixture["replay"])
    problems = compare(fixture, resp)
    assert not problems, f"{fixture['case']} ({fixture['source']}):\n  " + "\n  ".join(problems[:40])
