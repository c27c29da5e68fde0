-- Run once by the postgres image, when its data volume is first initialised, as the
-- POSTGRES_USER it creates (which owns them all). POSTGRES_DB is the tracker store's
-- database ("tracker"); the handoff service keeps its tickets in a database of its own, and
-- the action servers share their ticket outbox (OUTBOX_URL) in a third one.
CREATE DATABASE handoff;
CREATE DATABASE outbox;
