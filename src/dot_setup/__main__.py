"""`python -m dot_setup` runs the same CLI as the `dot-setup` script."""

from dot_setup.cli import main

main()
