"""The limits the Function enforces on its inputs, in one light module (no numpy): the generator and
the app-settings and HTTP parsers enforce them, and the deployment's config validation
(``emotion_platform.config``) imports them, so a config file cannot promise what the Function refuses."""

from __future__ import annotations

import re

MAX_ROWS = 2_000_000_000  # rows in one generated file (and so in one HTTP call or timer batch)
MAX_DIRTY_RATIO = 0.5  # share of defective lines: copies need clean rows to copy from

# Blob container names (Azure's rule): the Function checks its BRONZE_CONTAINER setting with it, and
# emotion_platform.naming builds the config's and the constructs' container rule from it.
CONTAINER_NAME = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
CONTAINER_NAME_RULE = (
    "blob container names are 3-63 lower-case letters, digits and hyphens, starting and ending "
    "with a letter or digit, without consecutive hyphens"
)


def check_container_name(value: object) -> str | None:
    """None for a valid container name, else the rule it breaks."""
    return None if isinstance(value, str) and CONTAINER_NAME.fullmatch(value) else CONTAINER_NAME_RULE
