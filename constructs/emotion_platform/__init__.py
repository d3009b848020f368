"""Phase 2 of the emotional-events data platform: CDKTF constructs for Azure, and the silver engine."""

from ._node import use_project_node

use_project_node()  # before any import of cdktf: jsii must start on a supported Node
