"""Ready-made suites built in Python: ``humaneval_suite()`` (and its cases) for the code tier.

A suite here is a :class:`~benchroute.SuiteSpec` built from a dataset a package ships, so it
can be run from Python without a YAML file or a copy of the data; ``examples/`` has the same
suites as YAML for the command line.
"""

from ._humaneval import humaneval_cases, humaneval_suite

__all__ = ["humaneval_cases", "humaneval_suite"]
