-- A target database written by mdph-reprise 0.1.0, before the product tables were versioned:
-- the rows of tests/target/sample_rows.py loaded as run-0001, dumped with sqlite3 .dump.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE individu (
	id_individu TEXT NOT NULL, 
	nir TEXT, 
	nom_naissance TEXT NOT NULL, 
	nom_usage TEXT, 
	prenoms TEXT, 
	date_naissance TEXT, 
	sexe TEXT NOT NULL, 
	commune_naissance TEXT, 
	nationalite TEXT, 
	CONSTRAINT pk_individu PRIMARY KEY (id_individu), 
	CONSTRAINT ck_individu_id_individu_length CHECK (length(id_individu) <= 32), 
	CONSTRAINT ck_individu_nir_length CHECK (length(nir) <= 15), 
	CONSTRAINT ck_individu_nom_naissance_length CHECK (length(nom_naissance) <= 60), 
	CONSTRAINT ck_individu_nom_usage_length CHECK (length(nom_usage) <= 60), 
	CONSTRAINT ck_individu_prenoms_length CHECK (length(prenoms) <= 60), 
	CONSTRAINT ck_individu_date_naissance_date CHECK (date(date_naissance, '+0 days') = date_naissance), 
	CONSTRAINT ck_individu_sexe_length CHECK (length(sexe) <= 1), 
	CONSTRAINT ck_individu_commune_naissance_length CHECK (length(commune_naissance) <= 5), 
	CONSTRAINT ck_individu_nationalite_length CHECK (length(nationalite) <= 1)
)
 STRICT

;
INSERT INTO individu VALUES('I0001','164022935001234','Lefèvre-Cœur',NULL,'Zoé Amélie','1964-02-29','2','2A004','1');
INSERT INTO individu VALUES('I0002',NULL,'N''Diaye','Martin','Moussa','1988-12-31','1','99350','3');
INSERT INTO individu VALUES('I0003',NULL,'Muller',NULL,NULL,NULL,'0',NULL,NULL);
CREATE TABLE etablissement (
	finess TEXT NOT NULL, 
	raison_sociale TEXT NOT NULL, 
	categorie TEXT, 
	libelle_categorie TEXT, 
	commune_insee TEXT, 
	departement TEXT, 
	CONSTRAINT pk_etablissement PRIMARY KEY (finess), 
	CONSTRAINT ck_etablissement_finess_length CHECK (length(finess) <= 9), 
	CONSTRAINT ck_etablissement_raison_sociale_length CHECK (length(raison_sociale) <= 120), 
	CONSTRAINT ck_etablissement_categorie_length CHECK (length(categorie) <= 3), 
	CONSTRAINT ck_etablissement_libelle_categorie_length CHECK (length(libelle_categorie) <= 120), 
	CONSTRAINT ck_etablissement_commune_insee_length CHECK (length(commune_insee) <= 5), 
	CONSTRAINT ck_etablissement_departement_length CHECK (length(departement) <= 3)
)
 STRICT

;
INSERT INTO etablissement VALUES('570000018','IME Les Écureuils','183','Institut médico-éducatif','57463','057');
INSERT INTO etablissement VALUES('570000026','ESAT "L''Atelier"','246',NULL,NULL,NULL);
CREATE TABLE etablissement_scolaire (
	uai TEXT NOT NULL, 
	nom TEXT NOT NULL, 
	type_etablissement TEXT, 
	secteur TEXT, 
	commune_insee TEXT, 
	departement TEXT, 
	CONSTRAINT pk_etablissement_scolaire PRIMARY KEY (uai), 
	CONSTRAINT ck_etablissement_scolaire_uai_length CHECK (length(uai) <= 8), 
	CONSTRAINT ck_etablissement_scolaire_nom_length CHECK (length(nom) <= 120), 
	CONSTRAINT ck_etablissement_scolaire_type_etablissement_length CHECK (length(type_etablissement) <= 40), 
	CONSTRAINT ck_etablissement_scolaire_secteur_length CHECK (length(secteur) <= 10), 
	CONSTRAINT ck_etablissement_scolaire_commune_insee_length CHECK (length(commune_insee) <= 5), 
	CONSTRAINT ck_etablissement_scolaire_departement_length CHECK (length(departement) <= 3)
)
 STRICT

