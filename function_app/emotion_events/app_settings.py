"""Names and defaults of the Function's app settings: the one place the Function and the
``GeneratorFunction`` construct (which sets them) agree on."""

from __future__ import annotations

# Storage for bronze output. In Azure the connection string arrives as a Key Vault reference;
# locally it is Azurite's. When it is absent, BRONZE_ACCOUNT_URL plus a managed identity is used.
BRONZE_CONNECTION_STRING = "BRONZE_STORAGE_CONNECTION_STRING"
BRONZE_ACCOUNT_URL = "BRONZE_STORAGE_ACCOUNT_URL"
# Client id of a user-assigned identity for the keyless mode (read by azure-identity itself).
MANAGED_IDENTITY_CLIENT_ID = "AZURE_CLIENT_ID"
BRONZE_CONTAINER = "BRONZE_CONTAINER"

# Timer trigger: NCRONTAB schedule (referenced as %GENERATOR_SCHEDULE% in the trigger) and batch.
SCHEDULE = "GENERATOR_SCHEDULE"
BATCH_ROWS = "GENERATOR_BATCH_ROWS"
DIRTY_RATIO = "GENERATOR_DIRTY_RATIO"
# Upper bound on rows for one HTTP request.
MAX_ROWS = "GENERATOR_MAX_ROWS"

DEFAULTS: dict[str, str] = {
    BRONZE_CONTAINER: "bronze",
    SCHEDULE: "0 0 * * * *",  # hourly, on the hour
    BATCH_ROWS: "10000",
    DIRTY_RATIO: "0.05",
    MAX_ROWS: "5000000",
}
