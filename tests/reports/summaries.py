"""Summaries and HTML helpers shared by the report tests."""

import posixpath
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from migration.reading.findings import NIR_MASK
from migration.reports import render_site

ROOT = Path(__file__).resolve().parents[2]
NNBSP = "\u202f"
# A NIR as the pipeline masks it: each digit becomes NIR_MASK.
MASKED_NIR = NIR_MASK * 15

# (application, table, file, read, rejects by rule, warnings by rule, filtered)
SAMPLE_TABLES = [
    (
        "ITAC",
        "DOSSIER",
        "DOSSIER.csv",
        412,
        {"key.duplicate": 2},
        {"id.nir": 7, "type.date_placeholder": 5},
        0,
    ),
    ("ITAC", "DEMANDE", "DEMANDE.csv", 1010, {"fk.dangling": 4}, {}, 0),
    ("ITAC", "CONCLUSION", "CONCLUSION.csv", 12480, {}, {}, 0),
    ("ITAC", "SUIVI", "SUIVI.csv", 230, {"fk.dangling": 2}, {}, 0),
    ("ITAC", "HISTORIQUE", "HISTORIQUE.csv", 3120, {"type.date": 3, "code.unknown": 3}, {}, 0),
    ("OPALES", "ENFANT", "ENFANT.csv", 640, {}, {"id.nir": 3}, 0),
    ("OPALES", "DEMANDE", "DEMANDE.csv", 1500, {"key.duplicate": 2}, {}, 10),
    ("OPALES", "FINESS_STRUCTURE", "FINESS.csv", 1234567, {}, {}, 0),
]
RULES = [
    ("key.duplicate", "error", "Clé primaire déjà vue plus haut dans le fichier"),
    ("fk.dangling", "error", "Clé étrangère absente de la table référencée"),
    ("type.date", "error", "Date invalide dans les formats déclarés"),
    ("code.unknown", "error", "Code absent de la liste de codes"),
    ("id.nir", "warning", "NIR dont la clé ou le format est invalide"),
    ("type.date_placeholder", "warning", "Date fictive telle que 00/00/0000"),
]
SEVERITIES = {rule_id: severity for rule_id, severity, _ in RULES}
# Column and value of the examples of each rule; only NIR is a personal column.
RULE_EXAMPLES = {
    "key.duplicate": ("NUM_DOSSIER", "5700001234"),
    "fk.dangling": ("NUM_DOSSIER", "5799999999"),
    "type.date": ("DATE_DECISION", "31/02/2005"),
    "code.unknown": ("CODE_TYPE_DEMANDE", "99"),
    "id.nir": ("NIR", MASKED_NIR),
    "type.date_placeholder": ("DATE_OUVERTURE", "00/00/0000"),
}


def build_table(application, table, file, read, rejects, warnings, filtered):
    """Return one table entry of a run summary, masked the way the pipeline masks."""
    rejected = sum(rejects.values())
    findings = []
    for rule_id, count in {**rejects, **warnings}.items():
        column, value = RULE_EXAMPLES[rule_id]
        examples = [
            {"line": 35 + index, "column": column, "value": value} for index in range(min(count, 3))
        ]
        findings.append(
            {
                "rule_id": rule_id,
                "severity": SEVERITIES[rule_id],
                "count": count,
                "examples": examples,
            }
        )
    return {
        "application": application,
        "table": table,
        "file": file,
        "read": read,
        "loaded": read - rejected - filtered,
        "rejected": rejected,
        "filtered": filtered,
        "warnings": sum(warnings.values()),
        "reconciled": True,
        "findings_by_rule": findings,
        "reject_reasons": [
            {"rule_id": rule_id, "count": count} for rule_id, count in rejects.items()
        ],
        "profile": {
            "rows": read,
            "columns": [
                {
                    "name": "NUM_DOSSIER",
                    "type": "text",
                    "declared_length": 10,
                    "personal": False,
                    "nulls": 0,
                    "distinct": read - 2,
                    "min_length": 10,
                    "max_length": 10,
                    "min": "5700000001",
                    "max": "5700012480",
                    "top": [{"value": "5700000007", "count": 2}],
                    "code_coverage": None,
                },
                {
                    "name": "NIR",
                    "type": "text",
                    "declared_length": 15,
                    "personal": True,
                    "identifier": "nir",
                    "nulls": 3,
                    "distinct": read - 3,
                    "min_length": 15,
                    "max_length": 15,
                    "min": None,
                    "max": None,
                    "top": [{"value": MASKED_NIR, "count": 1}],
                    "code_coverage": None,
                },
                {
                    "name": "SEXE",
                    "type": "code",
                    "declared_length": None,
                    "personal": False,
                    "nulls": 0,
                    "distinct": 2,
                    "min_length": 1,
                    "max_length": 1,
                    "min": "1",
                    "max": "2",
                    "top": [{"value": "1", "count": 210}, {"value": "2", "count": 202}],
                    "code_coverage": {"declared": 2, "used": 2, "unknown": []},
                },
                {
                    "name": "CODE_TYPE_DEMANDE",
                    "type": "code",
                    "declared_length": 2,
                    "personal": False,
                    "nulls": 0,
                    "distinct": 14,
                    "min_length": 2,
                    "max_length": 2,
                    "min": "01",
                    "max": "99",
                    "top": [{"value": "11", "count": 95}],
                    "code_coverage": {"declared": 13, "used": 13, "unknown": ["99"]},
                },
            ],
        },
    }


