"""Shared messages, the registry of implementations and the exception tree. No layer logic."""
