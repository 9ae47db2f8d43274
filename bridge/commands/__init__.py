"""Sub-commands of ``bridge``: each module defines ``register(subparsers)``.

A module's parser sets ``func`` to a callable taking the parsed arguments and
returning an exit status.
"""
