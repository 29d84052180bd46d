"""A set of broken mappings, each made from the reference ITAC mapping by one change, and the
precise message `mapping check` gives for it."""

from pathlib import Path

import pytest

from migration.dictionary.model import load_dictionary
from migration.mapping.checks import check_mapping
from migration.mapping.errors import MappingError
from migration.mapping.language import load_mapping
from migration.target.schema import load_target_schema

REFERENCE = Path(__file__).resolve().parents[2] / "mappings" / "itac.yaml"
TEXT = REFERENCE.read_text(encoding="utf-8")
NATIONALITE = '      nationalite: {code: NATIONALITE, map: {"1": "1", "2": "2", "3": "3"}}'


def _line_of(fragment: str) -> int:
    return TEXT.splitlines().index(fragment) + 1


CASES = [
    pytest.param(
        "      date_naissance: DATE_NAISSANCE",
        "      date_naissance: DATE_NAISANCE",
        "source table DOSSIER has no column 'DATE_NAISANCE'; did you mean 'DATE_NAISSANCE'?",
        id="unknown-column",
    ),
    pytest.param(
        "      nom_usage: {trim: NOM_MARITAL}",
        "      nom_usage: DATE_NAISSANCE",
        "target individu.nom_usage is text but the expression gives date; use format_date",
        id="wrong-type",
    ),
    pytest.param(
        NATIONALITE,
        '      nationalite: {code: NATIONALITE, map: {"1": "1", "2": "2"}}',
        "code map of NATIONALITE does not translate 3 from code list NATIONALITE_ITAC",
        id="code-not-translated",
    ),
    pytest.param(
        NATIONALITE,
        '      nationalite: {code: NATIONALITE, map: {"1": "1", "2": "2", "3": "4"}}',
        "individu.nationalite takes codes of NATIONALITE; 4 is not one of them",
        id="unknown-target-code",
    ),
    pytest.param(
        NATIONALITE,
        '      nationalite: {code: NATIONALITE, map: {"1": "1", "2": "2", "3": 3}}',
        "the target code of '3' '3' is read by YAML as int, not text; quote it (\"3\")",
        id="yaml-int-trap",
    ),
    pytest.param(
        NATIONALITE,
        '      nationalite: {code: NATIONALITE, map: {"1": "1", NO: "2", "3": "3"}}',
        "a key of a code map 'NO' is read by YAML as bool, not text",
        id="yaml-norway-trap",
    ),
    pytest.param(
        NATIONALITE,
        '      nationalite: {code: NATIONALITE, map: {"1": "1", "2": "2", "3": "3"}',
        "invalid YAML",
        id="bad-yaml",
    ),
    pytest.param(
        "  - target: adresse",
        "  - target: adresses",
        "unknown target table 'adresses'; did you mean 'adresse'?",
        id="unknown-target",
    ),
    pytest.param(
        "      nom_naissance: {trim: NOM_NAISSANCE}",
        "      nom_naissance: {strip: NOM_NAISSANCE}",
        "unknown expression 'strip'; did you mean 'trim'?",
        id="unknown-operator",
    ),
]


@pytest.mark.parametrize(("original", "broken", "message"), CASES)
def test_broken_mapping_gives_precise_message(tmp_path, original, broken, message):
    assert original in TEXT
    path = tmp_path / "itac.yaml"
    path.write_text(TEXT.replace(original, broken, 1), encoding="utf-8")
    try:
        problems = check_mapping(load_mapping(path), load_dictionary("itac"), load_target_schema())
    except MappingError as error:
        problems = [error]
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert message in str(problem)
    assert str(problem).startswith(f"{path}:")
    # A YAML syntax error is detected on the first line after the faulty one that is not blank.
    assert _line_of(original) <= problem.line <= _line_of(original) + 2


SYNTAX_CASES = [
    pytest.param(
        NATIONALITE,
        NATIONALITE.removesuffix("}"),
        "add the missing comma, or close the { that opens at line 22, column 20",
        id="unclosed-brace",
    ),
    pytest.param(
        "      date_naissance: DATE_NAISSANCE",
        "     date_naissance: DATE_NAISSANCE",
        "check the indentation and the quoting at line 19 and the line above it",
        id="bad-indentation",
    ),
    pytest.param(
        "      date_naissance: DATE_NAISSANCE",
        "\tdate_naissance: DATE_NAISSANCE",
        "indent with spaces, because YAML does not accept tabs there",
        id="tab",
    ),
    pytest.param(
        "    NUM_ETAB: numéro interne d'ITAC, remplacé par le numéro FINESS",
        "    NUM_ETAB: \"numéro interne d'ITAC, remplacé par le numéro FINESS",
        "close the quote that opens at line 206, column 15",
        id="unclosed-quote",
    ),
    pytest.param(
        "      typdem2: *typdem2_itac",
        "      typdem2: *typdem2",
        "define the anchor (&name) before the alias (*name) that uses it",
        id="undefined-alias",
    ),
    pytest.param(
        "      typdec: *typdec_itac",
        '      typdec: &typdec_itac {code: CODE_DECISION, map: {"A": "1"}}',
        "found duplicate anchor 'typdec_itac', first defined at line 96, column 15; give each "
        "anchor its own name",
        id="duplicate-anchor",
    ),
]


