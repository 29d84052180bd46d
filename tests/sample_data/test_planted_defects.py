"""The sample's planted defects, checked independently of the product's validator.

The simple defects are counted directly (stdnum for NIR keys, set lookups for keys and foreign
keys, strptime for dates). `reference_check` then applies every validation rule of the
dictionaries and must find exactly expected.json: the planted defects and nothing else.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from stdnum import luhn
from stdnum.fr import nir

from migration.dictionary.model import Dictionary
from tests.sample_data.conftest import BUNDLED_EXPECTED, generate_into
from tests.sample_data.reference_check import check_delivery, load_rows, uai_is_valid

EXTRACTION = date(2008, 10, 14)


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(BUNDLED_EXPECTED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tables(default_plaintext: Path, dictionaries: dict[str, Dictionary]) -> dict:
    """All rows of the default sample, keyed "APP.TABLE"."""
    return {
        f"{application}.{name}": load_rows(default_plaintext, application, table)
        for application, dictionary in dictionaries.items()
        for name, table in dictionary.tables.items()
    }


def parse_date(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        return None


def first_occurrences(rows: list[dict], key: str) -> list[dict]:
    seen: set[str] = set()
    first_rows = []
    for row in rows:
        if row[key] not in seen:
            seen.add(row[key])
            first_rows.append(row)
    return first_rows


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def test_reference_check_finds_exactly_expected(
    default_plaintext: Path, dictionaries: dict[str, Dictionary], expected: dict
) -> None:
    found_tables = {}
    found_findings = Counter()
    for application, dictionary in dictionaries.items():
        for name, result in check_delivery(default_plaintext, application, dictionary).items():
            found_tables[f"{application}.{name}"] = {
                "read": len(result.rows),
                "rejected": len(result.error_rows),
                "warnings": len(result.warning_rows),
            }
            for (column, rule), count in result.findings.items():
                found_findings[(f"{application}.{name}", column, rule)] += count
    expected_findings = Counter(
        {
            (item["table"], item["column"], item["rule"]): item["count"]
            for item in expected["findings"]
        }
    )
    expected_defects = Counter()
    for table, rules in expected["defects"].items():
        for rule, count in rules.items():
            expected_defects[(table, rule)] += count
    found_defects = Counter()
    for (table, _, rule), count in found_findings.items():
        found_defects[(table, rule)] += count

    assert found_tables == expected["tables"]
    assert found_findings == expected_findings
    assert found_defects == expected_defects


def test_wrong_nir_keys_fail_stdnum(tables: dict) -> None:
    dossiers = first_occurrences(tables["ITAC.DOSSIER"], "NUM_DOSSIER")
    children = tables["OPALES.ENFANT"]

    wrong_itac = [row["NIR"] for row in dossiers if row["NIR"] and not nir.is_valid(row["NIR"])]
    wrong_insured = [
        row["NIR_ASSURE"]
        for row in children
        if row["NIR_ASSURE"] and not nir.is_valid(row["NIR_ASSURE"])
    ]
    wrong_child = [
        r["NIR_ENFANT"] for r in children if r["NIR_ENFANT"] and not nir.is_valid(r["NIR_ENFANT"])
    ]

    assert len(wrong_itac) == 7
    assert len(wrong_insured) == 3
    assert wrong_child == []
    for value in wrong_itac + wrong_insured:
        assert len(value) == 15
        with pytest.raises(nir.InvalidChecksum):
            nir.validate(value)


def test_corsican_and_foreign_nirs_are_valid(tables: dict) -> None:
    values = [row["NIR"] for row in tables["ITAC.DOSSIER"] if row["NIR"]]
    values += [row["NIR_ASSURE"] for row in tables["OPALES.ENFANT"] if row["NIR_ASSURE"]]
    corsican = [value for value in values if value[5:7] in ("2A", "2B")]
    foreign = [value for value in values if value[5:7] == "99"]

    def key_19_18(value: str) -> str:
        digits = value[:5] + {"2A": "19", "2B": "18"}.get(value[5:7], value[5:7]) + value[7:13]
        return f"{97 - int(digits) % 97:02d}"

    assert [value for value in corsican if nir.is_valid(value)]
    assert [value for value in foreign if nir.is_valid(value)]
    for value in corsican + foreign:
        assert nir.is_valid(value) == (value[13:] == key_19_18(value))


def test_nir_matches_sex_birth_and_birthplace(tables: dict) -> None:
    for row in tables["ITAC.DOSSIER"]:
        if not row["NIR"]:
            continue
        born = parse_date(row["DATE_NAISSANCE"])
        assert row["NIR"][0] == row["SEXE"], row["NUM_DOSSIER"]
        assert row["NIR"][1:5] == f"{born.year % 100:02d}{born.month:02d}", row["NUM_DOSSIER"]
        assert row["NIR"][5:10] == row["LIEU_NAISSANCE"], row["NUM_DOSSIER"]


def test_duplicate_dossiers_follow_originals(tables: dict) -> None:
    rows = tables["ITAC.DOSSIER"]
    positions: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        positions.setdefault(row["NUM_DOSSIER"], []).append(index)
    repeated = {number: where for number, where in positions.items() if len(where) > 1}

    assert len(repeated) == 2
    for first, second in repeated.values():
        original, copy = rows[first], rows[second]
        assert first < second
        assert original["TELEPHONE"] != copy["TELEPHONE"]
        assert {k: v for k, v in original.items() if k != "TELEPHONE"} == {
            k: v for k, v in copy.items() if k != "TELEPHONE"
        }
        assert nir.is_valid(original["NIR"]) or not original["NIR"]
        assert original["DATE_OUVERTURE"] != "00/00/0000"


def test_duplicate_demands_follow_originals(tables: dict) -> None:
    rows = tables["OPALES.DEMANDE"]
    positions: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        positions.setdefault(row["NUM_DEMANDE"], []).append(index)
    repeated = {number: where for number, where in positions.items() if len(where) > 1}

    assert len(repeated) == 2
    for first, second in repeated.values():
        assert first < second
        assert rows[first] == rows[second]


def test_other_keys_are_unique(tables: dict, dictionaries: dict[str, Dictionary]) -> None:
    for application, dictionary in dictionaries.items():
        for name, table in dictionary.tables.items():
            if f"{application}.{name}" in ("ITAC.DOSSIER", "OPALES.DEMANDE"):
                continue
            keys = [
                tuple(row[c] for c in table.primary_key) for row in tables[f"{application}.{name}"]
            ]
            assert len(keys) == len(set(keys)), f"{application}.{name}"


def test_orphan_demands_point_to_archived_dossiers(tables: dict) -> None:
    dossiers = {row["NUM_DOSSIER"] for row in tables["ITAC.DOSSIER"]}
    archived = {row["NUM_DOSSIER"] for row in tables["ITAC.ARCHIVE"]}
    orphans = [row for row in tables["ITAC.DEMANDE"] if row["NUM_DOSSIER"] not in dossiers]
    orphan_numbers = {row["NUM_DEMANDE"] for row in orphans}
    concluded = {row["NUM_DEMANDE"] for row in tables["ITAC.CONCLUSION"]}

    assert len(orphans) == 4
    assert all(row["NUM_DOSSIER"] in archived for row in orphans)
    assert not orphan_numbers & concluded
    assert not archived & dossiers


def test_placements_to_missing_establishments(tables: dict) -> None:
    establishments = {row["NUM_ETAB"] for row in tables["ITAC.ETABLISSEMENT"]}
    dossiers = {row["NUM_DOSSIER"] for row in tables["ITAC.DOSSIER"]}
    missing = [row for row in tables["ITAC.SUIVI"] if row["NUM_ETAB"] not in establishments]
    conclusion_etabs = {row["NUM_ETAB"] for row in tables["ITAC.CONCLUSION"] if row["NUM_ETAB"]}

    assert len(missing) == 2
    assert all(row["NUM_DOSSIER"] in dossiers for row in tables["ITAC.SUIVI"])
    assert conclusion_etabs <= establishments


def test_orientations_to_absent_finess(tables: dict) -> None:
    structures = {row["nofinesset"] for row in tables["OPALES.FINESS_STRUCTURE"]}
    with_finess = [row for row in tables["OPALES.ORIENTATION"] if row["FINESS"]]
    absent = [row["FINESS"] for row in with_finess if row["FINESS"] not in structures]
    itac_finess = {row["FINESS"] for row in tables["ITAC.ETABLISSEMENT"]}

    assert len(absent) == 3
    assert all(luhn.is_valid(number) and number.startswith("57") for number in absent)
    assert itac_finess <= structures
    for row in tables["OPALES.ORIENTATION"]:
        if row["CODE_ORIENTATION"] in ("CLIS", "UPI", "AVS"):
            assert row["FINESS"] == ""


def test_finess_and_uai_check_characters(tables: dict) -> None:
    numbers = [row["nofinesset"] for row in tables["OPALES.FINESS_STRUCTURE"]]
    numbers += [row["nofinessej"] for row in tables["OPALES.FINESS_STRUCTURE"]]
    schools = [row["Identifiant_de_l_etablissement"] for row in tables["OPALES.RAMSESE"]]
    school_set = set(schools)

    assert uai_is_valid("0750654D")  # a published UAI
    assert not uai_is_valid("0750654E")
    assert 35 <= len(tables["OPALES.FINESS_STRUCTURE"]) <= 45
    assert 35 <= len(schools) <= 45
    assert all(len(number) == 9 and luhn.is_valid(number) for number in numbers)
    assert all(number.startswith("57") for number in numbers)
    assert all(uai_is_valid(uai) and uai.startswith("057") for uai in schools)
    for row in tables["OPALES.SCOLARISATION"]:
        assert row["UAI"] == "" or row["UAI"] in school_set


def test_impossible_dates(tables: dict) -> None:
    decisions = [
        r["DATE_DECISION"] for r in tables["ITAC.HISTORIQUE"] if not parse_date(r["DATE_DECISION"])
    ]
    starts = [
        r["DATE_DEBUT"] for r in tables["OPALES.SCOLARISATION"] if not parse_date(r["DATE_DEBUT"])
    ]

    assert sorted(decisions) == sorted(["31/02/2005", "30/02/2006", "31/04/2004"])
    assert sorted(starts) == sorted(["31/02/2003", "31/06/2004"])


def test_unknown_codes_on_other_rows(tables: dict) -> None:
    history = tables["ITAC.HISTORIQUE"]
    unknown_types = [row for row in history if row["CODE_TYPE_DEMANDE"] == "99"]
    allowances = tables["OPALES.AES"]

    assert len(unknown_types) == 3
    assert all(parse_date(row["DATE_DECISION"]) for row in unknown_types)
    assert [row["COMPLEMENT"] for row in allowances if row["COMPLEMENT"] not in "0123456"] == [
        "7",
        "7",
    ]


def test_opening_date_placeholders(tables: dict) -> None:
    openings = Counter(row["DATE_OUVERTURE"] for row in tables["ITAC.DOSSIER"])
    other_dates = [
        value
        for name, rows in tables.items()
        for row in rows
        for column, value in row.items()
        if value == "00/00/0000" and (name, column) != ("ITAC.DOSSIER", "DATE_OUVERTURE")
    ]

    assert openings["00/00/0000"] == 5
    assert other_dates == []


def plain(name: str) -> str:
    """Upper case without accents, as identity matching compares names."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).upper()


