"""`python -m runbook_synth`."""

from runbook_synth.cli import main

main()
