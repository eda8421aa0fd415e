"""``python -m computeplan`` runs the command line."""

from computeplan.cli import main

main()
