-- A target database written by mdph-reprise 0.1.0, before the product tables were versioned:
-- the rows of tests/target/sample_rows.py loaded as run-0001, dumped with pg_dump --inserts --no-owner --no-privileges --no-comments, SET lines removed.
CREATE TABLE public.adresse (
    id_adresse character varying(32) NOT NULL,
    id_individu character varying(32) NOT NULL,
    numero character varying(10),
    voie character varying(120),
    code_postal character varying(5),
    commune_insee character varying(5),
    departement character varying(3),
    telephone character varying(20)
);
CREATE TABLE public.decision (
    id_decision character varying(32) NOT NULL,
    id_demande character varying(32) NOT NULL,
    date_decision date NOT NULL,
    typdec character varying(1) NOT NULL,
    date_debut_validite date,
    date_fin_validite date,
    taux_incapacite character varying(10),
    motivation character varying(2000)
);
CREATE TABLE public.demande (
    id_demande character varying(32) NOT NULL,
    id_dossier character varying(32) NOT NULL,
    numero_origine character varying(20) NOT NULL,
    date_depot date NOT NULL,
    natdem character varying(1),
    typdem2 character varying(2) NOT NULL,
    code_origine character varying(4) NOT NULL
);
CREATE TABLE public.dossier (
    id_dossier character varying(32) NOT NULL,
    id_individu character varying(32) NOT NULL,
    application character varying(6) NOT NULL,
    numero_origine character varying(20) NOT NULL,
    date_ouverture date,
    statut character varying(10) NOT NULL
);
CREATE TABLE public.droit (
    id_droit character varying(32) NOT NULL,
    id_decision character varying(32) NOT NULL,
    typdem2 character varying(2) NOT NULL,
    complement character varying(1),
    montant_mensuel numeric(10,2),
    date_debut date,
    date_fin date
);
CREATE TABLE public.etablissement (
    finess character varying(9) NOT NULL,
    raison_sociale character varying(120) NOT NULL,
    categorie character varying(3),
    libelle_categorie character varying(120),
    commune_insee character varying(5),
    departement character varying(3)
);
CREATE TABLE public.etablissement_scolaire (
    uai character varying(8) NOT NULL,
    nom character varying(120) NOT NULL,
    type_etablissement character varying(40),
    secteur character varying(10),
    commune_insee character varying(5),
    departement character varying(3)
);
CREATE TABLE public.individu (
    id_individu character varying(32) NOT NULL,
    nir character varying(15),
    nom_naissance character varying(60) NOT NULL,
    nom_usage character varying(60),
    prenoms character varying(60),
    date_naissance date,
    sexe character varying(1) NOT NULL,
    commune_naissance character varying(5),
    nationalite character varying(1)
);
CREATE TABLE public.orientation (
    id_orientation character varying(32) NOT NULL,
    id_decision character varying(32) NOT NULL,
    typdem2 character varying(2) NOT NULL,
    type_orientation character varying(20) NOT NULL,
    finess character varying(9),
    regime character varying(20),
    date_debut date,
    date_fin date
);
CREATE TABLE public.representant_legal (
    id_representant character varying(32) NOT NULL,
    id_individu character varying(32) NOT NULL,
    qualite character varying(20) NOT NULL,
    nom character varying(60) NOT NULL,
    prenoms character varying(60),
    voie character varying(120),
    code_postal character varying(5),
    commune_insee character varying(5),
    telephone character varying(20)
);
CREATE TABLE public.reprise_lignage (
    target_table character varying(64) NOT NULL,
    target_key character varying(255) NOT NULL,
    application character varying(20) NOT NULL,
    source_table character varying(64) NOT NULL,
    source_file character varying(255) NOT NULL,
    source_line integer NOT NULL,
    source_key character varying(255),
    run_id character varying(64) NOT NULL
);
CREATE TABLE public.reprise_rejet (
    id bigint NOT NULL,
    run_id character varying(64) NOT NULL,
    application character varying(20) NOT NULL,
    source_table character varying(64) NOT NULL,
    source_file character varying(255),
    source_line integer,
    target_table character varying(64),
    rule_id character varying(64) NOT NULL,
    severity character varying(10) NOT NULL,
    column_name character varying(64),
    reason text NOT NULL,
    raw_values text
);
CREATE SEQUENCE public.reprise_rejet_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.reprise_rejet_id_seq OWNED BY public.reprise_rejet.id;
CREATE TABLE public.reprise_run (
    run_id character varying(64) NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    status character varying(20) NOT NULL,
    product_version character varying(40),
    delivery_path character varying(1000),
    departement character varying(3),
    target_url character varying(1000),
    summary_json text
);
CREATE TABLE public.scolarisation (
    id_scolarisation character varying(32) NOT NULL,
    id_individu character varying(32) NOT NULL,
    uai character varying(8),
    niveau character varying(20),
    dispositif character varying(20),
    date_debut date NOT NULL,
    date_fin date
);
CREATE TABLE public.suivi_orientation (
    id_suivi character varying(32) NOT NULL,
    id_dossier character varying(32) NOT NULL,
    finess character varying(9),
    date_proposition date NOT NULL,
    etat character varying(30)
);
ALTER TABLE ONLY public.reprise_rejet ALTER COLUMN id SET DEFAULT nextval('public.reprise_rejet_id_seq'::regclass);
INSERT INTO public.adresse VALUES ('A0001', 'I0001', '012', '12 rue "des Lilas"; bât. B', '57000', '57463', '057', '0387654321');
INSERT INTO public.adresse VALUES ('A0002', 'I0002', NULL, 'lieu-dit Le Haut, chemin
des Vignes', '57100', '57672', '057', NULL);
INSERT INTO public.decision VALUES ('DC0001', 'DM0001', '2007-09-12', '1', '2007-10-01', '2012-09-30', '>=80', 'Retard psychomoteur,
suivi CAMSP');
INSERT INTO public.decision VALUES ('DC0002', 'DM0002', '2008-05-05', '1', NULL, NULL, NULL, 'avis "favorable" ; complément 2');
INSERT INTO public.decision VALUES ('DC0003', 'DM0003', '2008-05-05', '3', NULL, NULL, '50-79', NULL);
INSERT INTO public.demande VALUES ('DM0001', 'D0001', '570000123401', '2007-06-01', '2', '1', '11');
INSERT INTO public.demande VALUES ('DM0002', 'D0002', 'E57000000101', '2008-02-29', NULL, '2', 'AES');
INSERT INTO public.demande VALUES ('DM0003', 'D0002', 'E57000000102', '2008-03-03', '1', '9', 'ORI');
INSERT INTO public.dossier VALUES ('D0001', 'I0001', 'ITAC', '5700001234', '1990-01-15', 'ouvert');
INSERT INTO public.dossier VALUES ('D0002', 'I0002', 'OPALES', 'E570000001', NULL, 'ouvert');
INSERT INTO public.droit VALUES ('DR0001', 'DC0001', '1', NULL, 628.10, '2007-10-01', '2012-09-30');
INSERT INTO public.droit VALUES ('DR0002', 'DC0002', '2', '2', 99999999.99, NULL, NULL);
INSERT INTO public.droit VALUES ('DR0003', 'DC0002', '2', '0', -0.50, NULL, NULL);
INSERT INTO public.droit VALUES ('DR0004', 'DC0002', '2', NULL, NULL, NULL, NULL);
INSERT INTO public.etablissement VALUES ('570000018', 'IME Les Écureuils', '183', 'Institut médico-éducatif', '57463', '057');
INSERT INTO public.etablissement VALUES ('570000026', 'ESAT "L''Atelier"', '246', NULL, NULL, NULL);
INSERT INTO public.etablissement_scolaire VALUES ('0570001A', 'École élémentaire Jean-Moulin', 'Ecole', 'Public', '57463', '057');
INSERT INTO public.individu VALUES ('I0001', '164022935001234', 'Lefèvre-Cœur', NULL, 'Zoé Amélie', '1964-02-29', '2', '2A004', '1');
INSERT INTO public.individu VALUES ('I0002', NULL, 'N''Diaye', 'Martin', 'Moussa', '1988-12-31', '1', '99350', '3');
INSERT INTO public.individu VALUES ('I0003', NULL, 'Muller', NULL, NULL, NULL, '0', NULL, NULL);
INSERT INTO public.orientation VALUES ('O0001', 'DC0003', '9', 'IME', '570000018', 'semi-internat', '2008-09-01', '2011-08-31');
INSERT INTO public.orientation VALUES ('O0002', 'DC0003', '9', 'CLIS', NULL, NULL, NULL, NULL);
INSERT INTO public.representant_legal VALUES ('R0001', 'I0002', 'mère', 'Diallo', 'Awa', NULL, NULL, NULL, '0600000000');
INSERT INTO public.reprise_lignage VALUES ('individu', 'I0001', 'ITAC', 'DOSSIER', 'ITAC/DOSSIER.csv', 2, '5700001234', 'run-0001');
INSERT INTO public.reprise_lignage VALUES ('individu', 'I0002', 'OPALES', 'ENFANT', 'OPALES/ENFANT.csv', 2, 'E570000001', 'run-0001');
INSERT INTO public.reprise_lignage VALUES ('individu', 'I0002', 'ITAC', 'DOSSIER', 'ITAC/DOSSIER.csv', 3, '5700001235', 'run-0001');
INSERT INTO public.reprise_lignage VALUES ('individu', 'I0003', 'ITAC', 'ARCHIVE', 'ITAC/ARCHIVE.csv', 2, '5700000001', 'run-0001');
INSERT INTO public.reprise_rejet VALUES (1, 'run-0001', 'ITAC', 'DEMANDE', 'ITAC/DEMANDE.csv', 17, 'demande', 'fk.dangling', 'error', 'NUM_DOSSIER', 'NUM_DOSSIER not found in DOSSIER', '{"NUM_DEMANDE": "570000999901"}');
INSERT INTO public.reprise_rejet VALUES (2, 'run-0001', 'OPALES', 'AES', 'OPALES/AES.csv', 4, NULL, 'code.unknown', 'error', NULL, 'COMPLEMENT ''7'' is not in COMPLEMENT', NULL);
INSERT INTO public.reprise_run VALUES ('run-0001', '2008-10-20 09:30:15+00', NULL, 'loading', '0.1.0', 'sample_data/delivery', '057', 'sqlite:///output/mdph.sqlite', '{"tables": 12}');
INSERT INTO public.scolarisation VALUES ('SC0001', 'I0002', '0570001A', 'élémentaire', 'CLIS', '1995-09-04', NULL);
INSERT INTO public.suivi_orientation VALUES ('S0001', 'D0001', '570000026', '2008-01-07', 'en attente');
SELECT pg_catalog.setval('public.reprise_rejet_id_seq', 2, true);
ALTER TABLE ONLY public.adresse
    ADD CONSTRAINT pk_adresse PRIMARY KEY (id_adresse);
ALTER TABLE ONLY public.decision
    ADD CONSTRAINT pk_decision PRIMARY KEY (id_decision);
ALTER TABLE ONLY public.demande
    ADD CONSTRAINT pk_demande PRIMARY KEY (id_demande);
ALTER TABLE ONLY public.dossier
    ADD CONSTRAINT pk_dossier PRIMARY KEY (id_dossier);
ALTER TABLE ONLY public.droit
    ADD CONSTRAINT pk_droit PRIMARY KEY (id_droit);
ALTER TABLE ONLY public.etablissement
    ADD CONSTRAINT pk_etablissement PRIMARY KEY (finess);
ALTER TABLE ONLY public.etablissement_scolaire
    ADD CONSTRAINT pk_etablissement_scolaire PRIMARY KEY (uai);
ALTER TABLE ONLY public.individu
    ADD CONSTRAINT pk_individu PRIMARY KEY (id_individu);
ALTER TABLE ONLY public.orientation
    ADD CONSTRAINT pk_orientation PRIMARY KEY (id_orientation);
ALTER TABLE ONLY public.representant_legal
    ADD CONSTRAINT pk_representant_legal PRIMARY KEY (id_representant);
ALTER TABLE ONLY public.reprise_lignage
    ADD CONSTRAINT pk_reprise_lignage PRIMARY KEY (target_table, target_key, application, source_table, source_line);
ALTER TABLE ONLY public.reprise_rejet
    ADD CONSTRAINT pk_reprise_rejet PRIMARY KEY (id);
ALTER TABLE ONLY public.reprise_run
    ADD CONSTRAINT pk_reprise_run PRIMARY KEY (run_id);
ALTER TABLE ONLY public.scolarisation
    ADD CONSTRAINT pk_scolarisation PRIMARY KEY (id_scolarisation);
ALTER TABLE ONLY public.suivi_orientation
    ADD CONSTRAINT pk_suivi_orientation PRIMARY KEY (id_suivi);
CREATE INDEX ix_adresse_id_individu ON public.adresse USING btree (id_individu);
CREATE INDEX ix_decision_id_demande ON public.decision USING btree (id_demande);
CREATE INDEX ix_demande_id_dossier ON public.demande USING btree (id_dossier);
CREATE INDEX ix_dossier_id_individu ON public.dossier USING btree (id_individu);
CREATE INDEX ix_droit_id_decision ON public.droit USING btree (id_decision);
CREATE INDEX ix_orientation_finess ON public.orientation USING btree (finess);
CREATE INDEX ix_orientation_id_decision ON public.orientation USING btree (id_decision);
CREATE INDEX ix_representant_legal_id_individu ON public.representant_legal USING btree (id_individu);
CREATE INDEX ix_reprise_lignage_application_source_table_source_line ON public.reprise_lignage USING btree (application, source_table, source_line);
CREATE INDEX ix_reprise_lignage_run_id ON public.reprise_lignage USING btree (run_id);
CREATE INDEX ix_reprise_rejet_application_source_table ON public.reprise_rejet USING btree (application, source_table);
CREATE INDEX ix_reprise_rejet_run_id ON public.reprise_rejet USING btree (run_id);
CREATE INDEX ix_scolarisation_id_individu ON public.scolarisation USING btree (id_individu);
CREATE INDEX ix_scolarisation_uai ON public.scolarisation USING btree (uai);
CREATE INDEX ix_suivi_orientation_finess ON public.suivi_orientation USING btree (finess);
CREATE INDEX ix_suivi_orientation_id_dossier ON public.suivi_orientation USING btree (id_dossier);
ALTER TABLE ONLY public.adresse
    ADD CONSTRAINT fk_adresse_id_individu FOREIGN KEY (id_individu) REFERENCES public.individu(id_individu);
ALTER TABLE ONLY public.decision
    ADD CONSTRAINT fk_decision_id_demande FOREIGN KEY (id_demande) REFERENCES public.demande(id_demande);
ALTER TABLE ONLY public.demande
    ADD CONSTRAINT fk_demande_id_dossier FOREIGN KEY (id_dossier) REFERENCES public.dossier(id_dossier);
ALTER TABLE ONLY public.dossier
    ADD CONSTRAINT fk_dossier_id_individu FOREIGN KEY (id_individu) REFERENCES public.individu(id_individu);
ALTER TABLE ONLY public.droit
    ADD CONSTRAINT fk_droit_id_decision FOREIGN KEY (id_decision) REFERENCES public.decision(id_decision);
ALTER TABLE ONLY public.orientation
    ADD CONSTRAINT fk_orientation_finess FOREIGN KEY (finess) REFERENCES public.etablissement(finess);
ALTER TABLE ONLY public.orientation
    ADD CONSTRAINT fk_orientation_id_decision FOREIGN KEY (id_decision) REFERENCES public.decision(id_decision);
ALTER TABLE ONLY public.representant_legal
    ADD CONSTRAINT fk_representant_legal_id_individu FOREIGN KEY (id_individu) REFERENCES public.individu(id_individu);
ALTER TABLE ONLY public.reprise_lignage
    ADD CONSTRAINT fk_reprise_lignage_run_id FOREIGN KEY (run_id) REFERENCES public.reprise_run(run_id);
ALTER TABLE ONLY public.reprise_rejet
    ADD CONSTRAINT fk_reprise_rejet_run_id FOREIGN KEY (run_id) REFERENCES public.reprise_run(run_id);
ALTER TABLE ONLY public.scolarisation
    ADD CONSTRAINT fk_scolarisation_id_individu FOREIGN KEY (id_individu) REFERENCES public.individu(id_individu);
ALTER TABLE ONLY public.scolarisation
    ADD CONSTRAINT fk_scolarisation_uai FOREIGN KEY (uai) REFERENCES public.etablissement_scolaire(uai);
ALTER TABLE ONLY public.suivi_orientation
    ADD CONSTRAINT fk_suivi_orientation_finess FOREIGN KEY (finess) REFERENCES public.etablissement(finess);
ALTER TABLE ONLY public.suivi_orientation
    ADD CONSTRAINT fk_suivi_orientation_id_dossier FOREIGN KEY (id_dossier) REFERENCES public.dossier(id_dossier);
