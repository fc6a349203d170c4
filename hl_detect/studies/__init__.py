"""Loss studies: arms and sweeps (arms.py), each arm's results over seeds (results.py,
statistics.py), the study table and plots, the runs side by side (parallel_runs.py), how
strong each HL form is (strength.py), and what HL costs per training step (benchmark.py)."""
