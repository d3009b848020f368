"""The Data Factory side of the silver contract: the mapping data flow's script, generated from it."""
