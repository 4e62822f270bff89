"""Shared helpers of the thin workflow scripts: logging to the rule's log file, typed settings."""

from __future__ import annotations

import logging
import sys
import warnings


def setup_logging(snakemake) -> logging.Logger:
    """Send the package's log records (and warnings) to the rule's ``log:`` file and stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if snakemake.log:
        handlers.append(logging.FileHandler(str(snakemake.log[0]), mode="w"))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers, force=True
    )
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", module="pycalphad")
    return logging.getLogger(f"alloypref.rule.{snakemake.rule}")


def validated_config(snakemake) -> dict:
    from alloypref import config

    return config.validate(snakemake.config)
