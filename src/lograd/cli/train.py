"""``lograd train``: its flags as :func:`lograd.workflows.train`'s parameters; its account printed
as the work goes, a progress bar during the fit."""

from __future__ import annotations

import argparse
import contextlib

from lograd import workflows
from lograd.cli import _common
from lograd.errors import UserError

DEFAULT_OUTPUT = "model.lograd"
MODELS = ("logistic", "mlp")
SOLVERS = ("lbfgs", "gd", "sgd", "adam")
PENALTIES = ("l2", "l1", "elasticnet", "none")
# As lograd.models.mlp.ACTIVATIONS, lograd.estimators.mlp.INITS/SCHEDULES and
# lograd.datasets.EXAMPLES (not imported: they load NumPy and scikit-learn, too slow for --help;
# tests/cli/test_mlp_cli.py checks they are the same).
ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
INITS = ("glorot", "he", "lecun", "small")
SCHEDULES = ("constant", "invscaling", "adaptive")
EXAMPLES = ("flower", "moons", "circles", "breast_cancer")
# The flags of one model only: argparse's dest -> the flag.
LOGISTIC_FLAGS = {"penalty": "--penalty", "C": "--C", "l1_ratio": "--l1-ratio",
                  "no_intercept": "--no-intercept"}
NETWORK_FLAGS = {"hidden": "--hidden", "activation": "--activation", "alpha": "--alpha",
                 "init": "--init", "schedule": "--learning-rate-schedule",
                 "early_stopping": "--early-stopping",
                 "validation_fraction": "--validation-fraction", "max_fun": "--max-fun",
                 "power_t": "--power-t", "beta_1": "--beta-1", "beta_2": "--beta-2",
                 "epsilon": "--epsilon", "no_shuffle": "--no-shuffle",
                 "no_nesterov": "--no-nesterov"}
FLAGS = {"data": "DATA"}  # the workflow's parameters not named --like-this (see as_flags)

DESCRIPTION = """\
Train a logistic regression model (--model logistic, the default) or a neural network
(--model mlp: lograd.MLPClassifier, dense layers) by gradient descent, every derivative by
backpropagation, and save it. Without DATA, trains on --example NAME or else scikit-learn's
bundled breast-cancer data (569 rows, 30 features; target 'diagnosis': 0 = malignant,
1 = benign).

Shows the data, a progress bar (plain lines when stderr is not a terminal), then accuracy,
log-loss, ROC AUC, precision, recall and F1 on the training rows and on held-out test rows.

DATA: CSV/TSV (with or without a header line), Parquet (.parquet), NumPy (.npy: a 2-D array;
.npz: arrays X and y, optionally feature_names). Columns of words (at most 50 distinct values)
are one-hot encoded; the encoding is saved with the model.

DATA may also be a directory (all its files, sorted by name, one format) or a quoted glob
('data/*.parquet'): the files are read as one table, a chunk at a time. Its rows are held out
for testing row by row (seeded, not stratified). When the data does not fit the --memory
budget, the encoded chunks are written to a spill directory and streamed from disk at every
iteration (the estimator's fit on dask arrays), so memory stays within the budget."""

EPILOG = """\
examples:
  lograd train                                   # bundled data -> model.lograd
  lograd train data.csv --target label -o m.lograd --report report.html
  lograd train data.tsv --target 0 --features 1,2,5 --solver gd --learning-rate 0.5
  lograd train data.parquet --target y --penalty l1 --solver gd --C 0.1
  lograd train data/ --target y --memory 2G      # a directory; streamed if larger than 2 GiB
  lograd train 'part-*.parquet' --target y --dask local:4
  lograd train data.csv --target y --model mlp --hidden 20,7,5 --activation relu
  lograd train --example flower --model mlp --hidden 4 --activation tanh --solver gd \\
      --learning-rate 1.2        # the course's net (and its settings: --max-iter 10000 ...)"""


