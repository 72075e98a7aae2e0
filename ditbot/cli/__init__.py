"""The composition root: the `ditbot` command and `serve`, which wire everything.

Nothing imports it."""
