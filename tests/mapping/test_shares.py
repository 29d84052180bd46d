"""Work split between two processes gives what one process gives.

A run with two workers maps each application's targets in two shares, side by side, and a
helper process assembles about half of the tables. These tests compare both with the same
step done whole, on the sample delivery.
"""

from __future__ import annotations

import multiprocessing

import pandas as pd
import pytest

from migration.delivery.intake import open_delivery
from migration.dictionary.model import load_dictionary
from migration.mapping.assemble import assemble
from migration.mapping.engine import MappedApplication, target_shares
from migration.mapping.language import load_mapping
from migration.mapping.staging import loaded
from migration.steps import (
    DEFAULT_MAPPINGS,
    combine_shares,
    map_application,
    map_share,
    read_application,
    validate_application,
    validate_application_staged,
)
from tests.target.pipeline_rows import ROOT, SAMPLE_DELIVERY, SAMPLE_PASSWORD, SCHEMA

# suivi_orientation looks up the rows of the etablissement target mapped just before it.
LOOKUP_FINESS = (
    "namespace: suivi.itac}\n"
    "      id_dossier: {surrogate: [NUM_DOSSIER], namespace: dossier.itac}\n"
    "      finess: ETABLISSEMENT.FINESS\n",
    "namespace: suivi.itac}\n"
    "      id_dossier: {surrogate: [NUM_DOSSIER], namespace: dossier.itac}\n"
    "      finess: {lookup: {target: etablissement, match: finess, value: finess}, "
    "key: ETABLISSEMENT.FINESS}\n",
)
# The target refuses a numero longer than its column: rows of addresses with a street.
REFUSED_NUMERO = (
    "      numero: ADR_NUMERO\n",
    "      numero: {concat: [ADR_NUMERO, ADR_VOIE]}\n",
)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    return open_delivery(
        SAMPLE_DELIVERY, SAMPLE_PASSWORD, tmp_path_factory.mktemp("work") / "plain"
    )


def _mapping(tmp_path, name: str, *changes: tuple[str, str]):
    text = DEFAULT_MAPPINGS[name].read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / f"{name.lower()}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


def _staged(delivery, name: str, folder):
    application = delivery.applications[name]
    folder.mkdir()
    dictionary = load_dictionary(application.dictionary)
    return validate_application_staged(name, application.folder, dictionary, folder)


def _assert_same_mapping(one: MappedApplication, shared: MappedApplication) -> None:
    assert list(shared.frames) == list(one.frames)
    for name, frames in one.frames.items():
        mine = pd.concat([loaded(frame) for frame in shared.frames[name]], ignore_index=True)
        theirs = pd.concat([loaded(frame) for frame in frames], ignore_index=True)
        pd.testing.assert_frame_equal(mine, theirs, obj=name)
    pd.testing.assert_frame_equal(shared.rejects, one.rejects)
    pd.testing.assert_frame_equal(shared.filters, one.filters)
    assert shared.unknown_codes == one.unknown_codes
    assert shared.values_checked and one.values_checked


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("ITAC", ()),
        ("OPALES", ()),
        ("ITAC", (LOOKUP_FINESS, REFUSED_NUMERO)),
    ],
    ids=["itac", "opales", "itac-lookup-refused"],
)
def test_shares_map_what_one_process_maps(tmp_path, delivery, name, changes):
    mapping = _mapping(tmp_path, name, *changes)
    whole = _staged(delivery, name, tmp_path / "whole")
    split = _staged(delivery, name, tmp_path / "split")

    one = map_application(whole, mapping, SCHEMA, tmp_path / "whole", release_sources=True)
    positions = target_shares(mapping, split.tables)
    shares = [
        map_share(split, mapping, SCHEMA, tmp_path / "split", share, number)
        for number, share in enumerate(positions)
    ]
    shared = combine_shares(split, mapping, SCHEMA, shares)

    if changes:
        assert (one.rejects["rule_id"] == "mapping.target_value").any()
    _assert_same_mapping(one, shared)
    # Only the mapped frames were left, and reading them deleted them: the staged source rows
    # went once both shares were mapped.
    assert not list((tmp_path / "split").iterdir())


