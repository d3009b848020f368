"""The local silver engine: the cleaning contract run by DuckDB.

- :mod:`.plan` compiles the contract into engine-neutral steps (shared with the Data Flow Script);
- :mod:`.sql` renders them as DuckDB SQL; :mod:`.engine` runs one batch;
- :mod:`.runner` decides what to clean, merges into silver and publishes atomically;
- :mod:`.storage` reads and writes folders and blob containers; :mod:`.report` writes the report.

Imports stay lazy here: the CDKTF side imports :mod:`.plan` without pulling in DuckDB.
"""
