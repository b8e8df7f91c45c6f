"""Fetching the files of a card, offline first, through the ecosystem's own fetchers.

Every card method lists the files a load needs (:func:`expected_files`). Files already
present are used as they are (no network call); a missing file is downloaded only when
``download=True``: MOABB's ``data_path`` (pooch) for ``moabb`` cards, nilearn's fetcher
for ``nilearn`` cards, pooch with PhysioNet's ``SHA256SUMS.txt`` for ``physionet`` cards
(checked as each file is downloaded: a partial or corrupt download is fetched again, never
used; files already present are not re-hashed on every call). ``manual`` cards are never
downloaded. Otherwise a missing file is a ``ValueError`` naming the file, its URL and the
card's access terms.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ._cards import DataCard, dataset_card

__all__ = ["fetch_dataset", "expected_files", "default_root"]

logger = logging.getLogger(__name__)


def default_root(card: DataCard) -> Path:
    """The standard cache a card's files go to when ``path`` is None.

    nilearn cards: nilearn's first data directory (``NILEARN_DATA`` or
    ``~/nilearn_data``); every other card: MNE's ``MNE_DATA`` (config or environment),
    else ``~/mne_data``. Nothing is written to the configuration.
    """
    if card.fetch["method"] == "nilearn":
        from nilearn.datasets import get_data_dirs

        return Path(get_data_dirs()[0])
    import mne

    configured = mne.get_config("MNE_DATA")
    return Path(configured) if configured else Path.home() / "mne_data"


def _moabb_files(card: DataCard, subjects: list, root: Path) -> list[tuple[Path, str]]:
    from moabb.datasets.download import _normalize_destination

    fetch, out = card.fetch, []
    folder = root / f"MNE-{fetch['sign'].lower()}-data"
    for s in subjects:
        if "runs_per_subject" in fetch:
            runs = range(1, fetch["runs_per_subject"][s - 1] + 1)
        else:
            runs = fetch.get("runs", [None])
        for template in fetch["urls"]:
            for run in (runs if "{run" in template else [None]):
                url = template.format(subject=s, run=run)
                out.append((Path(_normalize_destination(url, folder)), url))
    return out


def _physionet_dir(card: DataCard, root: Path) -> Path:
    f = card.fetch
    return root / f"MNE-{f['project']}-data" / "files" / f["project"] / str(f["version"])


def _read_sha256sums(path: Path) -> dict[str, str]:
    """``relative path -> sha256`` from a PhysioNet ``SHA256SUMS.txt``."""
    sums = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise ValueError(f"{path}, line {number}: expected '<sha256>  <file>', got "
                             f"{line!r}.")
        sums[parts[1].strip().lstrip("*")] = parts[0].lower()
    return sums


def _summary_files(summary: Path) -> list[str]:
    """Recording file names a CHB-MIT/Siena-style summary lists (``File name: x.edf``)."""
    import re

    if not summary.is_file():
        return []
    text = summary.read_text(encoding="latin-1")
    return sorted(set(re.findall(r"(?im)^\s*file\s*name\s*:\s*(\S+\.edf)\s*$", text)))


def _physionet_files(card: DataCard, subjects: list, root: Path,
                     ) -> list[tuple[Path, str, str | None]]:
    """Files of the subjects' folders: every listed file when ``SHA256SUMS.txt`` is
    cached (with its checksum); else the summary and the recordings it names (when the
    summary is present), or the summary alone (missing: it is fetched first)."""
    f, base = card.fetch, _physionet_dir(card, root)
    sums_file = base / f["checksums"]
    sums = _read_sha256sums(sums_file) if sums_file.is_file() else {}
    out = []
    for s in subjects:
        prefix = f["folder"].format(subject=s)
        listed = {k: v for k, v in sums.items() if k.startswith(prefix)}
        if not listed:
            rel = f["summary"].format(subject=s)
            listed = {rel: sums.get(rel)}
            folder = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
            listed.update({folder + name: None for name in _summary_files(base / rel)})
        out += [(base / rel, f["base_url"] + rel, h) for rel, h in sorted(listed.items())]
    return out


def _abide_files(card: DataCard, subjects: list, root: Path, options: dict
                 ) -> list[tuple[Path, str]]:
    import pandas as pd

    f = card.fetch
    csv = root / f["phenotypic"]
    url = f["url"].rstrip("/")
    if not csv.is_file():
        return [(csv, url.rsplit("/Outputs", 1)[0] + "/" + csv.name)]
    pipeline = options.get("pipeline", "cpac")
    derivative = options.get("derivative", "rois_cc200")
    strategy = (("" if options.get("band_pass_filtering", True) else "no") + "filt_"
                + ("" if options.get("global_signal_regression", True) else "no") + "global")
    pheno = pd.read_csv(csv, usecols=["SITE_ID", "FILE_ID"])
    pheno = pheno[(pheno["FILE_ID"] != "no_filename")
                  & pheno["SITE_ID"].astype(str).str.strip().isin(subjects)]
    ext = ".1D" if derivative.startswith("rois") else ".nii.gz"
    folder = root / f["folder"] / pipeline / strategy
    return [(folder / f"{fid}_{derivative}{ext}",
             f"{url}/{pipeline}/{strategy}/{derivative}/{fid}_{derivative}{ext}")
            for fid in pheno["FILE_ID"]]


def expected_files(card: DataCard, subjects: list, root: Path, options: dict | None = None
                   ) -> list[tuple[Path, str]]:
    """``(local path, URL)`` of every file a load of these subjects needs.

    For nilearn cards other than ABIDE, the dataset folder stands for its files (the
    fetcher knows their names); for ABIDE the phenotype CSV gives each subject's file.
    """
    method = card.fetch["method"]
    if method == "moabb":
        return _moabb_files(card, subjects, root)
    if method == "physionet":
        return [(p, u) for p, u, _ in _physionet_files(card, subjects, root)]
    if method == "nilearn":
        if card.name == "abide_pcp":
            return _abide_files(card, subjects, root, options or {})
        return [(root / card.fetch["folder"], card.fetch["url"])]
    return [(root / t.format(subject=s), card.fetch["url"])
            for s in subjects for t in card.fetch["files"]]


def _missing_error(card: DataCard, path: Path, url: str, why: str) -> ValueError:
    return ValueError(f"{why}: {path} of dataset {card.name!r} is missing (source: {url}). "
                      f"Access: {card.access} - {card.access_terms}")


def _download(card: DataCard, subjects: list, root: Path, options: dict, verbose: int
              ) -> None:
    method = card.fetch["method"]
    if method == "moabb":
        from ._load import moabb_dataset

        dataset = moabb_dataset(card, subjects, root)
        for s in subjects:
            dataset.data_path(s, path=str(root))
    elif method == "physionet":
        import pooch

        base = _physionet_dir(card, root)
        sums = card.fetch["checksums"]
        pooch.retrieve(card.fetch["base_url"] + sums, known_hash=None, fname=sums,
                       path=base, progressbar=verbose > 0)
        for path, url, sha in _physionet_files(card, subjects, root):
            pooch.retrieve(url, known_hash=f"sha256:{sha}" if sha else None,
                           fname=path.name, path=path.parent, progressbar=verbose > 0)
    elif method == "nilearn":
        import nilearn.datasets

        fetcher = getattr(nilearn.datasets, card.fetch["function"])
        kwargs = {**card.fetch["args"], "data_dir": str(root), "verbose": verbose}
        if card.name == "abide_pcp":
            kwargs.update(SITE_ID=subjects, **{k: v for k, v in options.items()
                                               if k != "derivative"})
            kwargs["derivatives"] = options.get("derivative", kwargs.get("derivatives"))
        elif card.name == "adhd200":
            kwargs["n_subjects"] = max(subjects)
        elif card.name == "haxby2001":
            kwargs["subjects"] = subjects
        fetcher(**kwargs)


def fetch_dataset(name: str, subjects: Any = None, path: str | Path | None = None, *,
                  download: bool = True, verbose: int = 0, **options: Any) -> list[Path]:
    """Make the files of a dataset (some subjects) present in the local cache.

    Offline first: when every file is already under ``path`` no network call is made.

    Parameters
    ----------
    name : str
        A card name or alias (:func:`neuroattn.datasets.list_datasets`).
    subjects : int | str | list | None
        Subject ids of the card (sites for ABIDE, sets for Bonn); all when None.
    path : str | Path | None
        Cache root: the folder holding ``MNE-*-data`` (MOABB, PhysioNet cards), nilearn's
        ``data_dir`` (nilearn cards) or the folder holding the card's layout (manual
        cards). None: :func:`default_root`.
    download : bool
        Download missing files with the ecosystem's fetcher. False: a missing file is
        an error and nothing touches the network.
    verbose : int
        0 silent; 1 progress bars of the downloads.
    **options
        ABIDE only: ``derivative``, ``pipeline``, ``band_pass_filtering``,
        ``global_signal_regression`` (nilearn's ``fetch_abide_pcp`` options).

    Returns
    -------
    list of Path
        The local files (or dataset folders, for nilearn cards other than ABIDE).

    Raises
    ------
    ValueError
        If the name is unknown, a subject is not in the card, or a file is missing and
        cannot be downloaded (offline, ``download=False``, a ``manual`` card, or the
        download failed); the message names the file, its URL and the access terms.
    """
    card = dataset_card(name)
    subjects = card.check_subjects(subjects)
    root = Path(path).expanduser() if path is not None else default_root(card)
    files = expected_files(card, subjects, root, options)
    missing = [(p, u) for p, u in files if not p.exists()]
    if not missing:
        return [p for p, _ in files]
    method = card.fetch["method"]
    if method == "manual":
        raise _missing_error(card, *missing[0], "No automatic download for this dataset")
    if not download:
        raise _missing_error(card, *missing[0], f"Offline (download=False), {len(missing)} "
                             "file(s) absent")
    if root.exists() and not _writable(root):
        raise ValueError(f"Cache folder {root} is not writable: cannot download "
                         f"{missing[0][0].name} of {card.name!r} there. Pass path= a "
                         "writable folder.")
    # Only the subjects with a missing file are fetched: a present subject costs no
    # network call and nothing is written into its folder.
    todo = [s for s in subjects
            if any(not p.exists() for p, _ in expected_files(card, [s], root, options))]
    logger.info("Downloading %d file(s) of %s (subjects %s) into %s", len(missing),
                card.name, todo, root)
    try:
        _download(card, todo, root, options, verbose)
    except (OSError, RuntimeError, ValueError) as exc:
        raise _missing_error(card, *missing[0], f"Download failed ({type(exc).__name__}: "
                             f"{exc})") from exc
    files = expected_files(card, subjects, root, options)
    still = [(p, u) for p, u in files if not p.exists()]
    if still:
        raise _missing_error(card, *still[0], "The fetcher did not produce the file "
                             "(the source layout may differ from the card)")
    return [p for p, _ in files]


def _writable(folder: Path) -> bool:
    """Whether downloads may write into ``folder``.

    A folder without any write permission bit is read-only by intent, even for root
    (for whom ``os.access`` is always true): a shared read-only copy is never written.
    """
    import os
    import stat

    mode = folder.stat().st_mode
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return False
    return os.access(folder, os.W_OK | os.X_OK)
