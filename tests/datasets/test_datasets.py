"""Data cards, the fetch/load API and ``neuroattn datasets`` (issue 12, parts 1-2)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import yaml

from neuroattn.cli import main
from neuroattn.datasets import (
    CARD_SCHEMA,
    dataset_card,
    fetch_dataset,
    list_datasets,
    load_dataset,
    read_siena_seizure_list,
)
from neuroattn.datasets._cards import CARDS_DIR, read_card

ROOT = Path(__file__).resolve().parents[2]
ISSUE_DATASETS = ["physionetmi", "bnci2014_001", "lee2019_mi", "kalunga2016", "nakanishi2015",
                  "wang2016", "chbmit", "siena", "upenn_mayo", "bonn", "abide_pcp", "adhd200",
                  "miyawaki2008", "haxby2001", "nsd_algonauts2023"]


@pytest.fixture
def no_network(monkeypatch):
    """Any socket connection or pooch download fails the test: proves no network call.

    (``pooch.retrieve`` itself may run: MOABB calls it on present files, with their hash,
    and pooch then downloads nothing.)
    """
    import pooch

    def refuse(*args, **kwargs):
        raise AssertionError("network call attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for downloader in (pooch.HTTPDownloader, pooch.FTPDownloader, pooch.DOIDownloader):
        monkeypatch.setattr(downloader, "__call__", refuse)


@pytest.mark.parametrize("file", sorted(CARDS_DIR.glob("*.yml")), ids=lambda p: p.stem)
def test_every_card_has_every_field_with_its_type(file):
    raw = yaml.safe_load(file.read_text())
    for field, typ in CARD_SCHEMA.items():
        assert isinstance(raw.get(field), typ), f"{file.name}: {field}"
    card = read_card(file)
    assert card.name == file.stem and len(card.subject_ids) == card.subjects["count"]


def test_cards_cover_the_issue_and_the_top_level_folder_is_the_package_data():
    assert sorted(list_datasets()) == sorted(ISSUE_DATASETS)
    assert (ROOT / "datasets").resolve() == CARDS_DIR.resolve()


@pytest.mark.parametrize("edit, field", [
    (lambda c: c.pop("licence"), "licence"),
    (lambda c: c.update(tracks="mi"), "tracks"),
    (lambda c: c.update(access="free"), "access"),
    (lambda c: c.update(subjects={"count": 3, "ids": {"first": 1, "last": 9}, "unit": "s"}),
     "subjects.count"),
    (lambda c: c["fetch"].pop("urls"), "fetch.urls"),
    (lambda c: c.update(doi=""), "doi"),
])
def test_a_bad_card_names_the_file_and_the_field(tmp_path, edit, field):
    card = yaml.safe_load((CARDS_DIR / "physionetmi.yml").read_text())
    edit(card)
    bad = tmp_path / "physionetmi.yml"
    bad.write_text(yaml.safe_dump(card))
    with pytest.raises(ValueError, match=field) as err:
        read_card(bad)
    assert str(bad) in str(err.value)


def test_list_and_card_lookup():
    assert list_datasets(track="ssvep") == ["kalunga2016", "nakanishi2015", "wang2016"]
    assert list_datasets(modality="ieeg") == ["bonn", "upenn_mayo"]
    assert dataset_card("PhysionetMI").name == dataset_card("eegmmidb").name == "physionetmi"
    assert dataset_card("CHB-MIT").fetch["checksums"] == "SHA256SUMS.txt"
    with pytest.raises(ValueError, match="track"):
        list_datasets(track="motor")


def test_unknown_name_suggests_close_names():
    with pytest.raises(ValueError, match="Did you mean 'chbmit'"):
        dataset_card("chbmt")
    with pytest.raises(ValueError, match="No dataset card named 'nothing'"):
        load_dataset("nothing")


@pytest.mark.parametrize("name, subjects", [("physionetmi", [0]), ("physionetmi", [110]),
                                            ("chbmit", ["chb25"]), ("bonn", ["A"]),
                                            ("abide_pcp", ["MARS"])])
def test_subjects_out_of_range(name, subjects, tmp_path, no_network):
    with pytest.raises(ValueError, match="subjects"):
        fetch_dataset(name, subjects, tmp_path)


@pytest.mark.parametrize("name, subjects, url", [
    ("physionetmi", [1], "https://physionet.org/files/eegmmidb/1.0.0/S001/S001R04.edf"),
    ("kalunga2016", [2], "https://zenodo.org/record/2392979/files/subject02_run1_raw.fif"),
    ("chbmit", ["chb01"], "https://physionet.org/files/chbmit/1.0.0/chb01/chb01-summary.txt"),
    ("abide_pcp", ["OHSU"], "Phenotypic_V1_0b_preprocessed1.csv"),
    ("miyawaki2008", None, "fetch_miyawaki2008"),
])
def test_missing_file_offline_names_file_url_and_terms(name, subjects, url, tmp_path,
                                                       no_network):
    card = dataset_card(name)
    with pytest.raises(ValueError) as err:
        load_dataset(name, subjects, tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path) in msg and url in msg and card.access_terms in msg
    assert list(tmp_path.iterdir()) == []  # nothing created


@pytest.mark.parametrize("name", ["upenn_mayo", "bonn", "nsd_algonauts2023"])
def test_manual_datasets_are_never_downloaded(name, tmp_path, no_network):
    with pytest.raises(ValueError, match="No automatic download") as err:
        fetch_dataset(name, None, tmp_path, download=True)
    assert dataset_card(name).fetch["url"] in str(err.value)


def test_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    import pooch

    def offline(*args, **kwargs):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(ValueError, match="Download failed.*network unreachable.*Access: open"):
        fetch_dataset("chbmit", "chb01", tmp_path)


def test_siena_seizure_list_is_read_in_seconds_from_file_start(tmp_path):
    import mne

    info = mne.create_info(["Fp1", "F3"], 8.0, "eeg")
    raw = mne.io.RawArray(np.zeros((2, 8 * 3600)), info, verbose="error")
    mne.export.export_raw(tmp_path / "PN00-1.edf", raw, verbose="error")
    (tmp_path / "Seizures-list-PN00.txt").write_text(
        "Patient id number:PN00\nSeizure n 1\nFile name: PN00-1.edf\n"
        "Registration start time: 23.30.00\nRegistration end time: 00.29.59\n"
        "Seizure start time: 23.40.00\nSeizure end time: 23.41.10\n\n"
        "Seizure n 2\nFile name: PN00-1.edf\nRegistration start time: 23.30.00\n"
        "Registration end time: 00.29.59\nStart time: 00.10.00\nEnd time: 00.11.00\n")
    (rec,) = read_siena_seizure_list(tmp_path / "Seizures-list-PN00.txt")
    assert rec.subject == "PN00"
    assert rec.seizures == [(600.0, 670.0), (2400.0, 2460.0)]
    (tmp_path / "Seizures-list-PN01.txt").write_text(
        "File name: PN00-1.edf\nRegistration start time: 23.30\nStart time: 23.40.00\n"
        "End time: 23.41.00\n")
    with pytest.raises(ValueError, match="hh.mm.ss"):
        read_siena_seizure_list(tmp_path / "Seizures-list-PN01.txt")


def test_cli_list_info_and_errors(capsys):
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ISSUE_DATASETS)
    assert main(["datasets", "list", "--track", "fmri"]) == 0
    out = capsys.readouterr().out
    assert "abide_pcp" in out and "chbmit" not in out
    assert main(["datasets", "info", "chbmit"]) == 0
    out = capsys.readouterr().out
    assert "SHA256SUMS.txt" in out and "10.13026/C2K01R" in out and "quirks:" in out
    assert main(["datasets", "info", "chbmt"]) == 2
    assert "Did you mean 'chbmit'" in capsys.readouterr().err


def test_cli_fetch_offline_missing(tmp_path, capsys, no_network):
    code = main(["datasets", "fetch", "physionetmi", "--subjects", "1", "--path",
                 str(tmp_path), "--offline"])
    assert code == 2
    assert "S001R04.edf" in capsys.readouterr().err


# --- real data (../shared/data), read-only and offline -----------------------------------


@pytest.fixture
def offline_home(monkeypatch, tmp_path, no_network):
    """A writable HOME and an empty MNE_DATA: data can only come from ``path=``."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MNE_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("MOABB_DOWNLOAD_PROVIDER", "upstream")
    (tmp_path / "home").mkdir()
    (tmp_path / "empty").mkdir()


