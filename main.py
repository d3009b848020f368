#!/usr/bin/env python3
"""Synthesize every Phase 2 stack (one per config/<env>.toml) into cdktf.out/ - no cdktf CLI needed.

    ./dev.sh synth                  # or, inside the project's venv: python main.py
    python main.py --env dev        # just one environment
`cdktf synth` / `cdktf deploy phase2-dev` run this same file through cdktf.json.
"""

import sys

from emotion_platform.app import main  # emotion_platform points jsii at Node 24 before cdktf loads

if __name__ == "__main__":
    sys.exit(main())
