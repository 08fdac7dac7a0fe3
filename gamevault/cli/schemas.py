"""`gamevault schemas`: regenerate the JSON Schemas and the AsyncAPI document."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Repository root to write schemas/ and docs/asyncapi.yaml under.")
def schemas(root: Path) -> None:
    """Write schemas/<type>.json for every event and docs/asyncapi.yaml for the public topics."""
    from gamevault.streams.schemas import write

    changed = write(root)
    click.echo(f"{len(changed)} file(s) updated" + "".join(f"\n  {p}" for p in changed))