;
INSERT INTO etablissement_scolaire VALUES('0570001A','École élémentaire Jean-Moulin','Ecole','Public','57463','057');
CREATE TABLE reprise_run (
	run_id TEXT NOT NULL, 
	started_at TEXT NOT NULL, 
	finished_at TEXT, 
	status TEXT NOT NULL, 
	product_version TEXT, 
	delivery_path TEXT, 
	departement TEXT, 
	target_url TEXT, 
	summary_json TEXT, 
	CONSTRAINT pk_reprise_run PRIMARY KEY (run_id), 
	CONSTRAINT ck_reprise_run_run_id_length CHECK (length(run_id) <= 64), 
	CONSTRAINT ck_reprise_run_status_length CHECK (length(status) <= 20), 
	CONSTRAINT ck_reprise_run_product_version_length CHECK (length(product_version) <= 40), 
	CONSTRAINT ck_reprise_run_delivery_path_length CHECK (length(delivery_path) <= 1000), 
	CONSTRAINT ck_reprise_run_departement_length CHECK (length(departement) <= 3), 
	CONSTRAINT ck_reprise_run_target_url_length CHECK (length(target_url) <= 1000)
)
 STRICT

;
INSERT INTO reprise_run VALUES('run-0001','2008-10-20T09:30:15+00:00',NULL,'loading','0.1.0','sample_data/delivery','057','sqlite:///output/mdph.sqlite','{"tables": 12}');
CREATE TABLE adresse (
	id_adresse TEXT NOT NULL, 
	id_individu TEXT NOT NULL, 
	numero TEXT, 
	voie TEXT, 
	code_postal TEXT, 
	commune_insee TEXT, 
	departement TEXT, 
	telephone TEXT, 
	CONSTRAINT pk_adresse PRIMARY KEY (id_adresse), 
	CONSTRAINT ck_adresse_id_adresse_length CHECK (length(id_adresse) <= 32), 
	CONSTRAINT ck_adresse_id_individu_length CHECK (length(id_individu) <= 32), 
	CONSTRAINT ck_adresse_numero_length CHECK (length(numero) <= 10), 
	CONSTRAINT ck_adresse_voie_length CHECK (length(voie) <= 120), 
	CONSTRAINT ck_adresse_code_postal_length CHECK (length(code_postal) <= 5), 
	CONSTRAINT ck_adresse_commune_insee_length CHECK (length(commune_insee) <= 5), 
	CONSTRAINT ck_adresse_departement_length CHECK (length(departement) <= 3), 
	CONSTRAINT ck_adresse_telephone_length CHECK (length(telephone) <= 20), 
	CONSTRAINT fk_adresse_id_individu FOREIGN KEY(id_individu) REFERENCES individu (id_individu)
)
 STRICT

;
INSERT INTO adresse VALUES('A0001','I0001','012','12 rue "des Lilas"; bât. B','57000','57463','057','0387654321');
INSERT INTO adresse VALUES('A0002','I0002',NULL,replace(replace('lieu-dit Le Haut, chemin\r\ndes Vignes','\r',char(13)),'\n',char(10)),'57100','57672','057',NULL);
CREATE TABLE representant_legal (
	id_representant TEXT NOT NULL, 
	id_individu TEXT NOT NULL, 
	qualite TEXT NOT NULL, 
	nom TEXT NOT NULL, 
	prenoms TEXT, 
	voie TEXT, 
	code_postal TEXT, 
	commune_insee TEXT, 
	telephone TEXT, 
	CONSTRAINT pk_representant_legal PRIMARY KEY (id_representant), 
	CONSTRAINT ck_representant_legal_id_representant_length CHECK (length(id_representant) <= 32), 
	CONSTRAINT ck_representant_legal_id_individu_length CHECK (length(id_individu) <= 32), 
	CONSTRAINT ck_representant_legal_qualite_length CHECK (length(qualite) <= 20), 
	CONSTRAINT ck_representant_legal_nom_length CHECK (length(nom) <= 60), 
	CONSTRAINT ck_representant_legal_prenoms_length CHECK (length(prenoms) <= 60), 
	CONSTRAINT ck_representant_legal_voie_length CHECK (length(voie) <= 120), 
	CONSTRAINT ck_representant_legal_code_postal_length CHECK (length(code_postal) <= 5), 
	CONSTRAINT ck_representant_legal_commune_insee_length CHECK (length(commune_insee) <= 5), 
	CONSTRAINT ck_representant_legal_telephone_length CHECK (length(telephone) <= 20), 
	CONSTRAINT fk_representant_legal_id_individu FOREIGN KEY(id_individu) REFERENCES individu (id_individu)
)
 STRICT

