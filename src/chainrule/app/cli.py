"""The ``chainrule`` command: train, evaluate, predict (and explain, compare: the learner's view).

Every error a user can cause prints one line and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings

from ..errors import ChainruleError, ConfigError
from .arguments import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Parser,
    fail,
    on_sigint,
    positive_int,
    stop_listening_to_ctrl_c,
)
from .cli_train import add_train, run_train


def _add_evaluate(sub):
    p = sub.add_parser(
        "evaluate",
        help="evaluate a run folder's model on its test split",
        description="Load RUN_DIR/model.safetensors, rebuild the dataset split from the run's config and print the "
        "test metrics as JSON.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by `chainrule train`")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object (for programs)")


def _cmd_evaluate(args) -> int:
    from .results import evaluate_run

    results = evaluate_run(args.run_dir)
    print(json.dumps(results) if args.json else format_evaluation(results))
    return 0


def format_evaluation(results: dict) -> str:
    """The test metrics as a short table: per-class precision, recall and F1 for classification."""
    if "test_bits_per_char" in results:  # a language model
        return "\n".join(
            [
                f"test loss                {results['test_loss']:.4f} nats per character "
                f"({results['test_bits_per_char']:.3f} bits)",
                f"count-based bigram       {results['bigram_test_loss']:.4f} nats per character",
                f"next-character accuracy  {results['test_accuracy']:.2%}",
            ]
        )
    lines = [f"test loss      {results['test_loss']:.4f}"]
    if "test_accuracy" not in results:
        lines += [f"{k:<14} {v:.4f}" for k, v in results.items() if k != "test_loss" and isinstance(v, float)]
        return "\n".join(lines)
    lines.append(f"test accuracy  {results['test_accuracy']:.2%}")
    names, scores = results["class_names"], results["per_class"]
    width = max(5, *(len(n) for n in names))
    lines += ["", f"{'class':<{width}}  precision  recall  f1     support"]
    for i, name in enumerate(names):
        p, r, f, n = (scores[k][i] for k in ("precision", "recall", "f1", "support"))
        lines.append(f"{name:<{width}}  {p:9.3f}  {r:6.3f}  {f:5.3f}  {n:7d}")
    total = sum(scores["support"])
    macro = [sum(scores[k]) / len(names) for k in ("precision", "recall", "f1")]
    lines.append(f"{'macro':<{width}}  {macro[0]:9.3f}  {macro[1]:6.3f}  {macro[2]:5.3f}  {total:7d}")
    return "\n".join(lines)


def _add_sample(sub):
    p = sub.add_parser(
        "sample",
        help="print new words or text from a run's language model",
        description="Draw samples from RUN_DIR's character-level language model, one character at a time from its "
        "predicted distribution, until the end of a word (or --length characters).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by `chainrule train --model <language model>`")
    p.add_argument("--n", type=positive_int, default=20, help="how many samples (default 20)")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="divide the logits by this: below 1 likelier, safer choices; above 1 more surprise (default 1)",
    )
    p.add_argument("--top-k", dest="top_k", type=positive_int, help="draw only from the k likeliest characters")
    p.add_argument(
        "--seed", type=int, default=0, help="the generator's seed: the same seed, the same samples (default 0)"
    )
    p.add_argument("--prompt", default="", help="the characters every sample begins with")
    p.add_argument(
        "--length",
        type=positive_int,
        help="the most characters drawn per sample (default 40 for words, 200 for running text)",
    )
    p.add_argument(
        "--attention",
        metavar="FILE.png",
        help="a transformer run: draw each head's attention weights over the first sample's characters",
    )


def _cmd_sample(args) -> int:
    from .language import sample_run

    options = (args.n, args.temperature, args.top_k, args.seed, args.prompt, args.length, args.attention)
    for line in sample_run(args.run_dir, *options):
        print(line)
    if args.attention:
        print(f"attention: {args.attention}", file=sys.stderr)
    return 0


def _add_predict(sub):
    p = sub.add_parser(
        "predict",
        help="predict with a run folder's model for rows of a CSV file",
        description="Apply RUN_DIR's model (with its input standardisation) to every row of FILE.csv and print one "
        "prediction per line as CSV.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by `chainrule train`")
    p.add_argument(
        "--input",
        required=True,
        metavar="FILE.csv",
        help="numeric CSV, one example per row, the model's input columns only",
    )
    p.add_argument("--output", metavar="FILE.csv", help="write the predictions here instead of standard output")
    p.add_argument("--delimiter", help="the column separator of FILE.csv (default: detected)")


def _cmd_predict(args) -> int:
    import numpy as np

    from .. import functional as F
    from ..tensor import Tensor
    from ..train.metrics import predicted_classes
    from .results import predict_run

    output, meta = predict_run(args.run_dir, args.input, args.delimiter)
    if meta["task"] == "classification":
        names = meta.get("class_names") or []
        classes = predicted_classes(output)
        logits = Tensor.wrap(output, False)
        if output.shape[1] == 1:  # one logit: sigmoid gives P(class 1)
            p1 = F.sigmoid(logits).array[:, :1]
            probs = np.concatenate([1 - p1, p1], axis=1)
        else:
            probs = F.softmax(logits, dim=1).array
        names = [str(names[k]) if k < len(names) else str(k) for k in range(probs.shape[1])]
        header = "prediction,label," + ",".join(f"p_{name}" for name in names)  # one probability per class
        lines = [header] + [f"{c},{names[c]}," + ",".join(f"{p:.6f}" for p in row) for c, row in zip(classes, probs)]
    else:
        lines = [",".join(f"prediction{i}" for i in range(output.shape[1])) if output.shape[1] > 1 else "prediction"]
        lines += [",".join(f"{v:.6g}" for v in row) for row in output]
    return _emit("\n".join(lines) + "\n", args.output)


def _emit(text: str, output: str | None) -> int:
    """Write a command's result to ``output`` (atomically) or to standard output."""
    if output:
        from ..serialization import atomic_write

        atomic_write(output, text.encode())
    else:
        sys.stdout.write(text)
    return 0


