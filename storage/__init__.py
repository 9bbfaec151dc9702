"""SQLite storage: one writer connection, numbered migrations, one repository per aggregate."""