;
INSERT INTO representant_legal VALUES('R0001','I0002','mère','Diallo','Awa',NULL,NULL,NULL,'0600000000');
CREATE TABLE dossier (
	id_dossier TEXT NOT NULL, 
	id_individu TEXT NOT NULL, 
	application TEXT NOT NULL, 
	numero_origine TEXT NOT NULL, 
	date_ouverture TEXT, 
	statut TEXT NOT NULL, 
	CONSTRAINT pk_dossier PRIMARY KEY (id_dossier), 
	CONSTRAINT ck_dossier_id_dossier_length CHECK (length(id_dossier) <= 32), 
	CONSTRAINT ck_dossier_id_individu_length CHECK (length(id_individu) <= 32), 
	CONSTRAINT ck_dossier_application_length CHECK (length(application) <= 6), 
	CONSTRAINT ck_dossier_numero_origine_length CHECK (length(numero_origine) <= 20), 
	CONSTRAINT ck_dossier_date_ouverture_date CHECK (date(date_ouverture, '+0 days') = date_ouverture), 
	CONSTRAINT ck_dossier_statut_length CHECK (length(statut) <= 10), 
	CONSTRAINT fk_dossier_id_individu FOREIGN KEY(id_individu) REFERENCES individu (id_individu)
)
 STRICT

;
INSERT INTO dossier VALUES('D0001','I0001','ITAC','5700001234','1990-01-15','ouvert');
INSERT INTO dossier VALUES('D0002','I0002','OPALES','E570000001',NULL,'ouvert');
CREATE TABLE scolarisation (
	id_scolarisation TEXT NOT NULL, 
	id_individu TEXT NOT NULL, 
	uai TEXT, 
	niveau TEXT, 
	dispositif TEXT, 
	date_debut TEXT NOT NULL, 
	date_fin TEXT, 
	CONSTRAINT pk_scolarisation PRIMARY KEY (id_scolarisation), 
	CONSTRAINT ck_scolarisation_id_scolarisation_length CHECK (length(id_scolarisation) <= 32), 
	CONSTRAINT ck_scolarisation_id_individu_length CHECK (length(id_individu) <= 32), 
	CONSTRAINT ck_scolarisation_uai_length CHECK (length(uai) <= 8), 
	CONSTRAINT ck_scolarisation_niveau_length CHECK (length(niveau) <= 20), 
	CONSTRAINT ck_scolarisation_dispositif_length CHECK (length(dispositif) <= 20), 
	CONSTRAINT ck_scolarisation_date_debut_date CHECK (date(date_debut, '+0 days') = date_debut), 
	CONSTRAINT ck_scolarisation_date_fin_date CHECK (date(date_fin, '+0 days') = date_fin), 
	CONSTRAINT fk_scolarisation_id_individu FOREIGN KEY(id_individu) REFERENCES individu (id_individu), 
	CONSTRAINT fk_scolarisation_uai FOREIGN KEY(uai) REFERENCES etablissement_scolaire (uai)
)
 STRICT

;
INSERT INTO scolarisation VALUES('SC0001','I0002','0570001A','élémentaire','CLIS','1995-09-04',NULL);
CREATE TABLE reprise_rejet (
	id INTEGER NOT NULL, 
	run_id TEXT NOT NULL, 
	application TEXT NOT NULL, 
	source_table TEXT NOT NULL, 
	source_file TEXT, 
	source_line INTEGER, 
	target_table TEXT, 
	rule_id TEXT NOT NULL, 
	severity TEXT NOT NULL, 
	column_name TEXT, 
	reason TEXT NOT NULL, 
	raw_values TEXT, 
	CONSTRAINT pk_reprise_rejet PRIMARY KEY (id), 
	CONSTRAINT ck_reprise_rejet_run_id_length CHECK (length(run_id) <= 64), 
	CONSTRAINT ck_reprise_rejet_application_length CHECK (length(application) <= 20), 
	CONSTRAINT ck_reprise_rejet_source_table_length CHECK (length(source_table) <= 64), 
	CONSTRAINT ck_reprise_rejet_source_file_length CHECK (length(source_file) <= 255), 
	CONSTRAINT ck_reprise_rejet_target_table_length CHECK (length(target_table) <= 64), 
	CONSTRAINT ck_reprise_rejet_rule_id_length CHECK (length(rule_id) <= 64), 
	CONSTRAINT ck_reprise_rejet_severity_length CHECK (length(severity) <= 10), 
	CONSTRAINT ck_reprise_rejet_column_name_length CHECK (length(column_name) <= 64), 
	CONSTRAINT fk_reprise_rejet_run_id FOREIGN KEY(run_id) REFERENCES reprise_run (run_id)
)
 STRICT

