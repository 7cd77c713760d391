"""The CLI's subcommands, one module each; ``imugait.cli`` only parses and dispatches."""