@pytest.mark.realdata
def test_physionetmi_subject_1_through_moabb(shared_data, offline_home):
    from moabb.paradigms import LeftRightImagery

    dataset = load_dataset("physionetmi", [1], shared_data / "mne_data", download=False)
    assert dataset.subject_list == [1]
    X, y, meta = LeftRightImagery().get_data(dataset, subjects=[1])
    assert X.shape[:2] == (45, 64) and set(y) == {"left_hand", "right_hand"}


@pytest.mark.realdata
def test_kalunga2016_subjects_1_2(shared_data, offline_home):
    from moabb.paradigms import SSVEP

    dataset = load_dataset("kalunga2016", [1, 2], shared_data / "mne_data", download=False)
    X, y, meta = SSVEP(n_classes=3).get_data(dataset, subjects=[1, 2])
    assert X.shape[1] == 8 and set(meta.subject.astype(int)) == {1, 2}
    assert len(set(y)) == 3


@pytest.mark.realdata
def test_abide_cc200_ohsu(shared_data, no_network):
    series = load_dataset("abide_pcp", ["OHSU"], shared_data / "nilearn_data", download=False)
    assert len(series) == 26 and series.n_regions == 200
    assert set(series.sites) == {"OHSU"}


@pytest.mark.realdata
def test_bonn_and_dog_1(shared_data, no_network):
    bonn = load_dataset("bonn", None, shared_data, download=False)
    assert bonn.X.shape == (500, 1, 4097) and bonn.y.sum() == 100
    clips = load_dataset("upenn_mayo", ["Dog_1"], shared_data, download=False)["Dog_1"]
    assert clips.X.shape == (378, 16, 400) and abs(clips.sfreq - 399.61) < 0.01
    assert clips.y.sum() == 178 and clips.group.max() == 4


