import datetime

import pandas as pd
import pytest

from migration.mapping.errors import MappingError
from migration.mapping.expressions import Context
from migration.mapping.language import load_mapping

HEADER = "application: ITAC\ntargets:\n  - target: individu\n    source: DOSSIER\n    columns:\n"


def _mapping(tmp_path, columns: str, header: str = HEADER):
    path = tmp_path / "m.yaml"
    path.write_text(header + columns, encoding="utf-8")
    return load_mapping(path)


def _evaluate(tmp_path, columns: str, frame: pd.DataFrame) -> dict:
    mapping = _mapping(tmp_path, columns)
    ctx = Context(frame)
    values = {name: e.evaluate(ctx).tolist() for name, e in mapping.targets[0].columns.items()}
    return values, ctx


@pytest.mark.parametrize(
    ("value", "tag"),
    [("NO", "bool"), ("010", "int"), ("2024-01-31", "timestamp"), ("1.5", "float")],
)
def test_yaml_11_traps_rejected_with_position(tmp_path, value, tag):
    with pytest.raises(MappingError) as caught:
        _mapping(tmp_path, f'      sexe: {{code: SEXE, map: {{"1": {value}}}}}\n')
    error = caught.value
    assert (error.line, error.column) == (6, 37)
    assert f"read by YAML as {tag}" in str(error)
    assert f'quote it ("{value}")' in str(error)


def test_bad_yaml_gives_line(tmp_path):
    with pytest.raises(MappingError, match=r"m\.yaml:6:\d+: invalid YAML"):
        _mapping(tmp_path, "      nom: [NOM, PRENOM}\n      sexe: SEXE\n")


def test_unknown_operator_lists_choices(tmp_path):
    expected = r"m\.yaml:6:13: unknown expression 'capitalize'; an expression is one of const, "
    with pytest.raises(MappingError, match=expected):
        _mapping(tmp_path, "      nom: {capitalize: NOM}\n")


def test_two_operators_list_choices(tmp_path):
    with pytest.raises(MappingError, match=r"m\.yaml:6:12: an expression needs exactly one of"):
        _mapping(tmp_path, "      nom: {trim: NOM, upper: NOM}\n")


def test_filter_needs_reason(tmp_path):
    header = HEADER.replace("    columns:\n", "    filter: {is_null: NOM}\n    columns:\n")
    with pytest.raises(MappingError, match="filter needs a filter_reason"):
        _mapping(tmp_path, "      nom: NOM\n", header)


def test_expressions_evaluate_column_wise(tmp_path):
    frame = pd.DataFrame(
        {
            "NOM": ["  Müller-Lévy ", None, "Da Silva"],
            "SEXE": ["1", "2", "7"],
            "DEP": ["57", "2A", None],
            "NE": [datetime.date(1980, 1, 2), None, None],
        },
        dtype=object,
    )
    columns = (
        "      nom: {trim: NOM}\n"
        "      cle: {normalize: NOM}\n"
        "      dep: {pad: DEP, width: 3}\n"
        '      sexe: {code: SEXE, map: {"1": "1", "2": "2"}, unknown: default, default: "0"}\n'
        '      brut: {code: SEXE, map: {"1": "M"}, unknown: keep}\n'
        '      nul: {coalesce: [NOM, {const: "X"}]}\n'
        '      etiquette: {concat: [DEP, SEXE], sep: "-"}\n'
        "      ne: NE\n"
        "      quand:\n"
        '        when: [{if: {eq: [SEXE, {const: "1"}]}, then: {const: "H"}}]\n'
        '        else: {const: "?"}\n'
    )
    values, _ = _evaluate(tmp_path, columns, frame)
    assert values["nom"] == ["Müller-Lévy", None, "Da Silva"]
    assert values["cle"] == ["MULLER LEVY", None, "DA SILVA"]
    assert values["dep"] == ["057", "02A", None]
    assert values["sexe"] == ["1", "2", "0"]
    assert values["brut"] == ["M", "2", "7"]
    assert values["nul"] == ["  Müller-Lévy ", "X", "Da Silva"]
    assert values["etiquette"] == ["57-1", "2A-2", "7"]
    assert values["ne"] == [datetime.date(1980, 1, 2), None, None]
    assert values["quand"] == ["H", "?", "?"]


def test_unknown_code_with_reject_policy_is_reported(tmp_path):
    frame = pd.DataFrame({"SEXE": ["1", "9"]}, dtype=object)
    values, ctx = _evaluate(tmp_path, '      sexe: {code: SEXE, map: {"1": "1"}}\n', frame)
    assert values["sexe"] == ["1", None]
    assert len(ctx.rejections) == 1
    rule_id, _, mask = ctx.rejections[0]
    assert rule_id == "mapping.unknown_code"
    assert mask.tolist() == [False, True]
    assert list(ctx.unknown_counts.values()) == [{"9": 1}]


