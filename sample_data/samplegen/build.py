"""Builds a whole sample delivery: people, tables, logs, manifest and expected numbers."""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from samplegen import referentials as ref
from samplegen.establishments import build_referentials
from samplegen.itac import ItacGenerator, PersonIdentity
from samplegen.layouts import ITAC_TABLES, OPALES_TABLES
from samplegen.opales import FINESS_FILE, RAMSESE_FILE, OpalesGenerator
from samplegen.output import DeliveryWriter
from samplegen.people import IdentitySpace, NirAllocator
from samplegen.plan import (
    CROSS_BY_IDENTITY,
    CROSS_BY_NIR,
    CROSS_CAPITALS,
    CROSS_PEOPLE,
    Tally,
    plan_itac,
    plan_opales,
    planted_counts,
)
from samplegen.report import expected_numbers

logger = logging.getLogger(__name__)

DEFAULT_SEED = 57
DEFAULT_PERSONS = 650  # 400 ITAC adults and 250 OPALES children
MIN_PERSONS = 60  # below this the planted defects do not find enough rows
_ITAC_SHARE = (8, 13)  # adults = persons * 8 // 13
# Records per person: an estimate a little below the 6.92 and 6.93 measured with seed 57 at
# 100 000 and 724 638 persons, so that `persons_for_records(n)` persons give n records or more.
RECORDS_PER_PERSON = 6.9

# Disjoint birth ranges keep the identity spaces apart. On the extraction date the ITAC adults
# are 22 to 60 and the cross-application people 20 to 22 (born 1986-1987). OPALES children are
# 0 to 19, and the closed dossiers of ARCHIVE belong to people born before 1948.
_ADULT_BIRTHS = (date(1948, 1, 1), date(1985, 12, 31))
_CROSS_BIRTHS = (date(1986, 1, 1), date(1987, 12, 31))
_CHILD_BIRTHS = (date(1989, 1, 1), date(2008, 6, 30))
_ARCHIVE_BIRTHS = (date(1920, 1, 1), date(1947, 12, 31))

_LOG_TIMES = {
    "ITAC": ("14/10/2008 22:01:17", "14/10/2008 22:14:02"),
    "OPALES": ("14/10/2008 22:20:41", "14/10/2008 22:31:09"),
}
# Known delivery files, removed before writing so a folder never mixes two runs.
_LOG_FILES = {"ITAC": "EXTRACTION_ITAC.log", "OPALES": "EXTRACTION_OPALES.log"}


