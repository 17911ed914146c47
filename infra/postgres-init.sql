-- Run once by the postgres image on first start (docker-entrypoint-initdb.d).
-- POSTGRES_DB already creates "initiatives"; each other service has its own
-- database, and the tests use "cases_test".
CREATE DATABASE meetings OWNER postgres;
CREATE DATABASE letters_of_intent OWNER postgres;
CREATE DATABASE evaluations OWNER postgres;
CREATE DATABASE audit OWNER postgres;
CREATE DATABASE cases_test OWNER postgres;
