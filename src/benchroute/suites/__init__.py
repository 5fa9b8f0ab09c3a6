"""Suites and their datasets.

* Ready-made suites built in Python: ``humaneval_suite()`` (and its cases) for the code tier.
  A suite here is a :class:`~benchroute.SuiteSpec` built from a dataset a package ships, so it
  can be run from Python without a YAML file or a copy of the data; ``examples/`` has the same
  suites as YAML for the command line.
* Private holdout sets from production logs (``benchroute dataset``, docs/datasets.md):
  importers (chat JSONL, CSV, trace exports, the gateway's request log), PII scrubbing before
  anything is written, exact and near-duplicate removal, stratified sampling into golden sets,
  labelling, perturbations and contamination probes. Stored versions are read as suite cases
  by :func:`golden_loader` (``dataset: {golden: support, version: 3}``).
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._humaneval import humaneval_cases, humaneval_suite

if TYPE_CHECKING:
    from ._golden import golden_loader, parse_ref, resolve, stored_cases

_GOLDEN = ("golden_loader", "parse_ref", "resolve", "stored_cases")
__getattr__ = lazy_attributes(
    __name__,
    {
        **dict.fromkeys(_GOLDEN, "_golden"),
    },
)

__all__ = [
    "golden_loader",
    "humaneval_cases",
    "humaneval_suite",
    "parse_ref",
    "resolve",
    "stored_cases",
]
