"""A pytest plugin: tests carry `@pytest.mark.promise("<id>")`; a run fails on an id not in the promises file, and a
full run (or one with --check-promises) also fails when a promise has no passing test or docs/security.md is stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.promises import COMMAND, MARKER, load, render

_PARAMS = re.compile(r"\[.*\]$")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--check-promises", action="store_true",
                     help="check every promise has a passing test and the promises page is current, "
                          "even when only some tests run")
    parser.addini("promises_file", "the promises (toml)", default="backend/promises.toml")
    parser.addini("promises_doc", "the page generated from them", default="docs/security.md")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(*ids): the test proves these promises (backend/promises.toml)")
    config.pluginmanager.register(PromiseCheck(config), "promise-check")


def _full_run(config: pytest.Config) -> bool:
    """Only a run of every test can say a promise has no passing test."""
    if config.getoption("--check-promises"):
        return True
    narrowed = config.option.keyword or config.option.markexpr or config.getoption("deselect") \
        or config.getoption("lf", False)
    return config.args_source == pytest.Config.ArgsSource.TESTPATHS and not narrowed


class PromiseCheck:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.marked: dict[str, list[str]] | None = None  # node id -> promise ids, once collected
        self.passed: set[str] = set()
        self.problems: list[str] = []

    def _path(self, name: str) -> Path:
        return self.config.rootpath / self.config.getini(name)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        known = {p.id for p in load(self._path("promises_file"))}
        self.marked, unknown = {}, []
        for item in items:
            ids = [pid for mark in item.iter_markers(MARKER) for pid in mark.args]
            if ids:
                self.marked[item.nodeid] = ids
            unknown += [f"{item.nodeid} names unknown promise {pid!r}" for pid in ids if pid not in known]
        if unknown:
            raise pytest.UsageError("promise check: " + "; ".join(unknown)
                                    + f" (the ids are in {self.config.getini('promises_file')})")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.passed:
            self.passed.add(report.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.marked is None or not _full_run(self.config) or exitstatus == pytest.ExitCode.INTERRUPTED:
            return
        promises = load(self._path("promises_file"))
        proven = {pid for nodeid, ids in self.marked.items() if nodeid in self.passed for pid in ids}
        self.problems = [f"promise {p.id!r} has no passing test" for p in promises if p.id not in proven]
        proofs = {(pid, _PARAMS.sub("", nodeid)) for nodeid, ids in self.marked.items() for pid in ids}
        doc = self._path("promises_doc")
        if not doc.exists() or doc.read_text(encoding="utf-8") != render(promises, proofs):
            self.problems.append(f"{self.config.getini('promises_doc')} does not match the promises and their "
                                 f"tests; regenerate it: {COMMAND}")
        if self.problems:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.problems:
            terminalreporter.section("promise check", red=True)
            for line in self.problems:
                terminalreporter.line(line, red=True)