@pytest.mark.parametrize(("original", "broken", "hint"), SYNTAX_CASES)
def test_yaml_syntax_error_says_what_to_fix(tmp_path, original, broken, hint):
    assert original in TEXT
    path = tmp_path / "itac.yaml"
    path.write_text(TEXT.replace(original, broken, 1), encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    error = caught.value
    assert str(error).startswith(f"{path}:{error.line}:{error.column}: invalid YAML: ")
    assert hint in error.detail
    assert _line_of(original) <= error.line <= _line_of(original) + 2


def test_control_character_named_with_position(tmp_path):
    original = "      date_naissance: DATE_NAISSANCE"
    assert original in TEXT
    path = tmp_path / "itac.yaml"
    broken = "      date_naissance: DATE_\x01NAISSANCE"
    path.write_text(TEXT.replace(original, broken, 1), encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    error = caught.value
    assert error.line == _line_of(original)
    assert error.column == len("      date_naissance: DATE_") + 1
    assert "control character U+0001" in error.detail
    assert "delete it" in error.detail


def test_latin1_file_named_with_position(tmp_path):
    original = "      date_naissance: DATE_NAISSANCE"
    assert original in TEXT
    path = tmp_path / "itac.yaml"
    assert "ÿ" not in TEXT
    broken = "      date_naissance: DATE_NAISSANCE  # nÿ"
    # Only the new comment is Latin-1, so its ÿ is the first byte that is not UTF-8.
    data = TEXT.replace(original, broken, 1).encode("utf-8")
    path.write_bytes(data.replace("ÿ".encode(), "ÿ".encode("latin-1"), 1))
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    error = caught.value
    assert error.line == _line_of(original)
    assert error.column == len("      date_naissance: DATE_NAISSANCE  # n") + 1
    assert "byte 0xFF is not valid UTF-8" in error.detail
    assert "save the file as UTF-8" in error.detail


def test_strict_check_raises_every_problem(tmp_path):
    path = tmp_path / "itac.yaml"
    text = TEXT.replace("{trim: NOM_MARITAL}", "{trim: NOM_MARITALE}", 1)
    text = text.replace("{trim: PRENOMS}", "{trim: PRENOM}", 1)
    path.write_text(text, encoding="utf-8")
    mapping = load_mapping(path)
    with pytest.raises(MappingError) as caught:
        check_mapping(mapping, load_dictionary("itac"), load_target_schema(), strict=True)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        "source table DOSSIER has no column 'NOM_MARITALE'; did you mean 'NOM_MARITAL'?"
    )
    assert lines[1].endswith("source table DOSSIER has no column 'PRENOM'; did you mean 'PRENOMS'?")
    assert lines[1].startswith(f"{path}:{_line_of('      prenoms: {trim: PRENOMS}')}:")


@pytest.mark.parametrize("escape", ["\\x1b", "\\u202e", "\\x00"])
def test_escaped_invisible_character_rejected(tmp_path, escape):
    original = "      date_naissance: DATE_NAISSANCE"
    assert original in TEXT
    path = tmp_path / "itac.yaml"
    constant = f'      date_naissance: {{const: "ouv{escape}ert"}}'
    path.write_text(TEXT.replace(original, constant, 1), encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    error = caught.value
    assert error.line == _line_of(original)
    assert "invisible character U+" in error.detail
    assert "remove it" in error.detail


def test_problem_in_reused_anchor_reported_once(tmp_path):
    original = '          "05": "8"    # orientation vers le marché du travail'
    assert original in TEXT
    path = tmp_path / "itac.yaml"
    path.write_text(TEXT.replace(original, original.replace('"8"', '"99"'), 1), encoding="utf-8")

    problems = check_mapping(load_mapping(path), load_dictionary("itac"), load_target_schema())

    assert [str(problem) for problem in problems] == [
        f"{path}:72:16: demande.typdem2 takes codes of TYPDEM2; 99 is not one of them "
        "(in anchor &typdem2_itac at line 72, reused with *typdem2_itac at line 174)"
    ]
    assert _line_of("      typdem2: &typdem2_itac") == 72
    assert _line_of("      typdem2: *typdem2_itac") == 174


def test_undropped_source_column_is_reported(tmp_path):
    path = tmp_path / "itac.yaml"
    line = "    NUM_AGENT: numéro d'agent de la COTOREP, sans objet dans la MDPH\n"
    assert line in TEXT
    path.write_text(TEXT.replace(line, "", 1), encoding="utf-8")
    problems = check_mapping(load_mapping(path), load_dictionary("itac"), load_target_schema())
    assert [p.detail for p in problems] == [
        "source column DEMANDE.NUM_AGENT is neither mapped nor listed under dropped_columns "
        "with a reason"
    ]
    # The first target that DEMANDE feeds: its `- target:` line is one above `source: DEMANDE`.
    assert (problems[0].line, problems[0].column) == (_line_of("    source: DEMANDE") - 1, 1)


def test_unmapped_source_table_is_reported(tmp_path):
    text = (REFERENCE.parent / "opales.yaml").read_text(encoding="utf-8")
    path = tmp_path / "opales.yaml"
    dropped = "  FINESS_GEOLOCALISATION: les coordonnées des établissements ne sont pas dans le"
    assert dropped in text
    path.write_text(text.replace(dropped, "  RAMSESE_X: x", 1), encoding="utf-8")
    problems = check_mapping(load_mapping(path), load_dictionary("opales"), load_target_schema())
    assert any("unknown source table 'RAMSESE_X'" in str(p) for p in problems)


DROPPED_CASES = [
    pytest.param(
        "    NUM_CAF: le numéro CAF",
        "    NUM_CAFF: le numéro CAF",
        "dropped_columns: DOSSIER has no column 'NUM_CAFF'; did you mean 'NUM_CAF'?",
        5,
        id="dropped-column",
    ),
    pytest.param(
        "dropped_columns:\n  DOSSIER:",
        "dropped_columns:\n  DOSIER:",
        "dropped_columns: unknown source table 'DOSIER'; did you mean 'DOSSIER'?",
        3,
        id="dropped-columns-table",
    ),
]


@pytest.mark.parametrize(("original", "broken", "message", "column"), DROPPED_CASES)
def test_dropped_entry_misspelt_has_position(tmp_path, original, broken, message, column):
    assert original in TEXT
    path = tmp_path / "itac.yaml"
    path.write_text(TEXT.replace(original, broken, 1), encoding="utf-8")
    problems = check_mapping(load_mapping(path), load_dictionary("itac"), load_target_schema())
    matching = [problem for problem in problems if problem.detail == message]
    assert len(matching) == 1, [str(p) for p in problems]
    # The entry at fault is on the last line of `original`.
    line = TEXT[: TEXT.index(original) + len(original)].count("\n") + 1
    assert (matching[0].line, matching[0].column) == (line, column)


def test_dropped_table_misspelt_has_position(tmp_path):
    text = (REFERENCE.parent / "opales.yaml").read_text(encoding="utf-8")
    path = tmp_path / "opales.yaml"
    dropped = "  FINESS_GEOLOCALISATION: les"
    assert dropped in text
    path.write_text(text.replace(dropped, "  FINESS_GEOLOCALISATON: les", 1), encoding="utf-8")
    problems = check_mapping(load_mapping(path), load_dictionary("opales"), load_target_schema())
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith(dropped)))
    assert [(p.line, p.column, p.detail) for p in problems] == [
        (
            line + 1,
            3,
            "dropped_tables: unknown source table 'FINESS_GEOLOCALISATON'; "
            "did you mean 'FINESS_GEOLOCALISATION'?",
        )
    ]