@pytest.mark.realdata
def test_present_files_are_not_fetched_again(shared_data, no_network):
    files = fetch_dataset("physionetmi", 1, shared_data / "mne_data", download=True)
    assert files[0].name == "S001R04.edf" and len(files) == 6


@pytest.mark.network
def test_network_fetch_bnci_subject_1(tmp_path):
    files = fetch_dataset("bnci2014_001", [1], tmp_path, verbose=0)
    assert [f.name for f in files] == ["A01T.mat", "A01E.mat"]


@pytest.mark.realdata
@pytest.mark.parametrize("provider", ["auto", "nemar"])
def test_moabb_load_makes_no_network_call_whatever_the_provider(shared_data, offline_home,
                                                                monkeypatch, provider):
    # MOABB tries its NEMAR mirror first unless pinned to "upstream"; the returned
    # dataset reads the upstream files under path= whatever the user's setting.
    from moabb.paradigms import LeftRightImagery

    monkeypatch.setenv("MOABB_DOWNLOAD_PROVIDER", provider)
    dataset = load_dataset("physionetmi", [1], shared_data / "mne_data", download=False)
    X, _, _ = LeftRightImagery().get_data(dataset, subjects=[1])
    assert X.shape[:2] == (45, 64)


def test_only_subjects_with_missing_files_are_downloaded(tmp_path, monkeypatch):
    import neuroattn.datasets._fetch as fetch

    present = fetch.expected_files(dataset_card("physionetmi"), [1], tmp_path)
    for path, _ in present:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    asked = []

    def fake_download(card, subjects, root, options, verbose):
        asked.append(list(subjects))
        for path, _ in fetch.expected_files(card, subjects, root, options):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")

    monkeypatch.setattr(fetch, "_download", fake_download)
    fetch_dataset("physionetmi", [1, 2], tmp_path)
    assert asked == [[2]]


def test_a_read_only_cache_is_never_written_even_by_root(tmp_path, no_network):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(ValueError, match="not writable"):
            fetch_dataset("physionetmi", [1], ro)
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_physionet_recordings_named_by_a_summary_are_required(tmp_path, no_network):
    # Without SHA256SUMS.txt the summary is the list of recordings: a missing EDF is
    # reported, not "everything present".
    import neuroattn.datasets._fetch as fetch

    card = dataset_card("chbmit")
    summary = fetch._physionet_dir(card, tmp_path) / "chb01" / "chb01-summary.txt"
    summary.parent.mkdir(parents=True)
    summary.write_text("File Name: chb01_01.edf\nFile Start Time: 11:42:54\n"
                       "File End Time: 12:42:54\nNumber of Seizures in File: 0\n")
    with pytest.raises(ValueError, match=r"chb01_01\.edf.*missing"):
        fetch_dataset("chbmit", ["chb01"], tmp_path, download=False)
    (summary.parent / "chb01_01.edf").write_bytes(b"")
    files = fetch_dataset("chbmit", ["chb01"], tmp_path, download=False)
    assert sorted(f.name for f in files) == ["chb01-summary.txt", "chb01_01.edf"]
