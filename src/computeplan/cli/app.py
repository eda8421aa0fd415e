"""The typer application and its commands. Heavy modules are imported inside commands, so ``--help`` is fast."""

from __future__ import annotations

from typing import Annotated

import typer

from computeplan import __version__
from computeplan.cli.options import CatalogOption, DebugOption, JsonOption, print_json

app = typer.Typer(
    name="computeplan",
    help="Plan AI compute from first principles: chips, models, training, serving and fleets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"computeplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Plan AI compute from first principles: chips, models, training, serving and fleets.

    Catalog commands: chips, systems, models, facts, show. Every command takes --json.
    """


@app.command()
def chips(catalog: CatalogOption = None, json_out: JsonOption = False, debug: DebugOption = False) -> None:
    """List the accelerator chips in the catalog (dense peak FLOP/s, memory, power, links, price)."""
    from computeplan.catalog import load_catalog
    from computeplan.report import catalog_tables

    cat = load_catalog(catalog)
    if json_out:
        print_json([catalog_tables.entry_json(cat, "chips", c) for c in cat.chips.values()])
    else:
        catalog_tables.print_chips(cat)


@app.command()
def systems(catalog: CatalogOption = None, json_out: JsonOption = False, debug: DebugOption = False) -> None:
    """List the systems: how chips are packaged (scale-up domain) and networked (scale-out)."""
    from computeplan.catalog import load_catalog
    from computeplan.report import catalog_tables

    cat = load_catalog(catalog)
    if json_out:
        print_json([catalog_tables.entry_json(cat, "systems", s) for s in cat.systems.values()])
    else:
        catalog_tables.print_systems(cat)


@app.command()
def models(catalog: CatalogOption = None, json_out: JsonOption = False, debug: DebugOption = False) -> None:
    """List the model architectures, with parameter counts computed from them."""
    from computeplan.catalog import load_catalog
    from computeplan.report import catalog_tables

    cat = load_catalog(catalog)
    if json_out:
        print_json([catalog_tables.entry_json(cat, "models", m) for m in cat.models.values()])
    else:
        catalog_tables.print_models(cat)


@app.command()
def facts(catalog: CatalogOption = None, json_out: JsonOption = False, debug: DebugOption = False) -> None:
    """List datacenter and market facts: PUE, electricity prices, facility capex, depreciation, deal terms."""
    from computeplan.catalog import load_catalog
    from computeplan.report import catalog_tables

    cat = load_catalog(catalog)
    if json_out:
        print_json([catalog_tables.entry_json(cat, "facts", f) for f in cat.facts.values()])
    else:
        catalog_tables.print_facts(cat)


@app.command()
def show(
    kind: Annotated[str, typer.Argument(help="chip, system, model or fact")],
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="catalog id, e.g. trn2")],
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show one catalog entry with every number's source, date and confidence."""
    from computeplan.catalog import load_catalog
    from computeplan.report import catalog_tables

    cat = load_catalog(catalog)
    entry = cat.entry(kind, entry_id)
    plural = kind if kind.endswith("s") else kind + "s"
    if json_out:
        print_json(catalog_tables.entry_json(cat, plural, entry))
    else:
        catalog_tables.print_entry(cat, plural, entry)
