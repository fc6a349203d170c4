"""Loss studies: arms and sweeps (arms.py), their statistics (statistics.py) and results,
how strong each HL form is (strength.py), and what HL costs per training step (benchmark.py)."""