def test_cross_application_people(tables: dict, expected: dict) -> None:
    dossiers = first_occurrences(tables["ITAC.DOSSIER"], "NUM_DOSSIER")
    children = tables["OPALES.ENFANT"]
    sex = {"M": "1", "F": "2"}
    adults = {
        (plain(r["NOM_NAISSANCE"]), plain(r["PRENOMS"]), r["DATE_NAISSANCE"], r["SEXE"]): r
        for r in dossiers
    }
    kids = {
        (plain(r["NOM"]), plain(r["PRENOMS"]), r["DATE_NAISSANCE"], sex[r["SEXE"]]): r
        for r in children
    }
    shared = sorted(set(adults) & set(kids))
    pairs = [(adults[key], kids[key]) for key in shared]
    by_nir = [(a, k) for a, k in pairs if k["NIR_ENFANT"] and k["NIR_ENFANT"] == a["NIR"]]
    by_identity = [(a, k) for a, k in pairs if not k["NIR_ENFANT"]]
    respelt = {(plain("Schmidt"), *key[1:]): key for key in adults if key[0] == plain("Schmitt")}
    review = [(adults[respelt[key]], kids[key]) for key in kids if key in respelt]

    assert len(adults) == len(dossiers)
    assert len(kids) == len(children)
    assert len(pairs) == expected["identity"]["cross_application"] == 5
    assert len(by_nir) == expected["identity"]["by_nir"] == 2
    assert len(by_identity) == expected["identity"]["by_identity"] == 3
    assert len(review) == expected["identity"]["for_review"] == 1
    pairs += review
    assert all(a["LIEU_NAISSANCE"] == k["LIEU_NAISSANCE"] for a, k in pairs)
    assert all(1986 <= parse_date(k["DATE_NAISSANCE"]).year <= 1989 for _, k in pairs)
    assert all(nir.is_valid(a["NIR"]) for a, _ in by_nir)
    assert sorted(
        (p["itac_num_dossier"], p["opales_num_enfant"], p["match"])
        for p in expected["cross_application_pairs"]
    ) == sorted(
        [(a["NUM_DOSSIER"], k["NUM_ENFANT"], "nir") for a, k in by_nir]
        + [(a["NUM_DOSSIER"], k["NUM_ENFANT"], "identity") for a, k in by_identity]
        + [(a["NUM_DOSSIER"], k["NUM_ENFANT"], "review") for a, k in review]
    )
    archived = {
        (r["NOM_NAISSANCE"], r["PRENOMS"], r["DATE_NAISSANCE"]) for r in tables["ITAC.ARCHIVE"]
    }
    assert not archived & {key[:3] for key in adults}
    assert not archived & {key[:3] for key in kids}


