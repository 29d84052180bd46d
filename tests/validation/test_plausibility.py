import datetime
from pathlib import Path

import pandas as pd
import pytest

from migration.dictionary.errors import DictionaryError
from migration.dictionary.model import (
    Column,
    Dictionary,
    ForeignKey,
    PlausibilityCheck,
    Table,
    load_dictionary,
)
from migration.reading.csv_reader import LINE_COLUMN
from migration.validation.plausibility import check_plausibility

D = datetime.date
CHILD = Table(
    name="ENFANT",
    file="ENFANT.csv",
    primary_key=("ID",),
    columns=[Column("ID"), Column("NE", type="date"), Column("ENTREE", type="date")],
    plausibility=[PlausibilityCheck("age_range", birth="NE", at="ENTREE", min_age=0, max_age=20)],
)
DEMAND = Table(
    name="DEMANDE",
    file="DEMANDE.csv",
    primary_key=("NUM",),
    columns=[Column("NUM"), Column("ID"), Column("DEBUT", type="date"), Column("FIN", type="date")],
    foreign_keys=[ForeignKey(("ID",), "ENFANT", ("ID",))],
    plausibility=[
        PlausibilityCheck("after_birth", date="DEBUT", birth="ENFANT.NE"),
        PlausibilityCheck("date_order", start="DEBUT", end="FIN"),
    ],
)


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, dtype=object)
    frame[LINE_COLUMN] = pd.Series(range(2, 2 + len(rows)), dtype="int64")
    return frame


def _located(findings) -> list[tuple]:
    return sorted(zip(findings["table"], findings["line"], findings["rule_id"], strict=True))


def test_each_plausibility_rule_flags_its_row():
    dictionary = Dictionary(
        "OPALES", "1", Path("d.yaml"), "0", {}, {"ENFANT": CHILD, "DEMANDE": DEMAND}
    )
    typed = {
        "ENFANT": _frame(
            [
                {"ID": "1", "NE": D(2000, 5, 1), "ENTREE": D(2005, 1, 1)},
                {"ID": "2", "NE": D(1980, 5, 1), "ENTREE": D(2001, 5, 1)},
                {"ID": "3", "NE": D(1980, 5, 2), "ENTREE": D(2000, 5, 1)},
                {"ID": "4", "NE": None, "ENTREE": D(2000, 5, 1)},
            ]
        ),
        "DEMANDE": _frame(
            [
                {"NUM": "a", "ID": "1", "DEBUT": D(2006, 1, 1), "FIN": D(2007, 1, 1)},
                {"NUM": "b", "ID": "1", "DEBUT": D(1999, 1, 1), "FIN": None},
                {"NUM": "c", "ID": "2", "DEBUT": D(2006, 1, 1), "FIN": D(2005, 12, 31)},
                {"NUM": "d", "ID": "9", "DEBUT": D(1900, 1, 1), "FIN": None},
            ]
        ),
    }
    files = {"ENFANT": "ENFANT.csv", "DEMANDE": "DEMANDE.csv"}
    findings = check_plausibility("OPALES", dictionary, typed, files)
    assert _located(findings) == [
        ("DEMANDE", 3, "plausibility.after_birth"),
        ("DEMANDE", 4, "plausibility.date_order"),
        ("ENFANT", 3, "plausibility.age"),
    ]
    assert set(findings["severity"]) == {"warning"}


def test_unknown_plausibility_rule_is_rejected(tmp_path):
    text = Path(load_dictionary("itac").path).read_text(encoding="utf-8")
    broken = tmp_path / "itac.yaml"
    broken.write_text(text.replace("rule: date_order", "rule: date_sequence", 1), encoding="utf-8")
    with pytest.raises(DictionaryError, match="plausibility rule 'date_sequence' is unknown"):
        load_dictionary(broken)
