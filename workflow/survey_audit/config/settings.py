"""The workflow configuration (``config/config.yaml``): checked against its schema, defaults filled in.

Every analysis choice has its default in ``workflow/schemas/config.schema.yaml`` and nowhere else; after
:func:`check_config` every key the schema knows is present, so stages read ``config["estimation"]["level"]``
without a fallback of their own.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .loading import load_yaml, validate


def check_config(config: dict, path: str | Path = "config/config.yaml") -> dict:
    """Validate the workflow configuration (as Snakemake loaded it) and fill in the schema's defaults, in place.

    Problems are reported by the file's rows when the loaded configuration is the file's (no ``--config``
    override touches it)."""
    try:
        doc = load_yaml(path)
    except ConfigError:
        doc = None
    if doc is not None and doc.data == config:
        validate(doc, "config")
    validate(config, "config", path=path)
    return config


def load_config(path: str | Path = "config/config.yaml") -> dict:
    """The configuration file as the workflow sees it: validated, defaults filled in."""
    doc = load_yaml(path)
    validate(doc, "config")
    return doc.data
