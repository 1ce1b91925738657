"""Pipeline tests: step logic against SQLite, moto and a fake Druid; end to end on the dev stack."""
