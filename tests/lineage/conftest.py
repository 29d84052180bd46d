"""Fixtures of the lineage tests: one real sample run into SQLite, shared by the session."""

import pytest

from tests.reports.sample_run import run_sample


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    run = run_sample(tmp_path_factory.mktemp("sample_lineage"))
    yield run
    run.engine.dispose()
