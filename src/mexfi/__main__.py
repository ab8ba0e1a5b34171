"""`python -m mexfi` is the `mexfi` command."""

from mexfi.cli.app import main

main()
