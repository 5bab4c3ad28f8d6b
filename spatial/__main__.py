"""`python -m spatial`: the command-line interface."""

from spatial.cli.main import main

main()
