"""`kgantl augment`: does generated data help a few-shot classifier? Its flags (the fields of `AugmentSettings`),
the settings resolved with `--config`, and the experiment.
"""
import dataclasses
import json

from kgantl.cli.common import (USAGE_ERRORS, UsageError, _add_dataclass_flags, _blaming_the_config_file, _command,
                               _with_config_file)
from kgantl.synthetic.settings import AugmentSettings


def _add_augment_command(commands):
    augment = _command(commands, "augment", "does generated data help a few-shot classifier? GAN on the shots, one "
                                            "classifier per mix ratio, scored on the test split (resumes an "
                                            "unfinished identical experiment)")
    # Its required settings may come from --config, so they are checked once the file is merged.
    _add_dataclass_flags(augment, AugmentSettings, argparse_required=False)
    augment.add_argument("--config", metavar="FILE", help="JSON file of settings (any of the flags above, by field "
                                                          "name, e.g. \"gan_steps\": 500); flags given explicitly "
                                                          "override it (default: none)")
    augment.add_argument("--runs-root", default="runs", help="parent of the numbered run directories "
                                                             "(default: runs)")
    augment.add_argument("--run-dir", default=None, help="run directory; an unfinished experiment in it is "
                                                         "continued (default: a new NNNNN-augment one, or the "
                                                         "unfinished one with the same settings)")
    augment.add_argument("--dry-run", action="store_true", help="print the resolved settings and exit")


def _augment_settings(args, argv, parser):
    """Defaults <- config file <- flags typed on the command line, as `AugmentSettings`, checked."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(AugmentSettings)}
    values, from_the_file = _with_config_file(args, argv, parser, values, AugmentSettings, "augment settings")
    missing = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(AugmentSettings)
               if f.default is dataclasses.MISSING and values[f.name] is None]
    if missing:
        raise UsageError(f"the following arguments are required: {', '.join(missing)} (as flags or in --config)")
    values["weights"] = None if values["weights"] == "none" else values["weights"]
    with _blaming_the_config_file(args.config, from_the_file):
        return AugmentSettings(**values).validate()


def _augment(args, settings):
    """Set-up errors are usage errors (exit 2); errors during training itself propagate as they are."""
    from kgantl.synthetic.experiment import check_experiment, prepare_experiment, run_experiment
    from kgantl.synthetic.report import markdown_report

    try:
        if args.dry_run:  # every check of a real run (data, backbone, source, run directory), nothing written
            check_experiment(settings, runs_root=args.runs_root, run_dir=args.run_dir)
            print(json.dumps(settings.to_dict(), indent=2))
            return
        # Data, backbone, source and run directory are checked here, before the run directory is created.
        prepared = prepare_experiment(settings, runs_root=args.runs_root, run_dir=args.run_dir)
    except USAGE_ERRORS as error:
        raise UsageError(str(error)) from None
    report, run_dir = run_experiment(prepared)
    print(markdown_report(report))
    print(f"run directory: {run_dir}")
