"""Senders: one module per source type; ``registry`` lists them by ``type`` name."""
