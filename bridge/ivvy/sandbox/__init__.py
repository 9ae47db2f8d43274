"""A faithful fake iVvy: a real HTTP app used by the tests and by ``bridge sandbox``."""

from bridge.ivvy.sandbox.app import SANDBOX_KEY, SANDBOX_SECRET, create_sandbox_app
from bridge.ivvy.sandbox.server import SandboxServer, serve_forever
from bridge.ivvy.sandbox.state import SandboxState

__all__ = [
    "SANDBOX_KEY",
    "SANDBOX_SECRET",
    "SandboxServer",
    "SandboxState",
    "create_sandbox_app",
    "serve_forever",
]
