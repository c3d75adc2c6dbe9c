"""The error every layer may raise for a job's user. Imports no bpy."""

from __future__ import annotations


class JobError(Exception):
    """A failure reported as one line on stderr with exit code 1 (what happened, and what to do)."""
