"""Services: everything that touches files, the network or the database. Never imports Qt."""
