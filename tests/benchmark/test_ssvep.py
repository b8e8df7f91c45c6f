"""SSVEP in the MOABB benchmark: pipelines by paradigm, labels MOABB's SSVEP classifiers
need, filter-bank bands, the Kalunga2016 duplicate recording, and real-data scores."""

import numpy as np
import pandas as pd
import pytest

from neuroattn.benchmark import (
    default_pipelines,
    list_pipelines,
    load_pipelines,
    pipeline_paradigms,
    run,
)
from neuroattn.benchmark._ssvep import duplicate_notes, job_paradigms, reads_frequencies
from neuroattn.cli import main
from neuroattn.data.moabb import (
    FilterBankSSVEPAllBands,
    LeaveOneSubjectOutWithoutDuplicates,
    get_paradigm,
    recording_ids,
    stimulus_frequencies,
)

CLASSICAL = ("CCA", "TRCA", "MsetCCA", "FB-TS+LR")


def test_ssvep_pipelines_are_picked_by_paradigm():
    assert set(CLASSICAL) <= set(list_pipelines())
    declared = pipeline_paradigms()
    assert declared["CCA"] == ["SSVEP"] and declared["FB-TS+LR"] == ["FilterBankSSVEP"]
    ssvep = default_pipelines("ssvep")
    assert set(CLASSICAL) <= set(ssvep)
    assert not {"CSP+LDA", "TS+LR", "CAN-SE"} & set(ssvep)
    assert default_pipelines("left_right") == ("CSP+LDA", "TS+LR", "CAN-SE")
    assert default_pipelines("filter_bank_ssvep") == ssvep
    pipes = load_pipelines(names=list(CLASSICAL))
    assert reads_frequencies(pipes["CCA"]) and reads_frequencies(pipes["TRCA"])
    assert not reads_frequencies(pipes["MsetCCA"]) and not reads_frequencies(pipes["FB-TS+LR"])


def test_each_pipeline_runs_on_the_ssvep_paradigm_it_declares():
    pipes = load_pipelines(names=list(CLASSICAL))
    kwargs = {"events": ["13", "17", "21"], "n_classes": 3, "tmax": 1.0, "fmin": 8.0}
    paras = job_paradigms(pipes, pipeline_paradigms(), "ssvep", kwargs)
    assert type(paras["CCA"]).__name__ == "SSVEP" and paras["CCA"].tmax == 1.0
    assert isinstance(paras["FB-TS+LR"], FilterBankSSVEPAllBands)
    assert paras["FB-TS+LR"].tmax == 1.0 and paras["FB-TS+LR"].events == kwargs["events"]
    assert paras["CCA"] is paras["TRCA"]  # one instance per paradigm
    # asked for the filter bank: CCA still gets the plain SSVEP epochs
    paras = job_paradigms(pipes, pipeline_paradigms(), "filter_bank_ssvep",
                          {"n_classes": 3})
    assert type(paras["CCA"]).__name__ == "SSVEP"


def test_get_paradigm_ssvep_names_and_bad_keywords():
    assert type(get_paradigm("ssvep", n_classes=3)).__name__ == "SSVEP"
    with pytest.raises(ValueError, match="not parameters of the 'filter_bank_ssvep'"):
        get_paradigm("filter_bank_ssvep", fmin=5)
    with pytest.raises(ValueError, match="fmin .* must be below fmax"):
        get_paradigm("ssvep", fmin=30, fmax=20)


def test_stimulus_frequencies():
    assert stimulus_frequencies(["13", "8.6", "rest", "-1"]) == {
        "13": 13.0, "8.6": 8.6, "rest": None, "-1": None}


def _metadata():
    rows = [(s, "0", r) for s in (1, 3, 7) for r in ("0", "1") for _ in range(3)]
    return pd.DataFrame(rows, columns=["subject", "session", "run"])