;
INSERT INTO reprise_rejet VALUES(1,'run-0001','ITAC','DEMANDE','ITAC/DEMANDE.csv',17,'demande','fk.dangling','error','NUM_DOSSIER','NUM_DOSSIER not found in DOSSIER','{"NUM_DEMANDE": "570000999901"}');
INSERT INTO reprise_rejet VALUES(2,'run-0001','OPALES','AES','OPALES/AES.csv',4,NULL,'code.unknown','error',NULL,'COMPLEMENT ''7'' is not in COMPLEMENT',NULL);
CREATE TABLE reprise_lignage (
	target_table TEXT NOT NULL, 
	target_key TEXT NOT NULL, 
	application TEXT NOT NULL, 
	source_table TEXT NOT NULL, 
	source_file TEXT NOT NULL, 
	source_line INTEGER NOT NULL, 
	source_key TEXT, 
	run_id TEXT NOT NULL, 
	CONSTRAINT pk_reprise_lignage PRIMARY KEY (target_table, target_key, application, source_table, source_line), 
	CONSTRAINT ck_reprise_lignage_target_table_length CHECK (length(target_table) <= 64), 
	CONSTRAINT ck_reprise_lignage_target_key_length CHECK (length(target_key) <= 255), 
	CONSTRAINT ck_reprise_lignage_application_length CHECK (length(application) <= 20), 
	CONSTRAINT ck_reprise_lignage_source_table_length CHECK (length(source_table) <= 64), 
	CONSTRAINT ck_reprise_lignage_source_file_length CHECK (length(source_file) <= 255), 
	CONSTRAINT ck_reprise_lignage_source_key_length CHECK (length(source_key) <= 255), 
	CONSTRAINT ck_reprise_lignage_run_id_length CHECK (length(run_id) <= 64), 
	CONSTRAINT fk_reprise_lignage_run_id FOREIGN KEY(run_id) REFERENCES reprise_run (run_id)
)
 STRICT

;
INSERT INTO reprise_lignage VALUES('individu','I0001','ITAC','DOSSIER','ITAC/DOSSIER.csv',2,'5700001234','run-0001');
INSERT INTO reprise_lignage VALUES('individu','I0002','OPALES','ENFANT','OPALES/ENFANT.csv',2,'E570000001','run-0001');
INSERT INTO reprise_lignage VALUES('individu','I0002','ITAC','DOSSIER','ITAC/DOSSIER.csv',3,'5700001235','run-0001');
INSERT INTO reprise_lignage VALUES('individu','I0003','ITAC','ARCHIVE','ITAC/ARCHIVE.csv',2,'5700000001','run-0001');
CREATE TABLE demande (
	id_demande TEXT NOT NULL, 
	id_dossier TEXT NOT NULL, 
	numero_origine TEXT NOT NULL, 
	date_depot TEXT NOT NULL, 
	natdem TEXT, 
	typdem2 TEXT NOT NULL, 
	code_origine TEXT NOT NULL, 
	CONSTRAINT pk_demande PRIMARY KEY (id_demande), 
	CONSTRAINT ck_demande_id_demande_length CHECK (length(id_demande) <= 32), 
	CONSTRAINT ck_demande_id_dossier_length CHECK (length(id_dossier) <= 32), 
	CONSTRAINT ck_demande_numero_origine_length CHECK (length(numero_origine) <= 20), 
	CONSTRAINT ck_demande_date_depot_date CHECK (date(date_depot, '+0 days') = date_depot), 
	CONSTRAINT ck_demande_natdem_length CHECK (length(natdem) <= 1), 
	CONSTRAINT ck_demande_typdem2_length CHECK (length(typdem2) <= 2), 
	CONSTRAINT ck_demande_code_origine_length CHECK (length(code_origine) <= 4), 
	CONSTRAINT fk_demande_id_dossier FOREIGN KEY(id_dossier) REFERENCES dossier (id_dossier)
)
 STRICT