@dataclass(frozen=True)
class Sizes:
    """How many people of each kind a run generates."""

    adults: int
    children: int
    archives: int

    @classmethod
    def for_persons(cls, persons: int) -> Sizes:
        adults = persons * _ITAC_SHARE[0] // _ITAC_SHARE[1]
        return cls(adults=adults, children=persons - adults, archives=max(5, adults // 10))


def persons_for_records(records: int) -> int:
    """Return the number of persons whose delivery has about `records` records or more."""
    return max(MIN_PERSONS, math.ceil(records / RECORDS_PER_PERSON))


def generate(seed: int, persons: int, out: Path, encrypt: bool) -> dict:
    """Write a delivery of `persons` fictional people into `out`; return the expected numbers.

    With `encrypt` False the files are plaintext (`DOSSIER.csv` instead of
    `DOSSIER.csv.enc`), for benchmarks and for checking the encrypted files.
    """
    # NOTE: the bytes depend on CPython's `random` algorithms (checked with 3.11); a Python
    # release that changed random.choices or random.sample would change the delivery.
    sizes = Sizes.for_persons(persons)
    _remove_previous_run(out)
    out.mkdir(parents=True, exist_ok=True)
    referentials = build_referentials(seed)
    nirs = NirAllocator(random.Random(f"{seed}-NIR"))
    cross_people = _cross_people(seed, nirs)
    counts = planted_counts(sizes.adults, sizes.children)
    tally = Tally(counts)
    adults = IdentitySpace(
        f"{seed}-adults",
        ref.SURNAMES,
        ref.ADULT_MALE_NAMES,
        ref.ADULT_FEMALE_NAMES,
        *_ADULT_BIRTHS,
    )
    archives = IdentitySpace(
        f"{seed}-archive",
        ref.SURNAMES,
        ref.ADULT_MALE_NAMES,
        ref.ADULT_FEMALE_NAMES,
        *_ARCHIVE_BIRTHS,
    )
    children = IdentitySpace(
        f"{seed}-children",
        ref.SURNAMES,
        ref.CHILD_MALE_NAMES,
        ref.CHILD_FEMALE_NAMES,
        *_CHILD_BIRTHS,
    )
    delivery = DeliveryWriter(out, seed, encrypt)

    itac = ItacGenerator(
        seed,
        sizes.adults,
        sizes.archives,
        plan_itac(
            seed, sizes.adults, sizes.archives, adults, referentials.missing_itac_numbers, counts
        ),
        adults,
        archives,
        cross_people,
        referentials,
        nirs,
        tally,
    )
    itac.write(delivery)
    _write_log(
        delivery, "ITAC", [(table, f"{table}.csv", itac.records[table]) for table in ITAC_TABLES]
    )
    logger.info("ITAC written: %d dossiers", itac.records["DOSSIER"])

    opales = OpalesGenerator(
        seed,
        sizes.children,
        plan_opales(seed, sizes.children, children, referentials.missing_finess, counts),
        children,
        cross_people,
        referentials,
        nirs,
        tally,
    )
    opales.write(delivery)
    log_tables = [(table, f"{table}.csv", opales.records[table]) for table in OPALES_TABLES]
    log_tables += [
        ("FINESS", FINESS_FILE, opales.records["FINESS"]),
        ("RAMSESE", RAMSESE_FILE, opales.records["RAMSESE"]),
    ]
    _write_log(delivery, "OPALES", log_tables)
    logger.info("OPALES written: %d children", opales.records["ENFANT"])

    tally.check()
    delivery.write_checksums()
    _write_manifest(out, seed, persons, encrypt)
    records = {f"ITAC.{table}": count for table, count in itac.records.items()}
    records.update(
        (f"OPALES.{table}", opales.records[table])
        for table in [*OPALES_TABLES, "FINESS_STRUCTURE", "FINESS_GEOLOCALISATION", "RAMSESE"]
    )
    pairs = [
        (itac.cross_dossiers[number], opales.cross_children[number])
        for number in range(CROSS_PEOPLE)
    ]
    return expected_numbers(seed, persons, records, pairs, counts)


def _cross_people(seed: int, nirs: NirAllocator) -> list[PersonIdentity]:
    """Make the people present in both applications, with their valid NIR.

    The first is born in Ajaccio, so the NIR match also exercises the 2A key rule; the last is
    born in Italy.
    """
    rng = random.Random(f"{seed}-cross-birthplaces")
    space = IdentitySpace(
        f"{seed}-cross",
        ref.SURNAMES,
        ref.ADULT_MALE_NAMES,
        ref.ADULT_FEMALE_NAMES,
        *_CROSS_BIRTHS,
    )
    birthplaces = [
        "2A004",
        "57463",
        rng.choice(ref.MOSELLE_COMMUNES).insee,
        "99127",
        "57672",
        "57606",
    ]
    surnames = {CROSS_CAPITALS: "Lefèvre", CROSS_BY_NIR + CROSS_BY_IDENTITY: "Schmitt"}
    people = []
    for number in range(CROSS_PEOPLE):
        identity = space.identity(number)
        first_names = identity.first_name
        if number == 1:
            pool = ref.ADULT_MALE_NAMES if identity.sex == "1" else ref.ADULT_FEMALE_NAMES
            second = next(name for name in pool if name != identity.first_name)
            first_names = f"{identity.first_name} {second}"
        people.append(
            PersonIdentity(
                sex=identity.sex,
                surname=surnames.get(number, identity.surname),
                first_names=first_names,
                born=identity.born,
                birthplace=birthplaces[number],
                nir=nirs.allocate_full(identity.sex, identity.born, birthplaces[number]),
            )
        )
    return people


def _write_log(delivery: DeliveryWriter, application: str, tables: list[tuple[str, str, int]]):
    """Write the extraction batch log; counts are records, header lines excluded."""
    started, finished = _LOG_TIMES[application]
    log = delivery.open(application, _LOG_FILES[application])
    log.write_line(f"EXTRACTION {application} - DEPARTEMENT 057")
    log.write_line(f"DEBUT {started}")
    for table, file_name, count in tables:
        log.write_line(f"TABLE {table};{file_name};{count}")
    log.write_line(f"FIN {finished}")
    log.write_line("CODE RETOUR 0")
    delivery.close(log)


def _write_manifest(out: Path, seed: int, persons: int, encrypt: bool) -> None:
    if encrypt:
        encryption = (
            "chiffrement:\n"
            "  format: openssl-enc\n"
            "  cipher: aes-256-cbc\n"
            "  kdf: pbkdf2\n"
            "  digest: sha256\n"
            "  iterations: 10000\n"
        )
    else:
        encryption = "chiffrement:\n  format: none  # plaintext files, for benchmarks only\n"
    text = (
        f"# Livraison fictive de démonstration (graine {seed}, {persons} personnes),\n"
        "# écrite par sample_data/generate.py. Aucune donnée réelle.\n"
        'departement: "057"\n'
        'emetteur: "Services de l\'État - extraction ITAC et OPALES (données fictives)"\n'
        'date_extraction: "2008-10-14"\n'
        f"{encryption}"
        "applications:\n"
        "  ITAC: {dossier: ITAC, dictionnaire: itac, journal: EXTRACTION_ITAC.log}\n"
        "  OPALES: {dossier: OPALES, dictionnaire: opales, journal: EXTRACTION_OPALES.log}\n"
    )
    (out / "livraison.yaml").write_text(text, encoding="utf-8", newline="\n")


def _remove_previous_run(out: Path) -> None:
    """Delete the files an earlier run wrote into `out`, and nothing else."""
    names = {
        "ITAC": [f"{table}.csv" for table in ITAC_TABLES] + [_LOG_FILES["ITAC"]],
        "OPALES": [f"{table}.csv" for table in OPALES_TABLES]
        + [FINESS_FILE, RAMSESE_FILE, _LOG_FILES["OPALES"]],
    }
    for application, files in names.items():
        for name in files:
            for path in (out / application / name, out / application / f"{name}.enc"):
                path.unlink(missing_ok=True)
    for name in ("SHA256SUMS", "livraison.yaml", "expected.json"):
        (out / name).unlink(missing_ok=True)
