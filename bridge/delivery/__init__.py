"""Delivery: from a claimed job to the tasks in iVvy, each created exactly once."""