def test_no_other_nir_repeats(tables: dict) -> None:
    dossiers = first_occurrences(tables["ITAC.DOSSIER"], "NUM_DOSSIER")
    values = [row["NIR"] for row in dossiers if row["NIR"]]
    values += [row["NIR_ENFANT"] for row in tables["OPALES.ENFANT"] if row["NIR_ENFANT"]]
    values += [row["NIR_ASSURE"] for row in tables["OPALES.ENFANT"] if row["NIR_ASSURE"]]
    repeated = sorted(count for count in Counter(values).values() if count > 1)
    prefixes = Counter(value[:13] for value in values)

    assert repeated == [2, 2]  # the two people found by NIR
    assert sorted(count for count in prefixes.values() if count > 1) == [2, 2]


def test_ages_and_dates_are_coherent(tables: dict) -> None:
    dossiers = {row["NUM_DOSSIER"]: row for row in tables["ITAC.DOSSIER"]}
    children = {row["NUM_ENFANT"]: row for row in tables["OPALES.ENFANT"]}
    demands = {row["NUM_DEMANDE"]: row for row in tables["ITAC.DEMANDE"]}
    child_demands = {row["NUM_DEMANDE"]: row for row in tables["OPALES.DEMANDE"]}
    adult_ages = [age_on(parse_date(r["DATE_NAISSANCE"]), EXTRACTION) for r in dossiers.values()]
    child_ages = sorted(
        age_on(parse_date(r["DATE_NAISSANCE"]), EXTRACTION) for r in children.values()
    )

    assert min(adult_ages) >= 20
    assert max(adult_ages) <= 60
    assert child_ages[0] >= 0
    assert child_ages[-7] <= 20  # only the 6 shared people are older
    for row in demands.values():
        assert parse_date(row["DATE_DEMANDE"]) <= EXTRACTION
        if row["NUM_DOSSIER"] in dossiers:
            born = parse_date(dossiers[row["NUM_DOSSIER"]]["DATE_NAISSANCE"])
            assert born < parse_date(row["DATE_DEMANDE"])
    for row in tables["ITAC.CONCLUSION"]:
        sitting = parse_date(row["DATE_SEANCE"])
        assert parse_date(demands[row["NUM_DEMANDE"]]["DATE_DEMANDE"]) < sitting < EXTRACTION
        if row["DATE_FIN_VALIDITE"]:
            assert parse_date(row["DATE_EFFET"]) < parse_date(row["DATE_FIN_VALIDITE"])
    for row in tables["ITAC.HISTORIQUE"]:
        decided = parse_date(row["DATE_DECISION"])
        if decided:
            assert parse_date(row["DATE_DEMANDE"]) < decided < EXTRACTION
    for row in tables["OPALES.DECISION"]:
        decided = parse_date(row["DATE_DECISION"])
        demand = child_demands[row["NUM_DEMANDE"]]
        born = parse_date(children[demand["NUM_ENFANT"]]["DATE_NAISSANCE"])
        assert born < parse_date(demand["DATE_DEMANDE"]) < decided < EXTRACTION
        if row["DATE_FIN"]:
            assert parse_date(row["DATE_DEBUT"]) < parse_date(row["DATE_FIN"])


