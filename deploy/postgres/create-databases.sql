-- Run once by the postgres image, when its data volume is first initialised, as the
-- POSTGRES_USER it creates. POSTGRES_DB is the tracker store's database ("tracker"); the
-- handoff service keeps its tickets in a database of its own.
CREATE DATABASE handoff;
