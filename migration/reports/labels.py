"""Labels of the HTML quality report, one dictionary per language.

Both dictionaries have the same keys. The template reads every piece of visible text from here,
so adding a language means adding one dictionary. A label that follows a count is a dictionary of
its CLDR plural forms, "one" and "other" (see `formatting.plural`).
"""

LABELS: dict[str, dict] = {
    "fr": {
        "title": "Rapport qualité de la reprise",
        "toc": "Sommaire",
        "verdict_ok": "Réconciliation correcte",
        "verdict_gap": "Écart de réconciliation",
        "verdict_unknown": "Résultat de réconciliation inconnu",
        "verdict_blocked": "Reprise bloquée",
        "verdict_ok_text": ("Pour chaque table source, lues = chargées + rejetées + filtrées."),
        "verdict_gap_text": (
            "Au moins une table source ne vérifie pas lues = chargées + rejetées + filtrées : "
            "des lignes ne sont ni chargées ni rejetées avec un motif."
        ),
        "verdict_unknown_text": "Le résumé ne donne pas le résultat de la réconciliation.",
        "verdict_blocked_text": (
            "Des problèmes bloquants ont arrêté la reprise avant le chargement : "
            "voir la section À décider."
        ),
        "verdict_removals": "Chargement arrêté : trop de suppressions",
        "verdict_removals_text": (
            "Le chargement aurait supprimé plus de la moitié des lignes de la base cible, ou "
            "d'une de ses tables, qui contient sans doute une autre livraison. Rien n'a été "
            "chargé : voir la section À décider."
        ),
        "load_error": "Chargement arrêté",
        "load_error_action": (
            "Vérifier que la base cible correspond à cette livraison, ou relancer avec "
            "--allow-removals pour remplacer son contenu."
        ),
        "status": "Statut de l'exécution",
        "tables_count": "Tables sources",
        "tables_reconciled": "Tables réconciliées",
        "rows_read": "Lignes lues",
        "rows_loaded": "Lignes chargées",
        "rows_rejected": "Lignes rejetées",
        "rows_filtered": "Lignes filtrées",
        "warnings_total": "Avertissements",
        "section_summary": "Synthèse par table source",
        "section_decisions": "À décider",
        "section_tables": "Détail par table",
        "section_targets": "Tables cibles",
        "load_added": "Ajoutées",
        "load_changed": "Modifiées",
        "load_removed": "Supprimées",
        "load_unchanged": "Inchangées",
        "load_kept_delivered": (
            "Livrées mais gardées telles quelles (données aussi par une autre application)"
        ),
        "load_kept_other": "Non livrées, conservées pour les autres applications",
        "allow_removals_used": (
            "Chargement lancé avec --allow-removals (allow_removals dans Dagster) : la "
            "protection contre la suppression de plus de la moitié des lignes de la base cible "
            "était levée."
        ),
        "section_identity": "Rapprochement des personnes",
        "section_delivery": "Livraison",
        "section_rules": "Règles de contrôle",
        "rules_relaxed": (
            "{file} désactive ou passe en avertissement les règles bloquantes {rules} : les "
            "lignes qu'elles auraient rejetées sont chargées. Ce fichier n'est pas couvert par "
            "SHA256SUMS ; vérifier que la MDPH a choisi ces changements."
        ),
        "rule_policy_intro": "Règles modifiées par {file} pour cette livraison :",
        "rule_disabled": "désactivée",
        "rule_default": "par défaut : {severity}",
        "section_filters": "Filtres",
        "section_run": "Exécution",
        "application": "Application",
        "table": "Table",
        "file": "Fichier",
        "read": "Lues",
        "loaded": "Chargées",
        "rejected": "Rejetées",
        "filtered": "Filtrées",
        "warnings": "Avertissements",
        "reconciled": "Réconcilié",
        "gap": "Écart",
        "gap_text": {
            "one": "ligne ni chargée, ni rejetée, ni filtrée",
            "other": "lignes ni chargées, ni rejetées, ni filtrées",
        },
        "total": "Total",
        "rule": "Règle",
        "severity": "Gravité",
        "description": "Description",
        "count": "Nombre",
        "examples": "Exemples (valeurs personnelles masquées)",
        "line": "ligne",
        "column": "colonne",
        "more_examples": {
            "one": "autre exemple non affiché",
            "other": "autres exemples non affichés",
        },
        "reject_reasons": "Motifs de rejet",
        "findings": "Constats par règle",
        "profile": "Profil des colonnes",
        "profile_rows": "Lignes profilées",
        "col_name": "Colonne",
        "col_personal": "Personnelle",
        "col_nulls": "Vides",
        "col_distinct": "Distinctes",
        "col_length": "Longueur min–max",
        "col_min_length": "Longueur min",
        "col_max_length": "Longueur max",
        "col_min": "Min",
        "col_max": "Max",
        "col_top": "Valeurs fréquentes",
        "top_repeated_only": "valeurs répétées seulement, trop de valeurs distinctes",
        "col_type": "Type",
        "col_declared_length": "Longueur déclarée",
        "col_code_coverage": "Liste de codes",
        "codes_used": {"one": "code utilisé", "other": "codes utilisés"},
        "codes_unknown": "codes inconnus",
        "no_tables": "Le résumé ne contient aucune table source.",
        "no_findings": "Aucun constat.",
        "no_profile": "Pas de profil pour cette table.",
        "no_decisions": "Rien à décider : aucun rejet, aucun écart, livraison conforme.",
        "no_targets": "Aucune table cible dans le résumé.",
        "no_identity": "Pas de rapprochement dans le résumé.",
        "no_files": "Aucun fichier de livraison dans le résumé.",
        "no_rules": "Aucune règle dans le résumé.",
        "no_filters": "Aucun filtre appliqué.",
        "decision_rejects": {
            "one": "ligne rejetée, à corriger à la source ou à accepter comme perdue",
            "other": "lignes rejetées, à corriger à la source ou à accepter comme perdues",
        },
        "decision_gap": "écart de réconciliation à expliquer",
        "decision_file": "fichier de livraison à vérifier avant la réclamation",
        "unexplained_rejects": "rejets sans motif détaillé",
        "manifest": "Contrôle d'empreinte",
        "log_records": "Enregistrements (journal)",
        "records": "Enregistrements (lus)",
        "log_match": "Concordance",
        "sha256_encrypted": "SHA-256 chiffré",
        "sha256_plaintext": "SHA-256 déchiffré",
        "delivery_path": "Dossier de livraison",
        "departement": "Département",
        "date_extraction": "Date d'extraction",
        "date_unknown": "inconnue",
        "target_rows": "Lignes",
        "identity_cross_application": "Personnes présentes dans les deux applications",
        "identity_by_nir": "dont rapprochées par NIR",
        "identity_by_identity": "dont rapprochées par nom, prénoms, date et lieu de naissance",
        "identity_ambiguous": "Rapprochements ambigus, non faits",
        "decision_ambiguous": {
            "one": "rapprochement ambigu de personnes à trancher à la main",
            "other": "rapprochements ambigus de personnes à trancher à la main",
        },
        "blocking": "Problèmes bloquants",
        "target_schema": "Schéma cible",
        "run_id": "Identifiant d'exécution",
        "started_at": "Début",
        "finished_at": "Fin",
        "duration": "Durée",
        "product_version": "Version du produit",
        "target": "Base cible",
        "dictionaries": "Dictionnaires de données",
        "mappings": "Correspondances (mappings)",
        "sha256": "SHA-256",
        # French puts a no-break space before a colon.
        "colon": "\u00a0:",
        "yes": "oui",
        "no": "non",
        "empty_value": "(vide)",
        "generated_by": "Rapport produit par mdph-reprise",
        "nav_summary": "Synthèse",
        "nav_tables": "Tables",
        "nav_coverage": "Couverture",
        "nav_identity": "Personnes",
        "nav_changes": "Évolutions",
        "nav_lineage": "Lignage",
        "nav_run": "Exécution",
        "nav_label": "Pages du rapport",
        "page_of": "page {page} sur {pages}",
        "previous_page": "← page précédente",
        "next_page": "page suivante →",
        "table_page": "Table {name}",
        "back_summary": "← Retour à la synthèse",
        "charts": "Graphiques",
        "chart_nulls": "Part de valeurs vides par colonne",
        "chart_rules": "Constats par règle",
        "chart_top": "Valeurs les plus fréquentes",
        "chart_lengths": "Longueur des valeurs (valeurs personnelles non montrées)",
        "chart_dates": "Dates par année",
        "chart_other": "autres",
        "distributions": "Distribution par colonne",
        "date_placeholders": "dates fictives",
        "date_invalid": "dates invalides",
        "more_charts": {
            "one": "colonne de plus sans graphique, pour garder la page légère",
            "other": "colonnes de plus sans graphique, pour garder la page légère",
        },
        "length_and_longer": "et plus",
        "table_columns_fate": "Devenir des colonnes",
        "col_status": "Statut",
        "col_targets": "Colonnes cibles alimentées",
        "col_read_by": "Lue par",
        "reason": "Motif",
        "coverage_status": {
            "mapped": "reprise",
            "join_or_filter": "jointure ou filtre seulement, non reprise",
            "dropped": "écartée",
            "unmapped": "non décidée",
        },
        "read_by_kind": {
            "join": "jointure avec",
            "lookup": "recherche avec",
            "filter": "filtre",
        },
        "coverage_title": "Couverture des correspondances",
        "coverage_intro": (
            "Pour chaque colonne source : reprise dans le schéma cible, lue seulement par une "
            "jointure, une recherche ou un filtre (sa valeur n'est pas reprise), écartée avec "
            "un motif, ou non décidée. Pour chaque colonne cible : les colonnes sources et la "
            "transformation qui l'alimentent."
        ),
        "coverage_sources": "Colonnes sources",
        "coverage_targets": "Colonnes cibles",
        "coverage_mapped": "Reprises",
        "coverage_join_or_filter": "Jointure ou filtre seulement",
        "coverage_dropped": "Écartées",
        "coverage_unmapped": "Non décidées",
        "coverage_fed": "Alimentées",
        "coverage_total": "Colonnes",
        "transformation": "Transformation",
        "sources": "Sources",
        "not_fed": "non alimentée (toujours vide)",
        "no_coverage": (
            "Couverture indisponible : les fichiers de correspondance ou les dictionnaires "
            "de cette exécution ne sont pas lisibles."
        ),
        "decision_unmapped": {
            "one": "colonne source ni reprise ni écartée, à décider",
            "other": "colonnes sources ni reprises ni écartées, à décider",
        },
        "identity_title": "Rapprochement des personnes",
        "identity_merged": "Personnes présentes dans plusieurs applications, fusionnées",
        "identity_merged_intro": (
            "Chaque ligne est une personne cible alimentée par des lignes de plusieurs "
            "applications. Les clés sont des identifiants techniques, pas des données "
            "personnelles."
        ),
        "identity_review": "À revoir : rapprochements ambigus, non faits",
        "identity_review_missing": (
            "Cette exécution ne fournit pas la liste des candidats ambigus, seulement leur "
            "nombre ci-dessus."
        ),
        "no_review": "Aucun rapprochement ambigu.",
        "no_merged": "Aucune personne fusionnée entre applications.",
        "no_database": "Liste indisponible : la base cible n'a pas été lue pour ce rapport.",
        "target_key": "Clé cible",
        "source_key": "Clé source",
        "source_rows": "Lignes sources",
        "candidates": "Candidats",
        "score": "Score",
        "identity_primary": "ITAC (clé source, puis id cible)",
        "identity_secondary": "OPALES (clé source, puis id cible)",
        # The phrases of migration/identity/reasons.py, by code. A similarity follows in brackets.
        "match_reasons": {
            "same_nir": "même NIR",
            "same_name": "nom identique",
            "similar_name": "nom proche",
            "same_first_names": "prénoms identiques",
            "similar_first_names": "prénoms proches",
            "same_birth_date": "même date de naissance",
            "different_birth_date": "date de naissance différente",
            "same_birthplace": "même lieu de naissance",
            "different_birthplace": "lieu de naissance différent",
            "several_candidates": "plusieurs candidats possibles",
        },
        # The reject reasons of migration/mapping/reasons.py and migration/target/reasons.py,
        # by code, with the same parameters in braces.
        "reject_reason_phrases": {
            "unknown_code": "code sans traduction : {description}",
            "conversion_failed": "conversion impossible : {description}",
            "required_empty": "colonne cible obligatoire {column} vide",
            "parent_missing": "ligne parente absente ou rejetée dans {table}",
            "text_too_long": "le texte dépasse les {length} caractères de la colonne",
            "personal_not_a_code": "la valeur n'est pas un code de la liste de codes {code_list}",
            "not_a_code": "{code} n'est pas un code de la liste de codes {code_list}",
            "text_with_nul": (
                "le texte contient un caractère NUL, que PostgreSQL ne peut pas enregistrer"
            ),
            "integer_out_of_range": "l'entier sort de la plage sur 32 bits d'une colonne INTEGER",
            "decimal_not_finite": "le nombre décimal n'est pas fini",
            "decimal_scale": "le nombre décimal a plus de {scale} chiffres après la virgule",
            "decimal_precision": (
                "le nombre décimal a plus de {precision} chiffres (NUMERIC({precision}, {scale}))"
            ),
            "timestamp_not_iso": "le texte n'est pas une date et heure ISO 8601",
            "timestamp_without_zone": (
                "la date et heure n'a pas de fuseau horaire : utiliser datetime.now(timezone.utc)"
            ),
            "float_for_decimal": (
                "decimal.Decimal attendu, float reçu (un float n'est pas exact : utiliser "
                "decimal.Decimal)"
            ),
            "datetime_for_date": (
                "datetime.date attendu, datetime reçu avec une heure ou un fuseau horaire"
            ),
            "wrong_type": "{expected} attendu, {actual} reçu",
        },
        # The finding details of migration/reading/findings.py, by code, with the same parameters.
        "finding_detail_phrases": {
            "field_count": "{fields} champs, {expected} attendus",
            "quote_in_unquoted_field": "guillemet dans un champ sans guillemets",
            "text_after_closing_quote": (
                "texte après le guillemet fermant d'un champ au lieu de '{delimiter}'"
            ),
            "quoted_field_not_closed": (
                "un champ entre guillemets n'est pas fermé avant la fin du fichier"
            ),
            "field_too_long": "un champ dépasse la limite de {limit} caractères",
            "csv_error": "l'enregistrement ne peut pas être lu : {error}",
            "nul_byte": "octet NUL dans l'enregistrement",
            "truncated": (
                "le dernier enregistrement n'a pas de fin de ligne, contrairement aux lignes "
                "précédentes : le fichier est peut-être tronqué ; réclamer une nouvelle "
                "livraison à l'expéditeur"
            ),
            "key_repeated": "même clé que la ligne {line}",
        },
        "identity_by_decision": "dont rapprochées par décision enregistrée",
        "identity_separated_by_decision": "Rapprochements écartés par décision enregistrée",
        "identity_for_review": "Rapprochements possibles, à revoir",
        "identity_only_itac": "Personnes seulement dans ITAC",
        "identity_only_opales": "Personnes seulement dans OPALES",
        "more_rows": {"one": "ligne de plus non affichée", "other": "lignes de plus non affichées"},
        "changes_title": "Évolutions depuis la livraison précédente",
        "no_previous": "Pas d'exécution précédente à comparer.",
        "no_changes": "Aucune différence avec l'exécution précédente.",
        "previous_run": "Exécution précédente",
        "before": "Avant",
        "after": "Après",
        "delta": "Écart",
        "change": "Changement",
        "new_rules": "Nouvelles règles en défaut",
        "gone_rules": "Règles qui ne sont plus en défaut",
        "changes_tables": "Tables sources",
        "changes_targets": "Tables cibles",
        "changes_targets_intro": (
            "Avant et après : lignes de la table après chaque exécution. Ajoutées, modifiées "
            "et supprimées : lignes que le chargement de cette exécution a changées."
        ),
        "same_counts_note": (
            "« Mêmes effectifs » : les comptes et les règles en défaut sont égaux, mais une "
            "des deux exécutions n'a pas l'empreinte du fichier, donc son contenu a pu changer."
        ),
        "changes_files": "Fichiers livrés",
        "changes_versions": "Dictionnaires, correspondances et schéma cible",
        "changed_tables": {"one": "table source modifiée", "other": "tables sources modifiées"},
        "kind": "Nature",
        "change_names": {
            "new": "nouvelle",
            "removed": "disparue",
            "changed": "modifiée",
            "same": "inchangée",
            "same_counts": "mêmes effectifs",
        },
        "version_kinds": {
            "dictionaries": "dictionnaire",
            "mappings": "correspondance",
            "target_schema": "schéma cible",
        },
        "lineage_title": "Lignage : d'où vient une ligne, où est allée une autre",
        "lineage_intro": (
            "Saisissez une clé cible (par exemple un identifiant de dossier du schéma cible), "
            "une clé source (NUM_DOSSIER…) ou un numéro de ligne d'un fichier source. Les "
            "valeurs personnelles ne figurent jamais dans cet index."
        ),
        "lookup_query": "Clé ou numéro de ligne",
        "lookup_scope": "Chercher dans",
        "lookup_scope_all": "clés cibles et sources",
        "lookup_scope_target": "clés cibles",
        "lookup_scope_source": "clés sources et lignes",
        "lookup_table": "Table source (pour un numéro de ligne)",
        "lookup_any_table": "toutes",
        "lookup_button": "Chercher",
        "lookup_no_result": "Aucun résultat dans l'index de cette page.",
        "lookup_results": {"one": "résultat", "other": "résultats"},
        "lookup_noscript": (
            "La recherche utilise un petit script intégré à la page ; sans lui, utilisez la "
            "commande ci-dessous."
        ),
        "lookup_truncated": (
            "L'index de cette page est limité à {shown} lignes de lignage sur {total} et à "
            "{rejects_shown} rejets sur {rejects_total}, pour rester léger. La commande "
            "ci-dessous couvre toutes les lignes."
        ),
        "lookup_loaded_into": "chargée dans",
        "lookup_rejected_by": "rejetée par la règle",
        "lookup_from": "provient de",
        "cli_hint": "Pour n'importe quelle ligne, sur un poste de la MDPH :",
        "lineage_unavailable": (
            "Pas de lignage sur cette page : la base cible n'a pas été lue pour ce rapport."
        ),
        "lineage_stale": (
            "La base cible contient le lignage de l'exécution {run} : cette exécution-ci n'a "
            "rien chargé."
        ),
        "lineage_index_size": "Index de cette page",
        "lineage_rows": {"one": "ligne de lignage", "other": "lignes de lignage"},
        "reject_rows": {"one": "rejet", "other": "rejets"},
        "column_lineage": "Lignage par colonne",
        "db_check": "Contrôle par la base cible",
        "db_check_intro": (
            "Colonnes « base » : recomptées dans la base cible après le chargement."
        ),
        "db_loaded": "Chargées (base)",
        "db_rejected": "Rejetées (base)",
        "db_rows": "Lignes (base)",
        "db_agrees": "Concordance",
        "db_not_read": "La base cible n'a pas été lue pour ce rapport.",
        "run_record": "Fiche d'exécution",
        "target_schema_sha256": "SHA-256 du schéma cible",
        "openlineage_file": "Événements OpenLineage",
        "downloads": "Téléchargements",
        "download_json": "Résumé JSON (machines)",
        "download_xlsx": "Classeur XLSX (tableur)",
        "personal_shown": (
            "Attention : ce rapport montre des valeurs personnelles en clair. À n'utiliser "
            "qu'au sein de la MDPH."
        ),
        "reject_samples": "Lignes rejetées (extrait, valeurs personnelles masquées)",
        "reject_samples_shown": "Lignes rejetées (extrait, valeurs en clair)",
        "raw_row": "Ligne source complète",
        "target_column": "colonne cible",
        "value_not_kept": "(valeur non conservée)",
        "key": "clé",
        "merge_conflicts_title": "Lignes regroupées par clé avec des valeurs différentes",
        "merge_conflict_text": {
            "one": "clé de la table {table} regroupe {rows} lignes aux valeurs différentes",
            "other": "clés de la table {table} regroupent {rows} lignes aux valeurs différentes",
        },
        "merge_conflicts_intro": (
            "Les lignes qui ont la même clé cible forment une seule ligne, qui garde pour chaque "
            "colonne la première valeur non vide dans l'ordre des sources : les autres valeurs "
            "sont perdues. Quelques clés peuvent être de vrais changements d'une personne entre "
            "deux dossiers ou deux applications. Beaucoup de clés, ou une clé qui regroupe "
            "beaucoup de lignes, viennent en général d'une clé mal construite dans la "
            "correspondance : à vérifier avant de valider la reprise."
        ),
        "merge_conflict_keys": "Clés en conflit",
        "merge_conflict_merged_keys": "Clés regroupant plusieurs lignes",
        "merge_conflict_rows": "Lignes regroupées",
        "merge_conflict_columns": "Colonnes (clés en conflit)",
        "merge_conflict_examples": "Exemples de clés (lignes sources)",
        "sheet_merge_conflicts": "Regroupements par clé",
        "sheet_summary": "Synthèse",
        "sheet_findings": "Constats",
        "sheet_profiles": "Profils",
        "sheet_targets": "Tables cibles",
        "sheet_coverage": "Couverture",
        "sheet_identity": "Personnes",
        "sheet_review": "Rapprochements à revoir",
        "sheet_changes": "Évolutions",
        "sheet_delivery": "Livraison",
        "sheet_run": "Exécution",
        "field": "Champ",
        "value": "Valeur",
        "severity_names": {"error": "erreur", "warning": "avertissement", "info": "information"},
        "status_names": {
            "success": "terminée",
            "reconciliation_failed": "terminée avec un écart de réconciliation",
            "blocked": "bloquée",
            "removals_rejected": "arrêtée avant le chargement, qui aurait supprimé trop de lignes",
        },
    },
    "en": {
        "title": "Migration quality report",
        "toc": "Contents",
        "verdict_ok": "Reconciliation passed",
        "verdict_gap": "Reconciliation gap",
        "verdict_unknown": "Reconciliation result unknown",
        "verdict_blocked": "Migration blocked",
        "verdict_ok_text": "For every source table, read = loaded + rejected + filtered.",
        "verdict_gap_text": (
            "At least one source table fails read = loaded + rejected + filtered: "
            "some rows were neither loaded nor rejected with a reason."
        ),
        "verdict_unknown_text": "The summary does not give the reconciliation result.",
        "verdict_blocked_text": (
            "Blocking problems stopped the migration before the load: "
            "see the Needs a decision section."
        ),
        "verdict_removals": "Load stopped: too many removals",
        "verdict_removals_text": (
            "The load would have removed more than half of the rows of the target database, or "
            "of one of its tables, which most likely contains another delivery. Nothing was "
            "loaded: see the Needs a decision section."
        ),
        "load_error": "Load stopped",
        "load_error_action": (
            "Check that the target database belongs to this delivery, or run again with "
            "--allow-removals to replace its content."
        ),
        "status": "Run status",
        "tables_count": "Source tables",
        "tables_reconciled": "Tables reconciled",
        "rows_read": "Rows read",
        "rows_loaded": "Rows loaded",
        "rows_rejected": "Rows rejected",
        "rows_filtered": "Rows filtered",
        "warnings_total": "Warnings",
        "section_summary": "Summary by source table",
        "section_decisions": "Needs a decision",
        "section_tables": "Table details",
        "section_targets": "Target tables",
        "load_added": "Added",
        "load_changed": "Changed",
        "load_removed": "Removed",
        "load_unchanged": "Unchanged",
        "load_kept_delivered": (
            "Delivered but kept as they were (also given by another application)"
        ),
        "load_kept_other": "Not delivered, kept for other applications",
        "allow_removals_used": (
            "Loaded with --allow-removals (allow_removals in Dagster): the check against "
            "removing more than half of the target's rows was lifted."
        ),
        "section_identity": "Person matching",
        "section_delivery": "Delivery",
        "section_rules": "Validation rules",
        "rules_relaxed": (
            "{file} disables blocking rules or turns them into warnings ({rules}): the rows they "
            "would have rejected are loaded. SHA256SUMS does not cover that file; check that the "
            "MDPH chose these changes."
        ),
        "rule_policy_intro": "Rules changed by {file} for this delivery:",
        "rule_disabled": "disabled",
        "rule_default": "default: {severity}",
        "section_filters": "Filters",
        "section_run": "Run",
        "application": "Application",
        "table": "Table",
        "file": "File",
        "read": "Read",
        "loaded": "Loaded",
        "rejected": "Rejected",
        "filtered": "Filtered",
        "warnings": "Warnings",
        "reconciled": "Reconciled",
        "gap": "Gap",
        "gap_text": {
            "one": "row neither loaded, rejected nor filtered",
            "other": "rows neither loaded, rejected nor filtered",
        },
        "total": "Total",
        "rule": "Rule",
        "severity": "Severity",
        "description": "Description",
        "count": "Count",
        "examples": "Examples (personal values masked)",
        "line": "line",
        "column": "column",
        "more_examples": {"one": "more example not shown", "other": "more examples not shown"},
        "reject_reasons": "Reject reasons",
        "findings": "Findings by rule",
        "profile": "Column profile",
        "profile_rows": "Rows profiled",
        "col_name": "Column",
        "col_personal": "Personal",
        "col_nulls": "Nulls",
        "col_distinct": "Distinct",
        "col_length": "Length min–max",
        "col_min_length": "Min length",
        "col_max_length": "Max length",
        "col_min": "Min",
        "col_max": "Max",
        "col_top": "Top values",
        "top_repeated_only": "repeated values only, too many distinct values",
        "col_type": "Type",
        "col_declared_length": "Declared length",
        "col_code_coverage": "Code list",
        "codes_used": {"one": "code used", "other": "codes used"},
        "codes_unknown": "unknown codes",
        "no_tables": "The summary contains no source table.",
        "no_findings": "No findings.",
        "no_profile": "No profile for this table.",
        "no_decisions": "Nothing to decide: no rejects, no gap, delivery as expected.",
        "no_targets": "No target table in the summary.",
        "no_identity": "No person matching in the summary.",
        "no_files": "No delivery file in the summary.",
        "no_rules": "No rule in the summary.",
        "no_filters": "No filter applied.",
        "decision_rejects": {
            "one": "row rejected, to fix at the source or accept as lost",
            "other": "rows rejected, to fix at the source or accept as lost",
        },
        "decision_gap": "reconciliation gap to explain",
        "decision_file": "delivery file to check before filing a claim",
        "unexplained_rejects": "rejects without a detailed reason",
        "manifest": "Checksum check",
        "log_records": "Records (log)",
        "records": "Records (read)",
        "log_match": "Match",
        "sha256_encrypted": "SHA-256 encrypted",
        "sha256_plaintext": "SHA-256 decrypted",
        "delivery_path": "Delivery folder",
        "departement": "Département",
        "date_extraction": "Extraction date",
        "date_unknown": "unknown",
        "target_rows": "Rows",
        "identity_cross_application": "Persons found in both applications",
        "identity_by_nir": "of which matched by NIR",
        "identity_by_identity": "of which matched by names, birth date and birthplace",
        "identity_ambiguous": "Ambiguous matches, not made",
        "decision_ambiguous": {
            "one": "ambiguous person match to settle by hand",
            "other": "ambiguous person matches to settle by hand",
        },
        "blocking": "Blocking problems",
        "target_schema": "Target schema",
        "run_id": "Run id",
        "started_at": "Started",
        "finished_at": "Finished",
        "duration": "Duration",
        "product_version": "Product version",
        "target": "Target database",
        "dictionaries": "Data dictionaries",
        "mappings": "Mappings",
        "sha256": "SHA-256",
        "colon": ":",
        "yes": "yes",
        "no": "no",
        "empty_value": "(empty)",
        "generated_by": "Report written by mdph-reprise",
        "nav_summary": "Summary",
        "nav_tables": "Tables",
        "nav_coverage": "Coverage",
        "nav_identity": "Persons",
        "nav_changes": "Changes",
        "nav_lineage": "Lineage",
        "nav_run": "Run",
        "nav_label": "Report pages",
        "page_of": "page {page} of {pages}",
        "previous_page": "← previous page",
        "next_page": "next page →",
        "table_page": "Table {name}",
        "back_summary": "← Back to the summary",
        "charts": "Charts",
        "chart_nulls": "Share of empty values by column",
        "chart_rules": "Findings by rule",
        "chart_top": "Most frequent values",
        "chart_lengths": "Value lengths (personal values not shown)",
        "chart_dates": "Dates by year",
        "chart_other": "other",
        "distributions": "Distribution by column",
        "date_placeholders": "placeholder dates",
        "date_invalid": "invalid dates",
        "more_charts": {
            "one": "more column without a chart, to keep the page light",
            "other": "more columns without a chart, to keep the page light",
        },
        "length_and_longer": "and longer",
        "table_columns_fate": "Where the columns go",
        "col_status": "Status",
        "col_targets": "Target columns fed",
        "col_read_by": "Read by",
        "reason": "Reason",
        "coverage_status": {
            "mapped": "mapped",
            "join_or_filter": "join or filter only, not loaded",
            "dropped": "dropped",
            "unmapped": "undecided",
        },
        "read_by_kind": {
            "join": "join with",
            "lookup": "lookup match with",
            "filter": "filter",
        },
        "coverage_title": "Mapping coverage",
        "coverage_intro": (
            "For each source column: mapped to the target schema, read only by a join, lookup "
            "or filter (its value is not loaded), dropped with a reason, or undecided. For "
            "each target column: the source columns and the transformation that feed it."
        ),
        "coverage_sources": "Source columns",
        "coverage_targets": "Target columns",
        "coverage_mapped": "Mapped",
        "coverage_join_or_filter": "Join or filter only",
        "coverage_dropped": "Dropped",
        "coverage_unmapped": "Undecided",
        "coverage_fed": "Fed",
        "coverage_total": "Columns",
        "transformation": "Transformation",
        "sources": "Sources",
        "not_fed": "not fed (always empty)",
        "no_coverage": (
            "Coverage unavailable: the mapping files or dictionaries of this run cannot be read."
        ),
        "decision_unmapped": {
            "one": "source column neither mapped nor dropped, to decide",
            "other": "source columns neither mapped nor dropped, to decide",
        },
        "identity_title": "Person matching",
        "identity_merged": "Persons found in several applications, merged",
        "identity_merged_intro": (
            "Each row is a target person fed by rows of several applications. Keys are "
            "technical identifiers, not personal data."
        ),
        "identity_review": "To review: ambiguous matches, not made",
        "identity_review_missing": (
            "This run does not give the list of ambiguous candidates, only their count above."
        ),
        "no_review": "No ambiguous match.",
        "no_merged": "No person merged across applications.",
        "no_database": "List unavailable: the target database was not read for this report.",
        "target_key": "Target key",
        "source_key": "Source key",
        "source_rows": "Source rows",
        "candidates": "Candidates",
        "score": "Score",
        "identity_primary": "ITAC (source key, then target id)",
        "identity_secondary": "OPALES (source key, then target id)",
        "match_reasons": {
            "same_nir": "same NIR",
            "same_name": "same name",
            "similar_name": "similar name",
            "same_first_names": "same first names",
            "similar_first_names": "similar first names",
            "same_birth_date": "same birth date",
            "different_birth_date": "different birth date",
            "same_birthplace": "same birthplace",
            "different_birthplace": "different birthplace",
            "several_candidates": "several possible candidates",
        },
        "reject_reason_phrases": {
            "unknown_code": "code without a translation: {description}",
            "conversion_failed": "conversion failed: {description}",
            "required_empty": "required target column {column} is empty",
            "parent_missing": "parent row missing or rejected in {table}",
            "text_too_long": "the text is longer than the {length} characters of the column",
            "personal_not_a_code": "the value is not a code of code list {code_list}",
            "not_a_code": "{code} is not a code of code list {code_list}",
            "text_with_nul": "the text contains a NUL character, which PostgreSQL cannot store",
            "integer_out_of_range": "the integer is outside the 32-bit range of an INTEGER column",
            "decimal_not_finite": "the decimal is not finite",
            "decimal_scale": "the decimal has more than {scale} digits after the point",
            "decimal_precision": (
                "the decimal has more than {precision} digits (NUMERIC({precision}, {scale}))"
            ),
            "timestamp_not_iso": "the text is not an ISO 8601 date and time",
            "timestamp_without_zone": (
                "the datetime has no time zone; use datetime.now(timezone.utc)"
            ),
            "float_for_decimal": (
                "expected decimal.Decimal, got float (a float is not exact; use decimal.Decimal)"
            ),
            "datetime_for_date": (
                "expected datetime.date, got a datetime with a time of day or a time zone"
            ),
            "wrong_type": "expected {expected}, got {actual}",
        },
        "finding_detail_phrases": {
            "field_count": "{fields} fields, {expected} expected",
            "quote_in_unquoted_field": "quote inside an unquoted field",
            "text_after_closing_quote": (
                "text after the closing quote of a field instead of '{delimiter}'"
            ),
            "quoted_field_not_closed": "a quoted field is not closed before the end of the file",
            "field_too_long": "a field is longer than the limit of {limit} characters",
            "csv_error": "the record cannot be parsed: {error}",
            "nul_byte": "NUL byte in the record",
            "truncated": (
                "the last record has no line end, unlike the lines before it: the file may be "
                "truncated; claim a new delivery from the sender"
            ),
            "key_repeated": "same key as line {line}",
        },
        "identity_by_decision": "of which matched by a recorded decision",
        "identity_separated_by_decision": "Matches set aside by a recorded decision",
        "identity_for_review": "Possible matches, to review",
        "identity_only_itac": "Persons in ITAC only",
        "identity_only_opales": "Persons in OPALES only",
        "more_rows": {"one": "more row not shown", "other": "more rows not shown"},
        "changes_title": "Changes since the previous delivery",
        "no_previous": "No previous run to compare with.",
        "no_changes": "No difference with the previous run.",
        "previous_run": "Previous run",
        "before": "Before",
        "after": "After",
        "delta": "Difference",
        "change": "Change",
        "new_rules": "Rules newly failing",
        "gone_rules": "Rules no longer failing",
        "changes_tables": "Source tables",
        "changes_targets": "Target tables",
        "changes_targets_intro": (
            "Before and after: rows of the table after each run. Added, changed and removed: "
            "rows that this run's load changed."
        ),
        "same_counts_note": (
            '"Same counts": the counts and failing rules are equal, but one of the two runs '
            "lacks the file's checksum, so its content may have changed."
        ),
        "changes_files": "Delivered files",
        "changes_versions": "Dictionaries, mappings and target schema",
        "changed_tables": {"one": "source table changed", "other": "source tables changed"},
        "kind": "Kind",
        "change_names": {
            "new": "new",
            "removed": "removed",
            "changed": "changed",
            "same": "unchanged",
            "same_counts": "same counts",
        },
        "version_kinds": {
            "dictionaries": "dictionary",
            "mappings": "mapping",
            "target_schema": "target schema",
        },
        "lineage_title": "Lineage: where a row came from, where another went",
        "lineage_intro": (
            "Enter a target key (for example a case id of the target schema), a source key "
            "(NUM_DOSSIER…) or a line number of a source file. Personal values are never in "
            "this index."
        ),
        "lookup_query": "Key or line number",
        "lookup_scope": "Search in",
        "lookup_scope_all": "target and source keys",
        "lookup_scope_target": "target keys",
        "lookup_scope_source": "source keys and lines",
        "lookup_table": "Source table (for a line number)",
        "lookup_any_table": "all",
        "lookup_button": "Search",
        "lookup_no_result": "No result in this page's index.",
        "lookup_results": {"one": "result", "other": "results"},
        "lookup_noscript": (
            "The search uses a small script inside the page; without it, use the command below."
        ),
        "lookup_truncated": (
            "This page's index is limited to {shown} of {total} lineage rows and "
            "{rejects_shown} of {rejects_total} rejects, to stay light. The command below "
            "covers every row."
        ),
        "lookup_loaded_into": "loaded into",
        "lookup_rejected_by": "rejected by rule",
        "lookup_from": "comes from",
        "cli_hint": "For any row, on an MDPH workstation:",
        "lineage_unavailable": "No lineage on this page: the target database was not read.",
        "lineage_stale": (
            "The target database holds the lineage of run {run}: this run loaded nothing."
        ),
        "lineage_index_size": "This page's index",
        "lineage_rows": {"one": "lineage row", "other": "lineage rows"},
        "reject_rows": {"one": "reject", "other": "rejects"},
        "column_lineage": "Column lineage",
        "db_check": "Check against the target database",
        "db_check_intro": "Database columns: counted again in the target database after the load.",
        "db_loaded": "Loaded (database)",
        "db_rejected": "Rejected (database)",
        "db_rows": "Rows (database)",
        "db_agrees": "Match",
        "db_not_read": "The target database was not read for this report.",
        "run_record": "Run record",
        "target_schema_sha256": "Target schema SHA-256",
        "openlineage_file": "OpenLineage events",
        "downloads": "Downloads",
        "download_json": "JSON summary (machines)",
        "download_xlsx": "XLSX workbook (spreadsheet)",
        "personal_shown": (
            "Warning: this report shows personal values in clear. Use it inside the MDPH only."
        ),
        "reject_samples": "Rejected rows (sample, personal values masked)",
        "reject_samples_shown": "Rejected rows (sample, values in clear)",
        "raw_row": "Whole source row",
        "target_column": "target column",
        "value_not_kept": "(value not kept)",
        "key": "key",
        "merge_conflicts_title": "Rows merged by key with different values",
        "merge_conflict_text": {
            "one": "key of table {table} merges {rows} rows with different values",
            "other": "keys of table {table} merge {rows} rows with different values",
        },
        "merge_conflicts_intro": (
            "Rows with the same target key become one row, which keeps for each column the "
            "first non-null value in source order: the other values are lost. A few keys can be "
            "real changes of a person between two dossiers or two applications. Many keys, or a "
            "key that merges many rows, usually come from a wrongly built key in the mapping: "
            "check it before accepting the migration."
        ),
        "merge_conflict_keys": "Keys in conflict",
        "merge_conflict_merged_keys": "Keys given by several rows",
        "merge_conflict_rows": "Rows merged",
        "merge_conflict_columns": "Columns (keys in conflict)",
        "merge_conflict_examples": "Example keys (source lines)",
        "sheet_merge_conflicts": "Rows merged by key",
        "sheet_summary": "Summary",
        "sheet_findings": "Findings",
        "sheet_profiles": "Profiles",
        "sheet_targets": "Target tables",
        "sheet_coverage": "Coverage",
        "sheet_identity": "Persons",
        "sheet_review": "Matches to review",
        "sheet_changes": "Changes",
        "sheet_delivery": "Delivery",
        "sheet_run": "Run",
        "field": "Field",
        "value": "Value",
        "severity_names": {"error": "error", "warning": "warning", "info": "info"},
        "status_names": {
            "success": "finished",
            "reconciliation_failed": "finished with a reconciliation gap",
            "blocked": "blocked",
            "removals_rejected": "stopped before the load, which would have removed too many rows",
        },
    },
}
