"""Subcommands owned by other rooms. Each module here defines `register(add)`, where
`add(name, fn, help) -> argparse.ArgumentParser` creates a subcommand whose handler is
`fn(args, console) -> int`.
Modules are discovered automatically (sparsesim.cli)."""