def test_surrogate_keys_are_stable_and_namespaced(tmp_path):
    frame = pd.DataFrame({"NUM": ["5700000001", "5700000002", None]}, dtype=object)
    columns = (
        "      a: {surrogate: [NUM], namespace: individu.itac}\n"
        "      b: {surrogate: [NUM], namespace: dossier.itac}\n"
    )
    first, _ = _evaluate(tmp_path, columns, frame)
    again, _ = _evaluate(tmp_path, columns, frame)
    assert first == again
    assert first["a"][0] != first["a"][1]
    assert first["a"][0] != first["b"][0]
    assert len(first["a"][0]) == 32
    assert first["a"][2] is None


def test_split_conversions_and_date_format(tmp_path):
    frame = pd.DataFrame(
        {
            "PRENOMS": ["Jean Paul", "Anne", None],
            "RANG": ["02", "x", None],
            "NE": [datetime.date(1980, 1, 2), None, None],
            "TEXTE": ["03/04/2005", "31/02/2005", None],
        },
        dtype=object,
    )
    columns = (
        "      premier: {split: PRENOMS}\n"
        "      second: {split: PRENOMS, sep: ' ', index: 1}\n"
        "      rang: {to_integer: RANG}\n"
        '      mois: {format_date: NE, format: "%Y-%m"}\n'
        '      date: {to_date: TEXTE, format: "%d/%m/%Y"}\n'
    )
    values, ctx = _evaluate(tmp_path, columns, frame)
    assert values["premier"] == ["Jean", "Anne", None]
    assert values["second"] == ["Paul", None, None]
    assert values["rang"] == [2, None, None]
    assert values["mois"] == ["1980-01", None, None]
    assert values["date"] == [datetime.date(2005, 4, 3), None, None]
    rejected = {rule: mask.tolist() for rule, _, mask in ctx.rejections}
    assert list(rejected) == ["mapping.conversion"]
    assert [mask.tolist() for rule, _, mask in ctx.rejections] == [
        [False, True, False],
        [False, True, False],
    ]


def test_code_map_file_next_to_mapping(tmp_path):
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes" / "sexe.csv").write_text("source;target\nM;1\nF;2\nX;\n", encoding="utf-8")
    frame = pd.DataFrame({"SEXE": ["M", "F", "X", "Z"]}, dtype=object)
    columns = '      sexe: {code: SEXE, map_file: codes/sexe.csv, map: {"Z": "9"}}\n'
    values, ctx = _evaluate(tmp_path, columns, frame)
    assert values["sexe"] == ["1", "2", None, "9"]
    assert ctx.rejections == []


def test_code_map_file_with_bad_header(tmp_path):
    (tmp_path / "sexe.csv").write_text("code;cible\nM;1\n", encoding="utf-8")
    with pytest.raises(MappingError, match="the first line must be the header source;target"):
        _mapping(tmp_path, "      sexe: {code: SEXE, map_file: sexe.csv}\n")


def test_lookup_in_reference_table(tmp_path):
    frame = pd.DataFrame({"UAI": ["0750654D", "0570001A", None]}, dtype=object)
    schools = pd.DataFrame({"CODE": ["0750654D"], "NOM": ["Lycée Hoche"]}, dtype=object)
    mapping = _mapping(
        tmp_path, "      ecole: {lookup: {table: ECOLES, match: CODE, value: NOM}, key: UAI}\n"
    )
    ctx = Context(frame, {"ECOLES": schools})
    assert mapping.targets[0].columns["ecole"].evaluate(ctx).tolist() == ["Lycée Hoche", None, None]


DESCRIBED_COLUMNS = (
    "      copie: NOM\n"
    '      fixe: {const: "ITAC"}\n'
    "      majuscule: {upper: NOM}\n"
    "      dep: {pad: DEP, width: 3}\n"
    "      nom: {coalesce: [NOM_USAGE, NOM]}\n"
    '      commune: {concat: [DEP, COMMUNE], sep: ""}\n'
    "      id: {surrogate: [NUM_DOSSIER], namespace: dossier.itac}\n"
    "      sexe: {code: SEXE, map: {M: '1'}}\n"
    "      choix: {when: [{if: {is_null: NOM}, then: NOM_USAGE}]}\n"
    "      second: {split: PRENOMS, sep: ' ', index: 1}\n"
    '      date: {to_date: TEXTE, format: "%d/%m/%Y"}\n'
    "      ecole: {lookup: {table: ECOLES, match: CODE, value: NOM}, key: UAI}\n"
)


