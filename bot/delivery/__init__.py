"""Durable delivery: the outbox, its pacing and the worker that sends it."""
