"""Helpers for the ivvy source tests: a real key server and signed deliveries."""
