"""The command-line tools, one module each: ``get_args_parser()``, ``main(args)`` and ``cli()``.

``cli`` is what pyproject.toml's [project.scripts] installs (hl-train, hl-eval, hl-predict,
hl-check-dataset, hl-checkout-curve, hl-synthesize-checkout, hl-export); tools/*.py are the same commands
for a checkout that is not installed (``python tools/train_det.py``).
"""
