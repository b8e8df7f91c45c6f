"""``neuroattn datasets``: the public datasets' cards, and fetching them."""

from __future__ import annotations

import argparse

from ._common import add_verbosity

NAME = "datasets"
HELP = "List the public datasets' cards, print one, or fetch a dataset into its cache."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="one line a dataset card")
    p.add_argument("--track", help="only this track (mi, ssvep, seizure, fmri, encoding)")
    p.add_argument("--modality", help="only this modality (eeg, ieeg, fmri)")
    add_verbosity(p)
    p = sub.add_parser("info", help="print a dataset's card")
    p.add_argument("name", help="card name or alias, e.g. chbmit")
    add_verbosity(p)
    p = sub.add_parser("fetch", help="download a dataset's missing files (offline first)")
    p.add_argument("name", help="card name or alias")
    p.add_argument("--subjects", nargs="+",
                   help="subject ids of the card (sites for abide_pcp, sets for bonn)")
    p.add_argument("--path", help="cache root (default: MNE_DATA or nilearn's data_dir)")
    p.add_argument("--offline", action="store_true",
                   help="never download: report the first missing file")
    add_verbosity(p, default=1)


def _subjects(values: list[str] | None) -> list | None:
    if values is None:
        return None
    return [int(v) if v.isdigit() else v for v in values]


def run(args: argparse.Namespace) -> int:
    from ..datasets import dataset_card, fetch_dataset, list_datasets

    if args.action == "list":
        names = list_datasets(track=args.track, modality=args.modality)
        print(f"{'name':<19} {'tracks':<9} {'modality':<8} {'subjects':<14} {'access':<14} "
              "size on disk")
        for name in names:
            card = dataset_card(name)
            subjects = f"{card.subjects['count']} {card.subjects['unit']}s"
            print(f"{name:<19} {','.join(card.tracks):<9} {card.modality:<8} {subjects:<14} "
                  f"{card.access:<14} {card.size_on_disk}")
        return 0
    if args.action == "info":
        print(dataset_card(args.name).to_text())
        return 0
    files = fetch_dataset(args.name, _subjects(args.subjects), args.path,
                          download=not args.offline, verbose=args.verbose)
    root = files[0].parent if files else args.path
    print(f"{args.name}: {len(files)} file(s) present, e.g. {files[0] if files else root}")
    return 0
