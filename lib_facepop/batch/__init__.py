"""Batch runs from the command line: inputs, outputs, servers, progress (README "Command
line", docs/design.md section 3.1)."""
