"""The `parole` command line: one module per process (serve, demo) beside the commands."""
