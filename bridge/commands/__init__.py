"""Sub-commands of ``bridge``: each module defines ``register(subparsers)``.

A module's parser sets ``func`` to a callable taking the parsed arguments and
returning an exit status.  Modules whose name starts with ``_`` are helpers
shared by commands, not commands.
"""
