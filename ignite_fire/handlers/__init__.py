"""Ignite handlers of ignite_fire, one per file."""
