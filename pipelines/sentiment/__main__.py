"""``python -m pipelines.sentiment build|evaluate|where``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import fields
from pathlib import Path

from pipelines.sentiment import ModelNotBuiltError, default_model_dir
from pipelines.sentiment.config import DEFAULT_CONFIG, TrainingConfig


def _config(overrides: list[str]) -> TrainingConfig:
    """DEFAULT_CONFIG with ``field=value`` overrides, each value cast to the field's type."""
    types = {f.name: type(getattr(DEFAULT_CONFIG, f.name)) for f in fields(TrainingConfig)}
    changes: dict[str, object] = {}
    for item in overrides:
        name, _, raw = item.partition("=")
        if name not in types:
            raise SystemExit(f"--set {item}: no such field; fields are {sorted(types)}")
        kind = types[name]
        changes[name] = raw.lower() in {"1", "true", "yes"} if kind is bool else kind(raw)
    return DEFAULT_CONFIG.with_changes(**changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.sentiment", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="train and cache the model (no-op when cached)")
    build.add_argument("--force", action="store_true", help="rebuild even if cached")
    build.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    evaluate = commands.add_parser("evaluate", help="int8 vs fp32 vs VADER on held-out sets")
    evaluate.add_argument("--out", type=Path, help="write the results as JSON here")
    evaluate.add_argument("--model-dir", type=Path, help="default: the model of the current config")
    evaluate.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    where = commands.add_parser("where", help="print the model dir of the current config")
    where.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    teacher = commands.add_parser("teacher", help="score frozen sentence encoders as teachers")
    teacher.add_argument("--encoder", type=Path, action="append", default=[], metavar="DIR")
    teacher.add_argument("--tweets-per-class", type=int, default=1000)
    teacher.add_argument("--out", type=Path, help="write the results as JSON here")
    teacher.add_argument(
        "--soft-labels-out", type=Path, help="write the last encoder's soft labels"
    )
    teacher.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("pipelines").setLevel(logging.INFO)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Set before torch loads. With other processes on the 2 cores, OpenMP threads that spin
    # while waiting made 30 training steps take 646 s instead of 254 s (sleeping waiters).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    config = _config(args.set)
    if args.command == "build":
        if not args.force:
            try:  # answered before torch loads, so a cached build costs under a second
                print(f"sentiment model up to date: {default_model_dir(config)}")
                return 0
            except ModelNotBuiltError:
                pass
        # torch and transformers load only for the commands that need them
        from pipelines.sentiment.build import build as run_build  # noqa: PLC0415

        run_build(config, force=args.force)
        return 0
    if args.command == "teacher":
        from pipelines.sentiment.teacher import run as run_teacher  # noqa: PLC0415
        from pipelines.sentiment.train import base_model_dir  # noqa: PLC0415

        run_teacher(
            args.encoder or [base_model_dir()],
            args.out,
            config,
            args.tweets_per_class,
            args.soft_labels_out,
        )
        return 0
    try:
        model_dir = getattr(args, "model_dir", None) or default_model_dir(config)
    except ModelNotBuiltError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "where":
        print(model_dir)
        return 0
    from pipelines.sentiment.evaluate import run  # noqa: PLC0415

    run(model_dir, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
