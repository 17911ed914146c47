-- Run once by the postgres image on first start (docker-entrypoint-initdb.d).
-- POSTGRES_DB already creates "initiatives"; the tests also need "cases_test".
CREATE DATABASE cases_test OWNER postgres;
