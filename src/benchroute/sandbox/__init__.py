"""The code sandbox: runs untrusted, model-generated programs, each in a fresh bubblewrap
sandbox with no network, a throwaway filesystem and bounded CPU, memory, time, processes and
output, and says what stopped a program (see docs/sandbox.md).

It depends on nothing in benchroute but its error types, so scorers, suites or user code can
use it alike.
"""

from ._limits import ExecutionResult, SandboxLimits, SandboxUnavailable
from ._sandbox import Sandbox

__all__ = ["ExecutionResult", "Sandbox", "SandboxLimits", "SandboxUnavailable"]
