"""Children's data at rest: owner-only files, the deployment's key (DATA_KEY), sealed media and backups, the
database's health at start, and restoring a backup without bringing back an erased child."""