def build_summary(tables=SAMPLE_TABLES):
    """Return a run summary shaped like the one the pipeline writes after a successful run."""
    return {
        "run_id": "20081014T220117-ab12cd",
        "started_at": "2008-10-14T22:01:17+00:00",
        "finished_at": "2008-10-14T22:14:02+00:00",
        "product_version": "0.1.0",
        "status": "success",
        "blocking": [],
        "delivery": {
            "path": "/srv/reprise/livraison-057",
            "departement": "057",
            "date_extraction": "2008-10-14",
            "files": [
                {
                    "application": application,
                    "file": file,
                    "sha256_encrypted": "ab" * 32,
                    "sha256_plaintext": "cd" * 32,
                    "manifest": "ok",
                    "log_records": read,
                    "records": read,
                }
                for application, _, file, read, *_ in tables
            ],
        },
        "target": "sqlite:////abs/output/mdph.sqlite3",
        "target_schema": {"name": "mdph_reference", "version": "1.0"},
        "dictionaries": {
            "ITAC": {
                "file": str(ROOT / "migration/dictionary/data/itac.yaml"),
                "sha256": "ef" * 32,
            },
            "OPALES": {
                "file": str(ROOT / "migration/dictionary/data/opales.yaml"),
                "sha256": "12" * 32,
            },
        },
        "mappings": {"ITAC": {"file": str(ROOT / "mappings/itac.yaml"), "sha256": "34" * 32}},
        "tables": [build_table(*row) for row in tables],
        "targets": [{"table": "individu", "rows": 640}, {"table": "demande", "rows": 2504}],
        "identity": {"cross_application": 4, "by_nir": 2, "by_identity": 2, "ambiguous": 0},
        "rules": [
            {"rule_id": rule_id, "severity": severity, "description": description}
            for rule_id, severity, description in RULES
        ],
        "filters": [],
    }


class PageParser(HTMLParser):
    """Collect the tags, ids, internal links and attributes of an HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.ids = []
        self.hrefs = []
        self.attributes = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            self.attributes.append((tag, name, value or ""))
            if name == "id":
                self.ids.append(value)
            if name == "href":
                self.hrefs.append(value)

    def handle_data(self, data):
        self.text.append(data)


def parse(html):
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def site(summary, language="fr", **options):
    """Render every page of a summary: {path: html}."""
    _, _, pages = render_site(summary, language, **options)
    return pages


def broken_links(pages):
    """Return (page, href) pairs of internal links whose page or anchor does not exist."""
    parsed = {name: parse(html) for name, html in pages.items()}
    broken = []
    for name, page in parsed.items():
        for href in page.hrefs:
            parts = urlsplit(href)
            if parts.scheme == "data":
                continue
            if parts.scheme or parts.netloc:
                broken.append((name, href))
                continue
            target = name
            if parts.path:
                target = posixpath.normpath(posixpath.join(posixpath.dirname(name), parts.path))
            if target not in parsed and not target.endswith((".json", ".xlsx", ".jsonl")):
                broken.append((name, href))
            elif parts.fragment and target in parsed and parts.fragment not in parsed[target].ids:
                broken.append((name, href))
    return broken
