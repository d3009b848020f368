"""The limits the Function enforces on its inputs, in one light module (no numpy): the generator and
the app-settings and HTTP parsers enforce them, and the deployment's config validation
(``emotion_platform.config``) imports them, so a config file cannot promise what the Function refuses."""

from __future__ import annotations

MAX_ROWS = 2_000_000_000  # rows in one generated file (and so in one HTTP call or timer batch)
MAX_DIRTY_RATIO = 0.5  # share of defective lines: copies need clean rows to copy from
