"""Helpers shared by the test suite: databases, processes, configs."""
