"""Fixtures of the report tests: one report of the real sample run, shared by the session."""

import pytest

from tests.reports.sample_run import run_sample


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory):
    run = run_sample(tmp_path_factory.mktemp("sample_report"))
    yield run
    run.engine.dispose()
