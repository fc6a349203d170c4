"""A training or evaluation job, from the command line to the run folder.

    cli.py          the flags every tool shares; config.py: YAML presets + overrides
    schema.py       every config key's type, range and default; schema_check.py checks a
                    config against it, loss_options_check.py each loss's options
    input_size.py   one input size for the data transform and the model
    train.py        run_training(cfg): data, model, optimizer -> engine.Trainer -> report
    run_folder.py   one run per folder (lock), a fresh run never over an old one (--overwrite)
    resume_config.py  what a resume may change against the checkpoint's config
"""