def test_quoting_and_encoding_pitfalls_present(tables: dict) -> None:
    streets = [row["ADR_VOIE"] for row in tables["ITAC.DOSSIER"] + tables["OPALES.ENFANT"]]
    motivations = [row["MOTIVATION"] for row in tables["ITAC.CONCLUSION"]]
    amounts = [row["MONTANT_MENSUEL"] for row in tables["OPALES.AES"]]
    birthplaces = {row["LIEU_NAISSANCE"] for row in tables["ITAC.DOSSIER"]}

    for texts in (streets, motivations):
        assert any(";" in text for text in texts)
        assert any('"' in text for text in texts)
        assert any("\r\n" in text for text in texts)
    assert all("," in amount and "." not in amount for amount in amounts)
    assert {"2A004", "2B033"} & birthplaces
    assert any(place.startswith("99") for place in birthplaces)


def test_smaller_run_keeps_bundled_defects(
    tmp_path: Path, dictionaries: dict[str, Dictionary]
) -> None:
    out = generate_into(tmp_path / "scaled", "--persons", "300", "--seed", "11", "--plaintext-only")
    scaled = json.loads((out / "expected.json").read_text(encoding="utf-8"))

    for application, dictionary in dictionaries.items():
        for name, result in check_delivery(out, application, dictionary).items():
            numbers = scaled["tables"][f"{application}.{name}"]
            assert len(result.rows) == numbers["read"], name
            assert len(result.error_rows) == numbers["rejected"], name
            assert len(result.warning_rows) == numbers["warnings"], name
    assert scaled["defects"] == json.loads(BUNDLED_EXPECTED.read_text(encoding="utf-8"))["defects"]
    assert scaled["tables"]["ITAC.DOSSIER"]["read"] == 300 * 8 // 13 + 2


def test_larger_run_scales_defects(tmp_path: Path, dictionaries: dict[str, Dictionary]) -> None:
    # 1950 persons are 1200 adults and 750 children, three times the bundled 400 and 250.
    out = generate_into(tmp_path / "larger", "--persons", "1950", "--seed", "5", "--plaintext-only")
    larger = json.loads((out / "expected.json").read_text(encoding="utf-8"))
    bundled = json.loads(BUNDLED_EXPECTED.read_text(encoding="utf-8"))

    for finding, bundled_finding in zip(larger["findings"], bundled["findings"], strict=True):
        assert finding["count"] == 3 * bundled_finding["count"], finding
    for application, dictionary in dictionaries.items():
        for name, result in check_delivery(out, application, dictionary).items():
            numbers = larger["tables"][f"{application}.{name}"]
            assert len(result.rows) == numbers["read"], name
            assert len(result.error_rows) == numbers["rejected"], name
            assert len(result.warning_rows) == numbers["warnings"], name
    assert len(larger["cross_application_pairs"]) == len(bundled["cross_application_pairs"])
