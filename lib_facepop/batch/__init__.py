"""Batch runs from the command line: inputs, outputs, servers, progress (docs/cli.md,
docs/design.md section 3.1)."""
