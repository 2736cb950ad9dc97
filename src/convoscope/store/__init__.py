"""Storage: tables, migrations, the write path and the repositories."""
