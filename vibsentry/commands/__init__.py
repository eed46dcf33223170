"""vibsentry subcommands, one module each (see vibsentry.cli)."""