def configure(parser) -> None:
    """The arguments of ``lograd train``."""
    parser.description, parser.epilog = DESCRIPTION, EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("data", nargs="?", metavar="DATA",
                        help="the training data (default: --example, else the bundled "
                             "breast-cancer data)")
    parser.add_argument("--example", choices=EXAMPLES, metavar="NAME",
                        help="train on an example data set instead of DATA: flower (the "
                             "course's planar data, 400 points), moons, circles (2-D, 200 "
                             "points), breast_cancer (the bundled data); features x1, x2, "
                             "..., target y; flower with --model mlp takes the course's "
                             "settings for the flags left out")
    parser.add_argument("-t", "--target", metavar="COLUMN",
                        help="the column to predict, by name or 0-based index (negative counts "
                             "from the end); required with DATA unless it is an .npz with y")
    parser.add_argument("--features", metavar="COLUMNS",
                        help="comma-separated feature columns, by name or index (default: all "
                             "columns but the target, leaving out columns that look like "
                             "identifiers)")
    parser.add_argument("--exclude", metavar="COLUMNS",
                        help="comma-separated columns not to use as features, by name or index")
    parser.add_argument("--keep", metavar="COLUMNS",
                        help="use these columns as features even if they look like "
                             "identifiers (named id/ID/index/PassengerId/..., or row numbers: "
                             "distinct consecutive whole numbers)")
    parser.add_argument("-o", "--output", metavar="MODEL", default=DEFAULT_OUTPUT,
                        type=_common.output_path,
                        help=f"where to save the model (default: ./{DEFAULT_OUTPUT})")
    parser.add_argument("--report", metavar="FILE.html", type=_common.output_path,
                        help="also write a self-contained HTML report (curves, confusion "
                             "matrix, coefficients, computation graph)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing but errors and warnings")
    _common.add_reading_options(parser)
    _add_model_options(parser)
    _add_network_options(parser)
    _add_scale_options(parser)


def _add_network_options(parser) -> None:
    # MLPClassifier's defaults (checked against the code in tests/cli/test_mlp_cli.py).
    group = parser.add_argument_group(
        "networks (--model mlp; as lograd.MLPClassifier's parameters: its defaults are "
        "--solver adam, --learning-rate 0.001 (learning_rate_init), --max-iter 200, "
        "--momentum 0.9 for sgd, --alpha 0.0001; --penalty, --C, --l1-ratio and "
        "--no-intercept are logistic regression's only)")
    group.add_argument("--hidden", type=_hidden_units, metavar="UNITS",
                       help="units of each hidden layer, comma-separated: 20,7,5 is three "
                            "hidden layers (default: 100)")
    group.add_argument("--activation", choices=ACTIVATIONS,
                       help="of the hidden layers (default: relu); the output is a sigmoid "
                            "for two classes, softmax for more")
    group.add_argument("--alpha", type=_common.non_negative_float, metavar="A",
                       help="L2 penalty on the weights, as scikit-learn's (default: 0.0001)")
    group.add_argument("--init", choices=INITS,
                       help="initial weights: glorot (scikit-learn's; default), he, lecun, "
                            "small (randn * 0.01, the course's)")
    group.add_argument("--learning-rate-schedule", dest="schedule", choices=SCHEDULES,
                       help="sgd's step schedule (default: constant)")
    group.add_argument("--early-stopping", action="store_true",
                       help="hold out --validation-fraction of the training rows and stop "
                            "when their accuracy stops improving (sgd, adam, gd)")
    group.add_argument("--validation-fraction", type=_validation_fraction, metavar="FRACTION",
                       help="rows held out by --early-stopping (default: 0.1)")
    group.add_argument("--max-fun", type=_common.positive_int, metavar="N",
                       help="most loss evaluations of lbfgs (default: 15000)")
    group.add_argument("--power-t", type=_common.non_negative_float, metavar="P",
                       help="exponent of --learning-rate-schedule invscaling (sgd; default 0.5)")
    group.add_argument("--beta-1", type=_moment_decay, metavar="B",
                       help="adam's decay of the first moment, in [0, 1) (default 0.9)")
    group.add_argument("--beta-2", type=_moment_decay, metavar="B",
                       help="adam's decay of the second moment, in [0, 1) (default 0.999)")
    group.add_argument("--epsilon", type=_common.positive_float, metavar="E",
                       help="adam's numerical floor (default 1e-8)")
    group.add_argument("--no-shuffle", action="store_true",
                       help="mini-batches in the rows' order (sgd, adam; default: shuffled)")
    group.add_argument("--no-nesterov", action="store_true",
                       help="sgd's plain momentum instead of Nesterov's (the default)")


def _hidden_units(text: str) -> tuple:
    try:
        units = tuple(int(part) for part in text.split(","))
    except ValueError:
        units = ()
    if not units or min(units) < 1:
        raise argparse.ArgumentTypeError(f"must be whole numbers >= 1, comma-separated, like "
                                         f"20,7,5; got {text!r}")
    return units