def test_descriptions_in_each_language(tmp_path):
    columns = _mapping(tmp_path, DESCRIBED_COLUMNS).targets[0].columns

    # French is the default: reject reasons store it, so it must not change.
    assert {name: e.describe() for name, e in columns.items()} == {
        "copie": "copie de NOM",
        "fixe": "constante 'ITAC'",
        "majuscule": "upper(copie de NOM)",
        "dep": "complété à 3 caractères (copie de DEP)",
        "nom": "premier non vide de copie de NOM_USAGE, copie de NOM",
        "commune": "concaténation de copie de DEP, copie de COMMUNE",
        "id": "clé dérivée dossier.itac de copie de NUM_DOSSIER",
        "sexe": "traduction de code (copie de SEXE)",
        "choix": "valeur selon condition",
        "second": "partie 1 de copie de PRENOMS coupé sur ' '",
        "date": "to_date (%d/%m/%Y) de copie de TEXTE",
        "ecole": "recherche de NOM dans ECOLES par CODE",
    }
    assert {name: e.describe("en") for name, e in columns.items()} == {
        "copie": "copy of NOM",
        "fixe": "constant 'ITAC'",
        "majuscule": "upper(copy of NOM)",
        "dep": "padded to 3 characters (copy of DEP)",
        "nom": "first non-empty of copy of NOM_USAGE, copy of NOM",
        "commune": "concatenation of copy of DEP, copy of COMMUNE",
        "id": "derived key dossier.itac of copy of NUM_DOSSIER",
        "sexe": "code translation (copy of SEXE)",
        "choix": "value by condition",
        "second": "part 1 of copy of PRENOMS split on ' '",
        "date": "to_date (%d/%m/%Y) of copy of TEXTE",
        "ecole": "lookup of NOM in ECOLES by CODE",
    }


DICTIONARY_HEADER = "application: ITAC\ndictionary: {}\ntargets: []\n"


def test_relative_dictionary_read_beside_mapping(tmp_path, monkeypatch):
    vendor = tmp_path / "vendor"
    (vendor / "dictionaries").mkdir(parents=True)
    (vendor / "dictionaries" / "itac.yaml").write_text("application: ITAC\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    header = DICTIONARY_HEADER.format("dictionaries/itac.yaml")
    mapping = _mapping(vendor, "", header)

    assert mapping.dictionary == str(vendor / "dictionaries" / "itac.yaml")


def test_relative_dictionary_beside_mapping_wins(tmp_path, monkeypatch):
    (tmp_path / "itac_dictionary.yaml").write_text("application: ITAC\n", encoding="utf-8")
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "itac_dictionary.yaml").write_text("application: ITAC\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    mapping = _mapping(vendor, "", DICTIONARY_HEADER.format("itac_dictionary.yaml"))

    assert mapping.dictionary == str(vendor / "itac_dictionary.yaml")


def test_dictionary_only_in_working_folder_kept(tmp_path, monkeypatch, caplog):
    (tmp_path / "itac_dictionary.yaml").write_text("application: ITAC\n", encoding="utf-8")
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    monkeypatch.chdir(tmp_path)

    mapping = _mapping(vendor, "", DICTIONARY_HEADER.format("itac_dictionary.yaml"))

    assert mapping.dictionary == "itac_dictionary.yaml"
    assert "read from the working folder" in caplog.text
    assert "m.yaml:2:" in caplog.text


@pytest.mark.parametrize("name", ["itac", "OPALES"])
def test_bundled_dictionary_name_kept(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    mapping = _mapping(tmp_path, "", DICTIONARY_HEADER.format(name))
    assert mapping.dictionary == name


def test_missing_relative_dictionary_named_beside_mapping(tmp_path, monkeypatch):
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    monkeypatch.chdir(tmp_path)
    mapping = _mapping(vendor, "", DICTIONARY_HEADER.format("missing.yaml"))
    assert mapping.dictionary == str(vendor / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("a: [\n", "close the [ that opens at line 1, column 4"),
        ("a: {\n", "close the { that opens at line 1, column 4"),
        ("a: 1\nb: {c: [1, {d: \n", "close the { that opens at line 2, column 12"),
        ("a: [1, 2\n", "close the [ that opens at line 1, column 4"),
    ],
)
def test_unclosed_bracket_named_with_position(tmp_path, text, hint):
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert hint in caught.value.detail


ANCHORED = (
    "application: ITAC\n"
    "targets:\n"
    "  - target: individu\n"
    "    source: DOSSIER\n"
    "    columns: &columns\n"
    "      nom_naissance: NOM\n"
    "  - target: individu\n"
    "    source: DEMANDE\n"
    "    columns: *columns\n"
)


def test_same_file_loaded_twice_equal_not_shared(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(ANCHORED, encoding="utf-8")

    first = load_mapping(path)
    second = load_mapping(path)

    assert second == first
    assert second is not first
    assert second.targets[0] is not first.targets[0]
    assert [anchor.alias_lines for anchor in first.anchors] == [[9]]
    first.anchors[0].alias_lines.append(99)
    assert [anchor.alias_lines for anchor in second.anchors] == [[9]]
    assert [anchor.alias_lines for anchor in load_mapping(path).anchors] == [[9]]


def test_changed_file_loaded_again(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(ANCHORED, encoding="utf-8")
    load_mapping(path)

    path.write_text(ANCHORED.replace("NOM", "NOM_USAGE"), encoding="utf-8")
    mapping = load_mapping(path)

    assert mapping.targets[0].columns["nom_naissance"].name == "NOM_USAGE"


def test_same_text_other_path_names_its_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "m.yaml").write_text(HEADER + "      sexe: [\n", encoding="utf-8")

    for folder in ("a", "b"):
        with pytest.raises(MappingError) as caught:
            load_mapping(tmp_path / folder / "m.yaml")
        assert str(tmp_path / folder / "m.yaml") in str(caught.value)