def test_target_shares_split_the_work(tmp_path, delivery):
    mapping = _mapping(tmp_path, "ITAC", LOOKUP_FINESS)
    validated = _staged(delivery, "ITAC", tmp_path / "staged")
    positions = [target.target for target in mapping.targets]
    lookup = positions.index("suivi_orientation")
    looked_up = positions.index("etablissement")

    shares = target_shares(mapping, validated.tables)

    assert len(shares) == 2
    assert all(shares), shares
    assert sorted(position for share in shares for position in share) == list(range(len(positions)))
    assert all(share == sorted(share) for share in shares)
    # The lookup reads the rows of the target mapped before it, in the same process.
    assert any(lookup in share and looked_up in share for share in shares)

    def rows(name):
        return len(validated.tables[name].staged)

    work = [
        sum(
            rows(mapping.targets[p].source)
            + sum(rows(join.table) for join in mapping.targets[p].joins)
            for p in share
        )
        for share in shares
    ]
    # The shares get the largest targets in turns, so they differ by at most one target.
    largest = max(
        rows(target.source) + sum(rows(j.table) for j in target.joins) for target in mapping.targets
    )
    assert abs(work[0] - work[1]) <= largest


def _mapped(delivery, folder):
    """Validate and map the sample's applications, with their frames staged in `folder`."""
    folder.mkdir()
    validated, mapped = [], []
    for name, application in delivery.applications.items():
        dictionary = load_dictionary(application.dictionary)
        result = validate_application(
            name, dictionary, read_application(name, application.folder, dictionary)
        )
        rejected = result.rejected_lines()
        mapping = load_mapping(ROOT / "mappings" / f"{name.lower()}.yaml")
        mapped.append(map_application(result, mapping, SCHEMA, folder))
        validated.append(rejected)
    return pd.concat(validated, ignore_index=True), mapped


def test_assembly_with_a_helper_process_matches_one_process(tmp_path, delivery):
    rejected, alone_mapped = _mapped(delivery, tmp_path / "alone")
    _, helped_mapped = _mapped(delivery, tmp_path / "helped")
    # A few dossiers fall as if validation had rejected them, so the rows that reference them
    # fall too, with the value of their missing parent.
    fallen = pd.DataFrame(
        {"application": "ITAC", "source_table": "DOSSIER", "source_line": range(2, 12)}
    )
    rejected = pd.concat([rejected, fallen], ignore_index=True)

    alone = assemble(
        alone_mapped, SCHEMA, rejected, release_mapped=True, stage_folder=tmp_path / "alone"
    )
    with multiprocessing.get_context("fork").Pool(1) as pool:
        helped = assemble(
            helped_mapped,
            SCHEMA,
            rejected,
            release_mapped=True,
            stage_folder=tmp_path / "helped",
            helper=pool.apply_async,
        )

    # The helper staged the rows and lineage of its tables under names of its own.
    written = {path.name.split("-")[0] for path in (tmp_path / "helped").iterdir()}
    assert written == {"assembled", "lineage", "helper"}
    assert list(helped.frames) == list(alone.frames)
    for name, rows in alone.frames.items():
        pd.testing.assert_frame_equal(helped.frames[name].frame(), rows.frame(), obj=name)
    assert len(helped.lineage) == len(alone.lineage)
    assert helped.lineage.source_lines().keys() == alone.lineage.source_lines().keys()
    pd.testing.assert_frame_equal(helped.lineage.to_frame(), alone.lineage.to_frame())
    pd.testing.assert_frame_equal(helped.rejects, alone.rejects)
    missing = alone.rejects[alone.rejects["rule_id"] == "mapping.parent_missing"]
    assert len(missing) > 0
    assert missing["value"].notna().all()
    assert helped.identity.merges == alone.identity.merges
    assert alone.identity.merges, "the sample merges no individual across applications"
    assert helped.merge_conflicts.keys() == alone.merge_conflicts.keys()
    assert not list((tmp_path / "helped").iterdir())
