"""``neuroattn models``: the model and attention registries as tables."""

from __future__ import annotations

import argparse

NAME = "models"
HELP = "List the registered models (and attention blocks with --attention)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", help="only models for this task (e.g. classification)")
    parser.add_argument("--modality", help="only models for this modality (eeg, ieeg, fmri)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--attention", action="store_true",
                        help="list attention blocks instead, by kind")


def run(args: argparse.Namespace) -> int:
    from ..models import list_models, model_registry, model_table
    from ..nn import attention_registry

    if args.attention:
        for entry in attention_registry.entries():
            print(f"{entry.name:<22} {entry.tags['kind']:<8} {entry.summary}")
        return 0
    if args.task or args.modality:
        names = list_models(task=args.task, modality=args.modality)
        if not names:
            raise ValueError(f"No model for task={args.task!r}, modality={args.modality!r}.")
        for name in names:
            print(f"{name:<24} {model_registry.entry(name).summary}")
        return 0
    print(model_table("markdown" if args.markdown else "text"))
    return 0
