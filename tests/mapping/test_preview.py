"""Preview and the full run produce the same target rows for the same source rows."""

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from migration.mapping.preview import format_preview, preview_mapping
from migration.reading.findings import NIR_MASK
from migration.run import RunOptions, run_migration

ROOT = Path(__file__).resolve().parents[2]
DELIVERY = ROOT / "sample_data" / "delivery"
PASSWORD = "reprise-57-demo"


def test_preview_rows_equal_loaded_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'mdph.sqlite3'}"
    outcome = run_migration(
        RunOptions(delivery=DELIVERY, target_url=url, reports_dir=tmp_path / "r"), PASSWORD
    )
    assert outcome.succeeded
    previews = preview_mapping(
        ROOT / "mappings" / "itac.yaml", DELIVERY, PASSWORD, 20, show_personal_data=True
    )
    engine = sa.create_engine(url)
    compared = 0
    with engine.connect() as connection:
        for preview in previews:
            table = sa.Table(preview.target, sa.MetaData(), autoload_with=connection)
            key = [column.name for column in table.primary_key.columns]
            for row in preview.rows:
                for target in row.targets:
                    where = [table.c[name] == target[name] for name in key]
                    loaded = connection.execute(sa.select(table).where(*where)).mappings().one()
                    # A merged row may get values another source filled in; the values the
                    # preview shows must be the loaded ones.
                    for name, value in target.items():
                        if value is not None:
                            assert str(loaded[name]) == str(value), (preview.target, name)
                    compared += 1
                if not row.targets:
                    assert row.rejects or row.filtered, (preview.target, row.line)
    assert compared > 100


def test_preview_masks_personal_values_by_default():
    previews = preview_mapping(ROOT / "mappings" / "itac.yaml", DELIVERY, PASSWORD, 3)
    first = previews[0].rows[0]
    assert set(first.source["NOM_NAISSANCE"]) <= {"A", "a", " ", "-", "'"}
    assert set(first.targets[0]["date_naissance"]) <= {"9", "-"}
    nirs = [row.source["NIR"] for row in previews[0].rows if row.source["NIR"]]
    nirs += [target["nir"] for row in previews[0].rows for target in row.targets if target["nir"]]
    assert nirs
    for nir in nirs:
        assert set(nir) <= {NIR_MASK, "A", "a", " "}, nir
    text = format_preview(previews)
    assert "DOSSIER -> individu" in text


def test_preview_command_shows_rejects(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDPH_")}
    env["MDPH_DELIVERY_PASSWORD"] = PASSWORD
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "migration.cli",
            "mapping",
            "preview",
            str(ROOT / "mappings" / "itac.yaml"),
            str(DELIVERY),
            "--rows",
            "50",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "REJECTED" in result.stdout
    assert "fk.dangling (NUM_DOSSIER)" in result.stdout