def test_leave_one_subject_out_drops_the_duplicate_from_training():
    meta = _metadata()
    ids = recording_ids(meta, "Kalunga2016")
    assert (ids[(meta.subject == 7) & (meta.run == "0")] == "3/0/1").all()
    cv = LeaveOneSubjectOutWithoutDuplicates(subject=meta.subject, recording=ids)
    folds = {int(meta.subject[test[0]]): (train, test) for train, test in cv.split(meta)}
    assert cv.get_n_splits(meta) == 3
    for tested, dropped in ((3, (7, "0")), (7, (3, "1"))):
        train, _ = folds[tested]
        trained = set(zip(meta.subject[train], meta.run[train]))
        assert dropped not in trained  # the copy of a test recording
        assert len(train) == 6 + 3  # subject 1, and the other run of the other subject
    train, _ = folds[1]
    assert len(train) == 12  # no test recording copied: plain leave-one-subject-out
    plain = LeaveOneSubjectOutWithoutDuplicates(subject=meta.subject)
    assert all(len(tr) == 12 for tr, _ in plain.split(meta))
    with pytest.raises(ValueError, match="at least 2 subjects"):
        next(LeaveOneSubjectOutWithoutDuplicates(subject=[1, 1]).split(np.zeros(2)))
    with pytest.raises(ValueError, match="recording has 2 entries, X has 3"):
        next(LeaveOneSubjectOutWithoutDuplicates(subject=[1, 2, 2],
                                                 recording=["a", "b"]).split(np.zeros(3)))


def test_duplicate_notes_only_for_cross_subject():
    from moabb.datasets import Kalunga2016

    ds = Kalunga2016()
    ds.subject_list = [1, 3, 7]
    notes = duplicate_notes([ds], "cross_subject", True)
    assert set(notes) == {("Kalunga2016", 3), ("Kalunga2016", 7)}
    assert "dropped from training" in notes[("Kalunga2016", 3)]
    assert "NOT dropped" in duplicate_notes([ds], "cross_subject", False)[("Kalunga2016", 7)]
    assert duplicate_notes([ds], "within_session", True) == {}
    ds.subject_list = [1, 3]
    assert duplicate_notes([ds], "cross_subject", True) == {}


# --- real recordings (Kalunga2016 through MOABB, offline) ----------------------------

@pytest.fixture
def kalunga_env(shared_data, tmp_path, monkeypatch):
    if not (shared_data / "mne_data" / "MNE-ssvepexo-data").is_dir():
        pytest.skip("Kalunga2016 (MNE-ssvepexo-data) not in the shared recordings")
    monkeypatch.setenv("MNE_DATA", str(shared_data / "mne_data"))
    monkeypatch.setenv("MOABB_DOWNLOAD_PROVIDER", "upstream")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()


@pytest.mark.realdata
def test_cli_ssvep_kalunga_scores_above_chance(kalunga_env, tmp_path, capsys):
    """CCA (training-free) and filter-bank tangent space well above chance (1/3) on
    1-s windows; through MOABB's own evaluation labels they scored 0.33-0.37 / 0.54."""
    out = tmp_path / "out"
    code = main(["benchmark", "--paradigm", "ssvep", "--datasets", "Kalunga2016",
                 "--subjects", "1", "3", "--pipelines", "CCA", "FB-TS+LR",
                 "--tmax", "1", "--out", str(out), "-q"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "CCA" in printed and "FB-TS+LR" in printed and "rest" in printed
    res = pd.read_csv(out / "results.csv")
    scores = res.groupby(["pipeline", "subject"])["score"].mean()
    assert scores["CCA"].mean() > 0.6 and scores["FB-TS+LR"].mean() > 0.6, scores
    assert scores["CCA"][3] > 0.8, scores


@pytest.mark.realdata
def test_frequency_pipelines_refuse_a_class_without_frequency(kalunga_env):
    with pytest.raises(ValueError, match=r"\['CCA'\] take each class's stimulus frequency"
                                         r".*'rest'"):
        run(["CCA"], ["Kalunga2016"], paradigm="ssvep", subjects=[1],
            paradigm_kwargs={"n_classes": 4}, verbose=0)