;
INSERT INTO demande VALUES('DM0001','D0001','570000123401','2007-06-01','2','1','11');
INSERT INTO demande VALUES('DM0002','D0002','E57000000101','2008-02-29',NULL,'2','AES');
INSERT INTO demande VALUES('DM0003','D0002','E57000000102','2008-03-03','1','9','ORI');
CREATE TABLE suivi_orientation (
	id_suivi TEXT NOT NULL, 
	id_dossier TEXT NOT NULL, 
	finess TEXT, 
	date_proposition TEXT NOT NULL, 
	etat TEXT, 
	CONSTRAINT pk_suivi_orientation PRIMARY KEY (id_suivi), 
	CONSTRAINT ck_suivi_orientation_id_suivi_length CHECK (length(id_suivi) <= 32), 
	CONSTRAINT ck_suivi_orientation_id_dossier_length CHECK (length(id_dossier) <= 32), 
	CONSTRAINT ck_suivi_orientation_finess_length CHECK (length(finess) <= 9), 
	CONSTRAINT ck_suivi_orientation_date_proposition_date CHECK (date(date_proposition, '+0 days') = date_proposition), 
	CONSTRAINT ck_suivi_orientation_etat_length CHECK (length(etat) <= 30), 
	CONSTRAINT fk_suivi_orientation_id_dossier FOREIGN KEY(id_dossier) REFERENCES dossier (id_dossier), 
	CONSTRAINT fk_suivi_orientation_finess FOREIGN KEY(finess) REFERENCES etablissement (finess)
)
 STRICT

;
INSERT INTO suivi_orientation VALUES('S0001','D0001','570000026','2008-01-07','en attente');
CREATE TABLE decision (
	id_decision TEXT NOT NULL, 
	id_demande TEXT NOT NULL, 
	date_decision TEXT NOT NULL, 
	typdec TEXT NOT NULL, 
	date_debut_validite TEXT, 
	date_fin_validite TEXT, 
	taux_incapacite TEXT, 
	motivation TEXT, 
	CONSTRAINT pk_decision PRIMARY KEY (id_decision), 
	CONSTRAINT ck_decision_id_decision_length CHECK (length(id_decision) <= 32), 
	CONSTRAINT ck_decision_id_demande_length CHECK (length(id_demande) <= 32), 
	CONSTRAINT ck_decision_date_decision_date CHECK (date(date_decision, '+0 days') = date_decision), 
	CONSTRAINT ck_decision_typdec_length CHECK (length(typdec) <= 1), 
	CONSTRAINT ck_decision_date_debut_validite_date CHECK (date(date_debut_validite, '+0 days') = date_debut_validite), 
	CONSTRAINT ck_decision_date_fin_validite_date CHECK (date(date_fin_validite, '+0 days') = date_fin_validite), 
	CONSTRAINT ck_decision_taux_incapacite_length CHECK (length(taux_incapacite) <= 10), 
	CONSTRAINT ck_decision_motivation_length CHECK (length(motivation) <= 2000), 
	CONSTRAINT fk_decision_id_demande FOREIGN KEY(id_demande) REFERENCES demande (id_demande)
)
 STRICT

;
INSERT INTO decision VALUES('DC0001','DM0001','2007-09-12','1','2007-10-01','2012-09-30','>=80',replace(replace('Retard psychomoteur,\r\nsuivi CAMSP','\r',char(13)),'\n',char(10)));
INSERT INTO decision VALUES('DC0002','DM0002','2008-05-05','1',NULL,NULL,NULL,'avis "favorable" ; complément 2');
INSERT INTO decision VALUES('DC0003','DM0003','2008-05-05','3',NULL,NULL,'50-79',NULL);
CREATE TABLE droit (
	id_droit TEXT NOT NULL, 
	id_decision TEXT NOT NULL, 
	typdem2 TEXT NOT NULL, 
	complement TEXT, 
	montant_mensuel TEXT, 
	date_debut TEXT, 
	date_fin TEXT, 
	CONSTRAINT pk_droit PRIMARY KEY (id_droit), 
	CONSTRAINT ck_droit_id_droit_length CHECK (length(id_droit) <= 32), 
	CONSTRAINT ck_droit_id_decision_length CHECK (length(id_decision) <= 32), 
	CONSTRAINT ck_droit_typdem2_length CHECK (length(typdem2) <= 2), 
	CONSTRAINT ck_droit_complement_length CHECK (length(complement) <= 1), 
	CONSTRAINT ck_droit_date_debut_date CHECK (date(date_debut, '+0 days') = date_debut), 
	CONSTRAINT ck_droit_date_fin_date CHECK (date(date_fin, '+0 days') = date_fin), 
	CONSTRAINT fk_droit_id_decision FOREIGN KEY(id_decision) REFERENCES decision (id_decision)
)
 STRICT