def _add_explain(sub):
    from ..explain.formats import FORMATS

    p = sub.add_parser(
        "explain",
        help="show one step of backpropagation with every number, by the chain rule",
        description="Run one training step of a small fully connected network on chainrule's engine and write out "
        "every weighted sum, activation, error, chain-rule factor, gradient and updated weight. Without "
        "NETWORK.json it uses the classic 2-2-2 sigmoid example with squared error.",
    )
    p.add_argument(
        "network",
        nargs="?",
        metavar="NETWORK.json",
        help='{"inputs": [[...]], "targets": [[...]], "layers": [{"weight": [[...]], "bias": [...] or a number, '
        '"activation": "sigmoid|tanh|relu|identity|softmax"}], "loss": "half_sse|mse|cross_entropy|bce", "lr": 0.5}',
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), markdown, latex, html, or json (every value, full precision)",
    )
    p.add_argument(
        "--digits",
        type=positive_int,
        default=9,
        help="significant digits in the text formats (default 9; json always has full precision)",
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=1,
        help="run this many updates and add a table of the loss after each (default 1)",
    )
    p.add_argument(
        "--graph",
        metavar="FILE.svg",
        help="also draw the network's computational graph with Graphviz (.svg, .png or .pdf)",
    )
    p.add_argument(
        "--derivative",
        metavar="EXPR",
        help="instead of a network: y = EXPR in x (e.g. 'x**2', 'tanh(x)') and its derivatives at --at, each the "
        "gradient of the one before, recorded as a graph (create_graph=True); --graph draws them all",
    )
    p.add_argument(
        "--rnn",
        action="store_true",
        help="instead: backpropagation through time in a small RNN (2 inputs, 2 hidden units, 3 steps; NETWORK.json "
        "may give inputs, target, w_xh, w_hh, b): the forward pass, dE/dW_hh as a sum over the steps, and the "
        "product of the per-step factors that shrinks with the distance",
    )
    p.add_argument("--at", type=float, default=1.0, help="the x of --derivative (default 1)")
    p.add_argument(
        "--order", type=positive_int, default=2, help="how many derivatives --derivative takes (default 2, at most 6)"
    )
    p.add_argument("--output", metavar="FILE", help="write the explanation here instead of standard output")


def _cmd_explain(args) -> int:
    from ..explain import load_network, render_step, trace_step

    if args.rnn:
        from ..explain.bptt import explain_rnn
        from ..explain.network import read_json

        values = read_json(args.network) if args.network else None
        return _emit(explain_rnn(values, args.format, min(args.digits, 12)), args.output)
    if args.derivative is not None:
        from ..explain.derivatives import describe
        from ..explain.graph import render

        text, found = describe(args.derivative, args.at, args.order)
        if args.graph:
            render(found, args.graph)
        return _emit(text + "\n", args.output)
    spec = load_network(args.network)
    text = render_step(trace_step(spec, steps=args.steps), args.format, args.digits)
    if args.graph:
        from ..explain.graph import render
        from ..explain.trace import build_graph, make_parameters

        loss, _ = build_graph(spec, make_parameters(spec))
        loss.backward()
        render(loss, args.graph)
    return _emit(text, args.output)


def _add_compare(sub):
    from .compare import EXPERIMENTS

    p = sub.add_parser(
        "compare",
        help="experiments: optimizers, batching, learning rates, depth, recurrent",
        description="Train the same network several ways and print a table and write a PNG plot: "
        "optimizers (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam); batching (batch, stochastic and "
        "mini-batch gradient descent, loss against epochs and seconds); lr (a sweep in which too large a rate "
        "diverges); depth (a deep sigmoid network against ReLU with He init and against BatchNorm: the first "
        "layer's gradient norm shows the vanishing gradient); recurrent (a plain RNN, a GRU and an LSTM repeating "
        "the first symbol after T distractors: the gradient reaching each step, and the accuracy against T).",
    )
    p.add_argument("experiment", choices=EXPERIMENTS, help="which comparison to run")
    p.add_argument("--data", default="digits", help="dataset name (default digits)")
    p.add_argument("--epochs", type=positive_int, help="epochs per run (default: the experiment's own)")
    p.add_argument("--seed", type=int, default=0, help="random seed shared by every run (default 0)")
    p.add_argument("--out", help="folder for the plot (default runs/compare-<experiment>)")
    p.add_argument(
        "--lr", type=float, help="one learning rate for every run (default: each run's own, shown in the table)"
    )
    p.add_argument("--steps", type=positive_int, help="recurrent: training steps per run (default 800)")