def _moment_decay(text: str) -> float:
    value = _common.unit_interval(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def _validation_fraction(text: str) -> float:
    value = _common.unit_interval(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1), got {text!r}")
    return value


def _add_scale_options(parser) -> None:
    group = parser.add_argument_group("larger than memory / on a cluster")
    group.add_argument("--memory", type=_common.memory_size, metavar="SIZE",
                       help="memory for the data, e.g. 512M, 2G or bytes; larger data is "
                            "streamed from a spill directory (default: half the available RAM)")
    group.add_argument("--spill-dir", metavar="DIR",
                       help="where to write the encoded chunks of streamed data (a fresh "
                            "directory inside DIR, removed at the end; default: the system's "
                            "temp dir). On a real cluster it must be storage every worker sees")
    group.add_argument("--dask", type=_common.dask_address, metavar="CLUSTER",
                       help="fit on Dask: 'local' or 'local:N' starts N worker processes "
                            "(default 2) on this machine; 'tcp://HOST:PORT' uses a running "
                            "scheduler")


def _add_model_options(parser) -> None:
    # The defaults stated here are LogisticRegression's (its module loads scikit-learn, too
    # slow for --help); tests/cli/test_help_cli.py checks each against the code.
    group = parser.add_argument_group(
        "the model (as lograd.LogisticRegression's parameters, or lograd.MLPClassifier's with "
        "--model mlp; unset means the estimator's default)")
    group.add_argument("--model", choices=MODELS, default="logistic",
                       help="logistic: logistic regression (default); mlp: a neural network "
                            "(see 'networks' below)")
    group.add_argument("--solver", choices=SOLVERS,
                       help="lbfgs (default; fast), gd (full-batch gradient descent, the "
                            "lecture's), sgd (mini-batches, one epoch per iteration), adam")
    group.add_argument("--learning-rate", "--lr", type=_common.positive_float, metavar="RATE",
                       help="step size for gd/sgd/adam (default: auto, a safe 1/L for gd/sgd, "
                            "0.05 for adam)")
    group.add_argument("--momentum", metavar="M",
                       help="momentum for gd/sgd, in [0, 1), or 'nesterov' (gd) (default: 0)")
    group.add_argument("--penalty", choices=PENALTIES,
                       help="regularization (default: l2; l1 with --l1-ratio 1, elasticnet "
                            "with --l1-ratio between 0 and 1, none with --C inf); "
                            "l1/elasticnet need --solver gd or sgd")
    group.add_argument("--C", "-C", type=_common.positive_float_or_inf, metavar="C",
                       help="inverse regularization strength, > 0 (default: 1.0; inf: no "
                            "penalty)")
    group.add_argument("--l1-ratio", type=_common.unit_interval, metavar="R",
                       help="elastic-net mix: 0 = l2, 1 = l1 (required with elasticnet)")
    group.add_argument("--max-iter", type=_common.positive_int, metavar="N",
                       help="most iterations (epochs for sgd/adam) (default: 100)")
    group.add_argument("--tol", type=_common.non_negative_float, metavar="TOL",
                       help="stopping tolerance (default: 1e-4)")
    group.add_argument("--n-iter-no-change", type=_common.positive_int, metavar="N",
                       help="sgd/adam (and --early-stopping) stop after N epochs without an "
                            "improvement of --tol (default: 10)")
    group.add_argument("--batch-size", type=_common.positive_int, metavar="N",
                       help="mini-batch size for sgd/adam (default: min(200, rows))")
    group.add_argument("--class-weight", metavar="WEIGHTS",
                       help="'balanced', or per class: 'yes=3,no=1' (default: all 1)")
    group.add_argument("--no-intercept", action="store_true", help="fit no intercept")
    group.add_argument("--seed", type=_common.seed,
                       default=_common.default(workflows.train, "seed"),
                       help="random seed for the train/test split and sgd/adam (default: "
                            "%(default)s)")
    group.add_argument("--test-size", type=_common.test_fraction,
                       default=_common.default(workflows.train, "test_size"), metavar="FRACTION",
                       help="fraction of rows held out (stratified; for a directory or glob, "
                            "row by row) for evaluation; 0 to train on all rows (default: "
                            "%(default)s)")
    group.add_argument("--checkpoint", metavar="DIR",
                       help="save the training state in DIR every --checkpoint-every "
                            "iterations; rerunning the same command resumes from it")
    group.add_argument("--checkpoint-every", type=_common.positive_int, metavar="K",
                       help="iterations (epochs for sgd/adam) between checkpoints (default: 10)")
    scale = group.add_mutually_exclusive_group()
    scale.add_argument("--standardize", dest="standardize", action="store_true",
                       default=_common.default(workflows.train, "standardize"),
                       help="standardize features (mean 0, variance 1 on the training rows); "
                            "the scaler is saved with the model (default)")
    scale.add_argument("--no-standardize", dest="standardize", action="store_false",
                       help="use the features as they are")


# -- the command -----------------------------------------------------------------------------------
def run(args) -> int:
    result = workflows.train(
        args.data, target=args.target, features=args.features, exclude=args.exclude,
        keep=args.keep, delimiter=args.delimiter, header=args.header,
        drop_missing=args.drop_missing, model=args.model, example=args.example,
        params=_estimator_params(args),
        standardize=args.standardize, test_size=args.test_size, seed=args.seed,
        memory=args.memory, spill_dir=args.spill_dir, dask=args.dask, output=args.output,
        report=args.report, listener=_Printed(args.quiet))
    _common.say(args, f"model saved to {result.output}  (next: lograd predict {result.output} "
                      "DATA -o predictions.csv)")
    if result.report is not None:
        _common.say(args, f"report written to {result.report}")
    return 0


def _estimator_params(args) -> dict:
    """The estimator's parameters the flags set (the others keep its defaults)."""
    network = args.model == "mlp"
    other = LOGISTIC_FLAGS if network else NETWORK_FLAGS
    for dest, flag in other.items():
        if getattr(args, dest) not in (None, False):
            raise UserError(f"{flag} is for --model {'logistic' if network else 'mlp'}, not "
                            f"--model {args.model}")
    if args.data is not None and args.example is not None:
        raise UserError(f"--example {args.example}: give DATA or --example, not both")
    given = {
        "solver": args.solver, "max_iter": args.max_iter, "tol": args.tol,
        "n_iter_no_change": args.n_iter_no_change,
        "batch_size": args.batch_size, "checkpoint": args.checkpoint,
        "checkpoint_every": args.checkpoint_every,
    }
    if network:
        given.update({"learning_rate_init": args.learning_rate, "activation": args.activation,
                      "hidden_layer_sizes": args.hidden, "alpha": args.alpha,
                      "init": args.init, "learning_rate": args.schedule,
                      "validation_fraction": args.validation_fraction,
                      "max_fun": args.max_fun, "power_t": args.power_t,
                      "beta_1": args.beta_1, "beta_2": args.beta_2, "epsilon": args.epsilon})
        if args.early_stopping:
            given["early_stopping"] = True
        if args.no_shuffle:
            given["shuffle"] = False
        if args.no_nesterov:
            given["nesterovs_momentum"] = False
    else:
        given.update({"learning_rate": args.learning_rate, "C": args.C,
                      "l1_ratio": args.l1_ratio, "penalty": args.penalty})
    params = {name: value for name, value in given.items() if value is not None}
    if args.penalty == "none":
        params["penalty"] = None
    if args.momentum is not None:
        momentum = _momentum(args.momentum)
        if network and momentum == "nesterov" and args.no_nesterov:
            raise UserError("--momentum nesterov and --no-nesterov: give one of them")
        if network and momentum == "nesterov":
            params["nesterovs_momentum"] = True  # sgd's Nesterov momentum (its default)
        else:
            params["momentum"] = momentum
    if args.class_weight is not None:
        params["class_weight"] = _class_weight(args.class_weight)
    if args.no_intercept:
        params["fit_intercept"] = False
    return params


def _momentum(text):
    if text == "nesterov":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise UserError(f"--momentum must be a number in [0, 1) or 'nesterov', got {text!r}")
    return value


def _class_weight(text):
    """'balanced', or ``{label text: weight}`` from 'yes=3,no=1' (the workflow matches the
    labels to the classes)."""
    if text == "balanced":
        return text
    weights = {}
    for item in text.split(","):
        label, sep, weight = item.partition("=")
        try:
            value = float(weight)
        except ValueError:
            sep = ""
        if not sep or not 0 < value < float("inf"):
            raise UserError(f"--class-weight: expected 'balanced' or LABEL=WEIGHT pairs with "
                            f"positive finite weights, like 'yes=3,no=1'; got {item!r}")
        weights[label] = value
    return weights


class _Printed(workflows.TrainListener):
    """How ``lograd train`` shows the work (a :class:`lograd.workflows.TrainListener`): the lines
    on stdout unless --quiet, a progress bar on stderr during the fit, warnings as lines,
    Ctrl-C deferred to the end of an iteration."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def line(self, text: str) -> None:
        if not self.quiet:
            _common.write_stdout(_common.flag_words(text, FLAGS) + "\n")

    def reading(self):
        return _common.warnings_as_lines("train", quiet=self.quiet, flags=FLAGS)

    def uninterruptible(self):
        return _common.deferred_interrupts()  # a Ctrl-C meanwhile acts once it can

    @contextlib.contextmanager
    def fitting(self, total: int, unit: str):
        progress = _common.Progress(total, unit, quiet=self.quiet)
        finished = False
        with _common.warnings_as_lines("train", flags=FLAGS), _common.deferred_interrupts():
            try:
                yield [progress, _common.interrupt_check]
                finished = True
            finally:
                progress.close(finished)