@pytest.mark.parametrize(
    ("replacement", "section"),
    [("dropped_tables: {}\n", "dropped_tables:"), ("", "targets:")],
    ids=["at-dropped-tables", "at-targets"],
)
def test_unmapped_source_table_has_position(tmp_path, replacement, section):
    text = (REFERENCE.parent / "opales.yaml").read_text(encoding="utf-8")
    path = tmp_path / "opales.yaml"
    dropped = (
        "dropped_tables:\n  FINESS_GEOLOCALISATION: les coordonnées des établissements ne sont "
    )
    dropped += "pas dans le schéma de référence\n"
    assert dropped in text
    broken = text.replace(dropped, replacement, 1)
    path.write_text(broken, encoding="utf-8")

    problems = check_mapping(load_mapping(path), load_dictionary("opales"), load_target_schema())

    assert [p.detail for p in problems] == [
        "source table FINESS_GEOLOCALISATION feeds no target; map it or list it under "
        "dropped_tables with a reason"
    ]
    line = next(n for n, x in enumerate(broken.splitlines(), 1) if x.startswith(section))
    assert (problems[0].line, problems[0].column) == (line, 1)


def test_unknown_expressions_reported_together(tmp_path):
    path = tmp_path / "itac.yaml"
    text = TEXT.replace("{trim: NOM_NAISSANCE}", "{trin: NOM_NAISSANCE}", 1)
    text = text.replace("{trim: PRENOMS}", "{zzz: PRENOMS}", 1)
    text = text.replace("{pad: ADR_DEPARTEMENT, width: 3}", "{pad: ADR_DEPARTEMENT}", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3, lines
    nom_naissance = _line_of("      nom_naissance: {trim: NOM_NAISSANCE}")
    assert lines[0] == (
        f"{path}:{nom_naissance}:23: unknown expression 'trin'; did you mean 'trim'?"
    )
    prenoms = _line_of("      prenoms: {trim: PRENOMS}")
    assert lines[1].startswith(
        f"{path}:{prenoms}:17: unknown expression 'zzz'; an expression is one of const, "
    )
    # A problem that stops the parsing is reported after the unknown names found before it.
    departement = _line_of("      departement: {pad: ADR_DEPARTEMENT, width: 3}")
    assert lines[2] == f"{path}:{departement}:20: pad needs a width"


def test_unknown_expression_beside_misspelt_option(tmp_path):
    path = tmp_path / "itac.yaml"
    original = "      id_individu: {surrogate: [NUM_DOSSIER], namespace: individu.itac}"
    assert original in TEXT
    broken = "      id_individu: {namespce: individu.itac, surogate: [NUM_DOSSIER]}"
    path.write_text(TEXT.replace(original, broken, 1), encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    error = caught.value
    assert error.detail == "unknown expression 'surogate'; did you mean 'surrogate'?"
    assert error.line == _line_of(original)
    assert error.column == broken.index("surogate") + 1


def test_unknown_expression_in_anchor_once(tmp_path):
    path = tmp_path / "itac.yaml"
    original = "&typdem2_itac\n        code: CODE_TYPE_DEMANDE\n"
    assert TEXT.count(original) == 1
    assert TEXT.count("*typdem2_itac") >= 1
    path.write_text(TEXT.replace(original, original.replace("code:", "cod:"), 1))
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    error = caught.value
    assert "\n" not in str(error)
    assert error.detail == "unknown expression 'cod'; did you mean 'code'?"
    assert error.line == _line_of("        code: CODE_TYPE_DEMANDE")
    assert error.column == 9


def test_unknown_conditions_reported_together(tmp_path):
    path = tmp_path / "itac.yaml"
    first = '        - {eq: [CODE_DECISION, {const: "A"}]}\n'
    assert TEXT.count(first) == 2
    text = TEXT.replace(first, first.replace("{eq:", "{eqq:"), 1)
    second = "    filter: {not: {is_null: FINESS}}"
    text = text.replace(second, "    filter: {nto: {is_nul: FINESS}}", 1)
    path.write_text(text, encoding="utf-8")

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    lines = str(caught.value).splitlines()
    first_line = TEXT.splitlines().index(first.rstrip("\n")) + 1
    second_line = _line_of(second)
    assert lines == [
        f"{path}:{first_line}:12: unknown condition 'eqq'; did you mean 'eq'?",
        f"{path}:{second_line}:14: unknown condition 'nto'; did you mean 'not'?",
        f"{path}:{second_line}:20: unknown condition 'is_nul'; did you mean 'is_null'?",
    ]


def test_misspelt_condition_argument_checked(tmp_path):
    """The argument of a misspelt condition is read as that of the closest operator, so an
    unknown expression in it is reported in the same run."""
    path = tmp_path / "itac.yaml"
    original = "    filter: {not: {is_null: FINESS}}"
    path.write_text(TEXT.replace(original, "    filter: {nto: {is_null: {trmi: FINESS}}}", 1))

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    line = _line_of(original)
    assert str(caught.value).splitlines() == [
        f"{path}:{line}:14: unknown condition 'nto'; did you mean 'not'?",
        f"{path}:{line}:30: unknown expression 'trmi'; did you mean 'trim'?",
    ]


def test_unknown_condition_argument_of_other_shape(tmp_path):
    """An argument that does not fit the closest operator is left for a later run."""
    path = tmp_path / "itac.yaml"
    original = "    filter: {not: {is_null: FINESS}}"
    path.write_text(TEXT.replace(original, "    filter: {nto: [FINESS, 1]}", 1))

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert str(caught.value).splitlines() == [
        f"{path}:{_line_of(original)}:14: unknown condition 'nto'; did you mean 'not'?"
    ]


def test_unknown_condition_lists_known_ones(tmp_path):
    path = tmp_path / "itac.yaml"
    original = "    filter: {not: {is_null: FINESS}}"
    path.write_text(TEXT.replace(original, "    filter: {zzz: FINESS}", 1), encoding="utf-8")

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert caught.value.detail == (
        "unknown condition 'zzz'; a condition is one of eq, in, is_null, not, and, or"
    )
    assert (caught.value.line, caught.value.column) == (_line_of(original), 14)


def test_unknown_keys_and_options_reported_together(tmp_path):
    path = tmp_path / "itac.yaml"
    text = TEXT.replace(
        "{pad: ADR_DEPARTEMENT, width: 3}", "{pad: ADR_DEPARTEMENT, width: 3, fil: 0}", 1
    )
    text = text.replace("{trim: NOM_NAISSANCE}", "{trim: NOM_NAISSANCE, widht: 3}", 1)
    text = text.replace("    filter_reason: ", "    filter_raison: ", 1)
    text = "descriptoin: test\n" + text
    path.write_text(text, encoding="utf-8")

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    problems = caught.value.problems
    assert [problem.detail for problem in problems] == [
        "unknown key 'descriptoin'; did you mean 'description'?",
        "'trim' does not take option 'widht'; remove it",
        "'pad' does not take option 'fil'; did you mean 'fill'?",
        "unknown key 'filter_raison' in a target; did you mean 'filter_reason'?",
    ]
    assert all(problem.path == path for problem in problems)
    assert all(problem.line and problem.column for problem in problems)


def test_unknown_names_after_target_error(tmp_path):
    path = tmp_path / "itac.yaml"
    reason = "    filter_reason: seules les conclusions d'accord sur une orientation"
    option = "{surrogate: [NUM_CONCLUSION], namespace: orientation.itac}"
    condition = "    filter: {not: {is_null: FINESS}}"
    assert TEXT.count(reason) == TEXT.count(option) == TEXT.count(condition) == 1
    text = TEXT.replace(reason, reason.replace("filter_reason", "filtre_reason"))
    text = text.replace(option, option.replace("namespace", "namespce"))
    text = text.replace(condition, condition.replace("{not:", "{nott:"))
    path.write_text(text, encoding="utf-8")

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    problems = caught.value.problems
    assert [problem.detail for problem in problems] == [
        "unknown key 'filtre_reason' in a target; did you mean 'filter_reason'?",
        "'surrogate' does not take option 'namespce'; did you mean 'namespace'?",
        "unknown condition 'nott'; did you mean 'not'?",
    ]
    lines = TEXT.splitlines()
    expected = [
        next(number for number, line in enumerate(lines, 1) if fragment in line)
        for fragment in (reason, option, condition)
    ]
    assert [problem.line for problem in problems] == expected


def test_unknown_names_in_one_target_listed(tmp_path):
    path = tmp_path / "itac.yaml"
    replaced = {
        "{surrogate: [NUM_DOSSIER], namespace: individu.itac}": "namespace:",
        "nom_naissance: {trim: NOM_NAISSANCE}": "{trim:",
        "nationalite: {code: NATIONALITE, map:": " map:",
        "      - {table: DEMANDE, keys: {NUM_DEMANDE: NUM_DEMANDE}}\n    filter:": "keys:",
    }
    misspelt = {"namespace:": "namspace:", "{trim:": "{trimm:", " map:": " mapp:", "keys:": "key:"}
    text = TEXT
    for fragment, word in replaced.items():
        assert fragment in text, fragment
        # The first use of each fragment is in the first target, but for the join.
        text = text.replace(fragment, fragment.replace(word, misspelt[word]), 1)
    path.write_text(text, encoding="utf-8")

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert [problem.detail for problem in caught.value.problems] == [
        "'surrogate' does not take option 'namspace'; did you mean 'namespace'?",
        "unknown expression 'trimm'; did you mean 'trim'?",
        "'code' does not take option 'mapp'; did you mean 'map'?",
        "unknown key 'key' in a join; did you mean 'keys'?",
    ]
