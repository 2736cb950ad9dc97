"""``python -m convoscope.cli``."""

from convoscope.cli import main

main()
