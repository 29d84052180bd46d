"""Tests of the cache of compiled report templates kept between runs."""

import tempfile

import jinja2
import pytest

from migration.reports import pages, render_html
from tests.reports.summaries import build_summary


@pytest.fixture
def cache_parent(tmp_path, monkeypatch):
    """Point the system temp folder, where the cache folder goes, to a folder of the test."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pages._environment.cache_clear()
    yield tmp_path
    pages._environment.cache_clear()


def render_fresh(summary):
    """Render the summary page in a new template environment, as a new process would."""
    pages._environment.cache_clear()
    return render_html(summary)


def cache_files(parent):
    return sorted(parent.glob("_jinja2-cache-*/mdph-reprise-report-*.cache"))


def test_cache_written_and_reused(cache_parent):
    summary = build_summary()

    first = render_fresh(summary)
    written = {path: path.stat().st_mtime_ns for path in cache_files(cache_parent)}
    second = render_fresh(summary)

    assert written
    assert second == first
    assert {path: path.stat().st_mtime_ns for path in cache_files(cache_parent)} == written


def test_cache_folder_private(cache_parent):
    render_fresh(build_summary())

    folders = list(cache_parent.glob("_jinja2-cache-*"))
    assert len(folders) == 1
    assert folders[0].stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("content", [b"", b"not a cache file", b"j2\x00\x01\x02"])
def test_damaged_cache_file_compiled_again(cache_parent, content):
    summary = build_summary()
    expected = render_fresh(summary)
    for path in cache_files(cache_parent):
        path.write_bytes(content)

    assert render_fresh(summary) == expected


def test_unusable_cache_folder_skipped(tmp_path, monkeypatch):
    summary = build_summary()
    expected = render_fresh(summary)
    # A temp folder that does not exist: the cache folder cannot be created in it.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))

    try:
        assert render_fresh(summary) == expected
        assert pages._environment().bytecode_cache is None
    finally:
        pages._environment.cache_clear()


def test_truncated_cache_file_compiled_again(cache_parent):
    summary = build_summary()
    expected = render_fresh(summary)
    # Keep the header and cut the stored checksum, so reading the checksum fails.
    for path in cache_files(cache_parent):
        path.write_bytes(path.read_bytes()[: len(jinja2.bccache.bc_magic) + 3])

    assert render_fresh(summary) == expected


def test_other_options_not_served_cached_code(cache_parent, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "list.j2").write_text("{% for x in items %}\n  {{ x }}\n{% endfor %}\n")

    def render(trim_blocks):
        options = {"autoescape": True, "trim_blocks": trim_blocks, "lstrip_blocks": True}
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates),
            bytecode_cache=pages._template_cache(options),
            **options,
        )
        return environment.get_template("list.j2").render(items=[1, 2])

    trimmed = render(True)
    untrimmed = render(False)

    assert trimmed == "  1\n  2\n"
    assert untrimmed == "\n  1\n\n  2\n"
