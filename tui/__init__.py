"""batchtop: a terminal monitor for LLM batch jobs run through the Bifrost AI gateway."""

__version__ = "0.1.0"
