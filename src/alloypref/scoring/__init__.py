"""Scoring at scale: a table of triples in, rewards and phase tables out.

* Candidates whose master compositions agree to 1e-4 in every atomic fraction are computed once.
* Candidates are solved grouped by (database, element set), so each compiled system is built or
  loaded once per shard.
* Nothing kills a shard: a bad formula is an ``invalid`` row, a solver error or a timeout is a
  ``failed`` row with its reason, both with the worst reward. Candidates are solved in a worker
  process (:mod:`alloypref.calphad.worker`) that is killed when one runs past ``timeout_s``.
* A triple whose text the sampler could not parse cleanly (``parse_status`` other than ``ok``, e.g.
  ``unknown_element``: an element outside the design space) is an ``invalid`` row whose reason
  starts with that status; it is never scored as if it were a well-formed alloy.
* Each candidate is scored on the database ranked first by weakest-link trust
  (:func:`alloypref.calphad.trust.rank_databases`: trusted first, coverage breaking ties), or on a
  forced one (the cross-database check); its row says whether it is ``trusted`` and why not.
* Progress is checkpointed every ``checkpoint_every`` candidates beside the output; a rerun after a
  crash resumes from the checkpoint only when it was made from the same triples, settings, databases,
  trust evidence and code (a hash of them is stored with it); any other checkpoint is discarded.

One concern per module:

==================  ==============================================================================
module              holds
==================  ==============================================================================
``schemas``         the triples, rewards and phase-table schemas (the rewards table's columns)
``settings``        :class:`ScoringSettings`, how a shard is scored
``triples``         :func:`read_triples`, reading and checking a triples file
``shards``          :func:`split_triples`, cutting triples into shards of balanced cost
``checkpoint``      :func:`job_key` and the checkpoints a crashed job resumes from
``solve``           one candidate: its database, its solve, its reward row
``run``             :func:`score_triples`, :func:`score_one`, :func:`score_file`: the orchestration
==================  ==============================================================================

Every public name is importable from ``alloypref.scoring`` itself.
"""

from alloypref.scoring.checkpoint import CHECKPOINT_FORMAT, job_key
from alloypref.scoring.run import score_file, score_one, score_triples
from alloypref.scoring.schemas import (
    PARSED_TRIPLES_SCHEMA,
    REWARDS_SCHEMA,
    SCORED_TABLES_SCHEMA,
    TRIPLES_SCHEMA,
    concat_tables,
)
from alloypref.scoring.settings import ScoringSettings
from alloypref.scoring.shards import balance_groups, element_set_key, split_triples
from alloypref.scoring.triples import read_triples

__all__ = [
    "CHECKPOINT_FORMAT",
    "PARSED_TRIPLES_SCHEMA",
    "REWARDS_SCHEMA",
    "SCORED_TABLES_SCHEMA",
    "TRIPLES_SCHEMA",
    "ScoringSettings",
    "balance_groups",
    "concat_tables",
    "element_set_key",
    "job_key",
    "read_triples",
    "score_file",
    "score_one",
    "score_triples",
    "split_triples",
]
