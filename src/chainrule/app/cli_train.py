"""`chainrule train`: its arguments and what it runs (a run folder: app/run.py)."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import TrainingDiverged, TrainingInterrupted
from .arguments import batch_size_arg, hidden_sizes, positive_int, stop_listening_to_ctrl_c, thread_count


def add_train(sub):
    """`chainrule train` and its options, on the subcommand parser ``sub``."""
    from ..data.datasets import DATASETS
    from .config import ACTIVATIONS, LOSSES, MODELS, OPTIMIZERS, SCHEDULERS, TEXT_MODES, TrainConfig

    d = TrainConfig()
    p = sub.add_parser(
        "train",
        help="train a network on a dataset and write a run folder",
        description="Train an MLP on a dataset. With no options: digits, 128-64 ReLU, Adam, early stopping; "
        "writes summary.json, metrics.jsonl, model.safetensors, checkpoint.safetensors, curves.png "
        "and confusion.png to the run folder.",
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument(
        "--data",
        help=f"dataset name ({', '.join(DATASETS)}) or a CSV file whose last column is the target (default {d.data})",
    )
    p.add_argument("--data-dir", dest="data_dir", help="folder holding MNIST/Fashion-MNIST idx files (gzipped or not)")
    p.add_argument(
        "--delimiter", help="the column separator of a CSV --data file (default: detected, one of , ; tab |)"
    )
    p.add_argument(
        "--hidden",
        type=hidden_sizes,
        help=f"hidden layer sizes, separated by commas or spaces (default {','.join(map(str, d.hidden))})",
    )
    p.add_argument(
        "--model",
        choices=MODELS,
        help="mlp, or cnn: convolutions over image rows such as mnist's (default mlp); for text (--data names or a "
        ".txt file) a character-level language model: bigram, mlp, rnn, gru, lstm or transformer",
    )
    p.add_argument(
        "--text",
        choices=TEXT_MODES,
        help="a text --data file holds one word or name a line (lines) or running text (running); default: detected",
    )
    p.add_argument(
        "--block",
        type=positive_int,
        help="a language model's context in characters (default: bigram 1, mlp 3, the others 16)",
    )
    p.add_argument("--embed", type=positive_int, help=f"a language model's embedding width (default {d.embed})")
    p.add_argument(
        "--layers", type=positive_int, help=f"recurrent or transformer layers of a language model (default {d.layers})"
    )
    p.add_argument(
        "--heads", type=positive_int, help=f"a transformer's attention heads; they divide --embed (default {d.heads})"
    )
    p.add_argument(
        "--channels",
        type=hidden_sizes,
        help=f"--model cnn: feature maps of each 3x3 convolution, each followed by a 2x2 max-pool "
        f"(default {','.join(map(str, d.channels))})",
    )
    p.add_argument("--activation", choices=ACTIVATIONS, help=f"hidden-layer activation (default {d.activation})")
    p.add_argument("--dropout", type=float, help=f"dropout probability after each hidden layer (default {d.dropout})")
    p.add_argument("--batchnorm", action="store_true", help="add BatchNorm1d after each hidden Linear layer")
    p.add_argument(
        "--loss", choices=LOSSES, help="loss function; auto: cross_entropy for classification, mse for regression"
    )
    p.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help=f"update rule; momentum and nesterov are SGD with --momentum (default {d.optimizer})",
    )
    p.add_argument("--lr", type=float, help=f"learning rate (default {d.lr:g})")
    p.add_argument(
        "--momentum", type=float, help=f"momentum for the momentum/nesterov optimizers (default {d.momentum})"
    )
    p.add_argument("--weight-decay", dest="weight_decay", type=float, help="L2 weight decay (decoupled for adamw)")
    p.add_argument(
        "--batch-size",
        dest="batch_size",
        type=batch_size_arg,
        help=f"examples per step; 1 is SGD, 'full' is batch gradient descent (default {d.batch_size})",
    )
    p.add_argument("--epochs", type=int, help=f"maximum number of epochs (default {d.epochs})")
    p.add_argument("--seed", type=int, help=f"random seed for splits, init, dropout and shuffling (default {d.seed})")
    p.add_argument(
        "--early-stopping",
        dest="early_stopping",
        type=int,
        help=f"patience in epochs without validation improvement; 0 turns it off (default {d.early_stopping})",
    )
    p.add_argument("--scheduler", choices=SCHEDULERS, help="learning-rate schedule (default none)")
    p.add_argument(
        "--label-smoothing", dest="label_smoothing", type=float, help="label smoothing for cross_entropy (default 0)"
    )
    p.add_argument("--dtype", choices=("float32", "float64"), help="floating-point precision (default float32)")
    p.add_argument(
        "--device", choices=("cpu", "cuda"), help="where to train: cpu (NumPy, default) or cuda (CuPy on an NVIDIA GPU)"
    )
    p.add_argument(
        "--out",
        help="run folder to write (default: a fresh runs/<dataset>/version_N); never replaced without --overwrite",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the run already in the --out folder")
    p.add_argument(
        "--config", help="TOML file with the same keys (batch_size = 64, hidden = [128, 64]); options given here win"
    )
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument(
        "--monitor-gradients",
        dest="monitor_gradients",
        action="store_true",
        help="record per-layer gradient norms each epoch (gradients.json, gradients.png) and warn when they vanish "
        "or explode",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training over MPI: run under `mpirun -n N`; each rank trains on a shard, "
        "gradients are averaged, rank 0 writes the run folder (--batch-size is per rank)",
    )
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="also log each epoch's metrics for TensorBoard in RUN/tensorboard (needs tensorboardX)",
    )
    p.add_argument(
        "--threads",
        type=thread_count,
        help="threads for the matrix products and kernels: a number, or auto (each count timed while training, "
        "the fastest kept: fewer when the machine is busy; the last bits of a product may then differ from run to "
        "run); default: the machine's",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def run_train(args) -> int:
    """`chainrule train`: the options (and a TOML file's) into a TrainConfig, then the run; the exit status."""
    from .config import TrainConfig, load_toml, resolve_config_paths
    from .run import default_out, train_run

    values = {}
    if getattr(args, "config", None):
        table, base = load_toml(args.config)
        values.update(resolve_config_paths(table, base, args.config))
    options = {k: v for k, v in vars(args).items() if k not in ("command", "config", "resume", "func", "threads")}
    if getattr(args, "threads", None) is not None:  # this process's setting, not the run's: not in its config
        from ..backend import set_num_threads

        set_num_threads(args.threads)
    values.update(options)
    config = TrainConfig.from_dict(values, where="options")
    resume = getattr(args, "resume", None)
    extra, main = [], True
    if config.distributed:
        from ..train import distributed

        distributed.init()
        main = distributed.is_main()
        config.quiet = config.quiet or not main  # only rank 0 prints
    if main:  # a numbered folder is claimed (created) by the rank that writes it, not by every rank
        config.out = resume or config.out or default_out(config.data)
    if config.monitor_gradients and main:
        from ..explain.diagnostics import GradientMonitor

        extra.append(GradientMonitor(out_dir=config.out, quiet=config.quiet))
    try:
        given = {"quiet": False, **values, **options} if resume else None  # quiet is this invocation's alone
        train_run(config, resume=resume, extra_callbacks=extra, given=given)
    except TrainingDiverged as exc:
        checkpoint = os.path.join(config.out or "", "checkpoint.safetensors")
        kept = f"; the last good checkpoint is {checkpoint}" if os.path.isfile(checkpoint) else ""
        print(f"chainrule: {exc}{kept}", file=sys.stderr)
        return 1
    except TrainingInterrupted as exc:
        stop_listening_to_ctrl_c()
        if getattr(exc, "after_training", False):
            print(
                f"chainrule: interrupted by signal {exc.signal_number} after training; the run folder is complete: "
                f"{config.out}",
                file=sys.stderr,
            )
            return 128 + exc.signal_number
        print(
            f"chainrule: {exc}; checkpoint saved, resume with: chainrule train --resume {config.out}", file=sys.stderr
        )
        return 128 + exc.signal_number
    return 0