;
INSERT INTO droit VALUES('DR0001','DC0001','1',NULL,'628.10','2007-10-01','2012-09-30');
INSERT INTO droit VALUES('DR0002','DC0002','2','2','99999999.99',NULL,NULL);
INSERT INTO droit VALUES('DR0003','DC0002','2','0','-0.50',NULL,NULL);
INSERT INTO droit VALUES('DR0004','DC0002','2',NULL,NULL,NULL,NULL);
CREATE TABLE orientation (
	id_orientation TEXT NOT NULL, 
	id_decision TEXT NOT NULL, 
	typdem2 TEXT NOT NULL, 
	type_orientation TEXT NOT NULL, 
	finess TEXT, 
	regime TEXT, 
	date_debut TEXT, 
	date_fin TEXT, 
	CONSTRAINT pk_orientation PRIMARY KEY (id_orientation), 
	CONSTRAINT ck_orientation_id_orientation_length CHECK (length(id_orientation) <= 32), 
	CONSTRAINT ck_orientation_id_decision_length CHECK (length(id_decision) <= 32), 
	CONSTRAINT ck_orientation_typdem2_length CHECK (length(typdem2) <= 2), 
	CONSTRAINT ck_orientation_type_orientation_length CHECK (length(type_orientation) <= 20), 
	CONSTRAINT ck_orientation_finess_length CHECK (length(finess) <= 9), 
	CONSTRAINT ck_orientation_regime_length CHECK (length(regime) <= 20), 
	CONSTRAINT ck_orientation_date_debut_date CHECK (date(date_debut, '+0 days') = date_debut), 
	CONSTRAINT ck_orientation_date_fin_date CHECK (date(date_fin, '+0 days') = date_fin), 
	CONSTRAINT fk_orientation_id_decision FOREIGN KEY(id_decision) REFERENCES decision (id_decision), 
	CONSTRAINT fk_orientation_finess FOREIGN KEY(finess) REFERENCES etablissement (finess)
)
 STRICT

;
INSERT INTO orientation VALUES('O0001','DC0003','9','IME','570000018','semi-internat','2008-09-01','2011-08-31');
INSERT INTO orientation VALUES('O0002','DC0003','9','CLIS',NULL,NULL,NULL,NULL);
CREATE INDEX ix_adresse_id_individu ON adresse (id_individu);
CREATE INDEX ix_representant_legal_id_individu ON representant_legal (id_individu);
CREATE INDEX ix_dossier_id_individu ON dossier (id_individu);
CREATE INDEX ix_scolarisation_id_individu ON scolarisation (id_individu);
CREATE INDEX ix_scolarisation_uai ON scolarisation (uai);
CREATE INDEX ix_reprise_rejet_application_source_table ON reprise_rejet (application, source_table);
CREATE INDEX ix_reprise_rejet_run_id ON reprise_rejet (run_id);
CREATE INDEX ix_reprise_lignage_run_id ON reprise_lignage (run_id);
CREATE INDEX ix_reprise_lignage_application_source_table_source_line ON reprise_lignage (application, source_table, source_line);
CREATE INDEX ix_demande_id_dossier ON demande (id_dossier);
CREATE INDEX ix_suivi_orientation_finess ON suivi_orientation (finess);
CREATE INDEX ix_suivi_orientation_id_dossier ON suivi_orientation (id_dossier);
CREATE INDEX ix_decision_id_demande ON decision (id_demande);
CREATE INDEX ix_droit_id_decision ON droit (id_decision);
CREATE INDEX ix_orientation_finess ON orientation (finess);
CREATE INDEX ix_orientation_id_decision ON orientation (id_decision);
COMMIT;