def _cmd_compare(args) -> int:
    from .compare import run_comparison

    text, _, path = run_comparison(
        args.experiment, data=args.data, epochs=args.epochs, seed=args.seed, out=args.out, lr=args.lr, steps=args.steps
    )
    sys.stdout.write(text)
    if path:
        print(f"plot: {path}")
    return 0


def _add_playground(sub):
    p = sub.add_parser(
        "playground",
        help="a live page in the browser: train a network and click any weight to see its chain rule",
        description="Serve the playground on this machine and open it in the browser: 2-D data sets, digits or your "
        "CSV, a network of up to six hidden layers trained live by chainrule's engine, a heatmap per neuron, loss "
        "and gradient-norm charts, and for any weight the chain rule of the step just taken, with its numbers. "
        "Needs pip install 'chainrule[playground]'.",
    )
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 lets others in, and then the "
        "page needs the random token in the address printed at start)",
    )
    p.add_argument("--no-browser", action="store_true", help="print the address but do not open a browser")
    p.add_argument(
        "--data-dir",
        dest="data_dir",
        help="the folder whose CSV files the page may open by path (default: the current folder; nothing outside "
        "it is ever read)",
    )
    p.add_argument(
        "--max-sessions",
        dest="max_sessions",
        type=positive_int,
        default=8,
        help="the most tabs training at once (default 8); another tab is told the server is busy",
    )


def _cmd_playground(args) -> int:
    from ..playground.server import serve

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"option --port: expected 0 to 65535, got {args.port}")

    def ready(url):
        print(f"chainrule playground: {url}  (Ctrl+C stops it)", flush=True)

    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        raise ConfigError(f"option --data-dir: {args.data_dir!r} is not a folder")
    try:
        serve(
            args.host,
            args.port,
            open_browser=not args.no_browser,
            ready=ready,
            data_dir=args.data_dir,
            max_sessions=args.max_sessions,
        )
    except KeyboardInterrupt:
        pass
    return 0


COMMANDS = {
    "train": (add_train, run_train),
    "evaluate": (_add_evaluate, _cmd_evaluate),
    "predict": (_add_predict, _cmd_predict),
    "sample": (_add_sample, _cmd_sample),
    "explain": (_add_explain, _cmd_explain),
    "compare": (_add_compare, _cmd_compare),
    "playground": (_add_playground, _cmd_playground),
}


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = Parser(
        prog="chainrule", description="chainrule: train, evaluate and explain neural networks built on NumPy."
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv=None) -> int:
    """Run one command. Whatever happens, the user sees one line: 0 on success, 2 for an error, 130 for Ctrl-C
    (set CHAINRULE_TRACEBACK=1 to see the traceback of an unexpected error instead)."""
    previous, showwarning = signal.getsignal(signal.SIGINT), warnings.showwarning
    warnings.showwarning = _warn  # one line each, as errors are
    try:
        return _guarded(argv)
    finally:
        if argv is not None:  # called by a program: its Ctrl-C and its warnings go back as they were
            warnings.showwarning = showwarning
            if previous is not None:
                on_sigint(previous)


def _guarded(argv) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C outside training, or a second one while a run saves its state
        stop_listening_to_ctrl_c()
        print("chainrule: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ChainruleError as exc:
        return fail(str(exc))
    except RecursionError:
        return fail("the input is nested too deeply to read (a JSON or TOML structure hundreds of levels deep)")
    except MemoryError as exc:
        return fail(f"not enough memory ({exc or 'an allocation failed'}); use a smaller model or batch")
    except (OSError, ValueError) as exc:  # e.g. an unreadable file the user named
        return fail(f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug of ours: still one line, and how to see more
        if os.environ.get("CHAINRULE_TRACEBACK"):
            raise
        message = str(exc).splitlines()[0][:300] if str(exc) else ""
        return fail(
            f"unexpected {type(exc).__name__}: {message} (a bug in chainrule; CHAINRULE_TRACEBACK=1 shows where)"
        )


def _warn(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"chainrule: warning: {message}", file=sys.stderr)


def _main(argv) -> int:
    from ..backend import keep_freed_memory

    keep_freed_memory()  # this process trains: let malloc reuse the same large arrays every step
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    return COMMANDS[args.command][1](args)


if __name__ == "__main__":
    sys.exit(main())
