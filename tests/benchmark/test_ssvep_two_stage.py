"""Two-stage SSVEP pipelines in ``neuroattn benchmark`` within-session: the global stage
on the other subjects only (less a run that repeats the test subject's), then a copy
fine-tuned on each of MOABB's training folds of the test subject."""

from __future__ import annotations

import pytest
from sklearn.pipeline import make_pipeline

from neuroattn.benchmark._moabb_jobs import _evaluate_job
from neuroattn.benchmark._ssvep_two_stage import is_two_stage, two_stage_within_session
from neuroattn.estimators import SSVEPClassifier
from neuroattn.preprocessing import SubBandFilter

pytest.importorskip("moabb")


@pytest.fixture
def fake(monkeypatch):
    from moabb.datasets.fake import FakeDataset
    from moabb.paradigms import SSVEP

    dataset = FakeDataset(event_list=["13", "17", "21"], n_subjects=3, n_sessions=1,
                          n_runs=2, paradigm="ssvep", duration=30, n_events=12, sfreq=128,
                          code="FakeSSVEP", seed=0)
    return dataset, SSVEP(n_classes=3, fmin=5, fmax=45)


def _pipe(finetune=1):
    return make_pipeline(
        SubBandFilter([13.0, 17.0, 21.0], 2, sfreq=128.0, upper_edge=40.0,
                      window_seconds=1.0),
        SSVEPClassifier(max_epochs=1, finetune_max_epochs=finetune, batch_size=32,
                        device="cpu", random_state=0, model__n_filters=4))


def _spy(monkeypatch):
    seen = {"fit": [], "fine_tune": []}
    fit, tune = SSVEPClassifier.fit, SSVEPClassifier.fine_tune

    def spy_fit(self, X, y, groups=None):
        seen["fit"].append((len(X), groups))
        return fit(self, X, y, groups)

    def spy_tune(self, X, y, subject):
        seen["fine_tune"].append((len(X), subject))
        return tune(self, X, y, subject)

    monkeypatch.setattr(SSVEPClassifier, "fit", spy_fit)
    monkeypatch.setattr(SSVEPClassifier, "fine_tune", spy_tune)
    return seen


def test_is_two_stage():
    assert is_two_stage(_pipe(1)) and not is_two_stage(_pipe(0))
    assert not is_two_stage(make_pipeline(SubBandFilter([13.0, 17.0], sfreq=128.0)))


def test_global_stage_sees_only_the_other_subjects(fake, monkeypatch):
    dataset, paradigm = fake
    _, y, meta = paradigm.get_data(dataset, subjects=[1, 2, 3])
    per_subject = int((meta["subject"] == 2).sum())
    seen = _spy(monkeypatch)
    rows = _evaluate_job("within_session", paradigm, dataset, 2, "DNN-2stage", _pipe(),
                         random_state=0, n_jobs=1)
    assert len(rows) == 1 and rows[0]["subject"] == 2 and 0 <= rows[0]["score"] <= 1
    assert rows[0]["two_stage_subjects"] == [1, 3]
    # one global fit on subjects 1 and 3 (no groups: no fine-tuning of the others) ...
    assert seen["fit"] == [(len(y) - per_subject, None)]
    # ... then MOABB's 5 within-session folds of subject 2, each fine-tuned on 4/5
    assert [s for _, s in seen["fine_tune"]] == [2] * 5
    assert sum(n for n, _ in seen["fine_tune"]) == 4 * per_subject


def test_a_run_repeating_the_test_subjects_run_is_left_out(fake, monkeypatch):
    from neuroattn.data import moabb as nmoabb

    dataset, paradigm = fake
    # pretend subject 3's first run repeats subject 2's second
    monkeypatch.setitem(nmoabb.DUPLICATE_RUNS, dataset.code, {(3, "0", "0"): (2, "0", "1")})
    _, _, meta = paradigm.get_data(dataset, subjects=[1, 2, 3])
    seen = _spy(monkeypatch)
    two_stage_within_session(paradigm, dataset, 2, "DNN-2stage", _pipe(), 0)
    copy = ((meta["subject"] == 3) & (meta["run"].astype(str) == "0")).sum()
    assert seen["fit"][0][0] == (meta["subject"] != 2).sum() - copy


def test_without_fine_tuning_moabb_runs_the_job(fake, monkeypatch):
    dataset, paradigm = fake
    seen = _spy(monkeypatch)
    rows = _evaluate_job("within_session", paradigm, dataset, 2, "DNN", _pipe(0),
                         random_state=0, n_jobs=1)
    assert "two_stage_subjects" not in rows[0] and len(seen["fit"]) == 5  # MOABB's folds


def test_one_subject_is_refused(fake):
    dataset, paradigm = fake
    dataset.subject_list = [2]
    with pytest.raises(ValueError, match="other subjects"):
        two_stage_within_session(paradigm, dataset, 2, "DNN-2stage", _pipe(), 0)
    with pytest.raises(ValueError, match="not in the dataset"):
        two_stage_within_session(paradigm, dataset, 5, "DNN-2stage", _pipe(), 0)


@pytest.mark.realdata
@pytest.mark.slow
def test_kalunga_two_stage_is_two_stage_in_the_benchmark(shared_data, tmp_path, monkeypatch):
    """``neuroattn.benchmark.run`` on Kalunga2016 subjects 3 and 7 (7's first run repeats
    3's second): the two-stage rows come from the neuroattn evaluation."""
    from neuroattn.benchmark import load_pipelines, pipeline_paradigms, run

    if not (shared_data / "mne_data" / "MNE-ssvepexo-data").is_dir():
        pytest.skip("Kalunga2016 (MNE-ssvepexo-data) not in the shared recordings")
    monkeypatch.setenv("MNE_DATA", str(shared_data / "mne_data"))
    monkeypatch.setenv("MOABB_DOWNLOAD_PROVIDER", "upstream")
    monkeypatch.setenv("HOME", str(tmp_path))
    pipes = load_pipelines(names=["SSVEP-DNN-2stage"])
    pipes["SSVEP-DNN-2stage"][-1].set_params(max_epochs=2, finetune_max_epochs=1)
    seen = _spy(monkeypatch)
    result = run(pipes, ["Kalunga2016"], paradigm="ssvep", evaluation="within_session",
                 subjects=[3, 7], baseline=None, declared_paradigms=pipeline_paradigms(),
                 verbose=0)
    rows = result.results
    assert sorted(rows["subject"]) == [3, 7] and rows["score"].between(0, 1).all()
    # global stage of subject 3: subject 7's 3 runs less its copy of 3's run -> 2 runs
    # of 24 trials; of subject 7: subject 3's 2 runs less the original of 7's first -> 1
    assert [n for n, _ in seen["fit"]] == [48, 24]
    assert [s for _, s in seen["fine_tune"]] == [3] * 5 + [7] * 5


def test_crop_pipeline_fine_tunes_on_whole_trials_and_decides_on_the_first_crop(
        fake, monkeypatch):
    """Crop training inside the two-stage job: the global stage and every fine-tuning get
    the whole (2-s) sub-band trials, the network is built for the 1-s crop."""
    dataset, paradigm = fake
    pipe = _pipe()
    pipe.set_params(subbandfilter__window_seconds=2.0, ssvepclassifier__crop_seconds=1.0,
                    ssvepclassifier__sfreq=128.0,
                    ssvepclassifier__stim_freqs=[13.0, 17.0, 21.0])
    lengths = []
    tune = SSVEPClassifier.fine_tune

    def spy_tune(self, X, y, subject):
        lengths.append(X.shape[-1])
        out = tune(self, X, y, subject)
        lengths.append(self.n_times_)
        return out

    monkeypatch.setattr(SSVEPClassifier, "fine_tune", spy_tune)
    rows = two_stage_within_session(paradigm, dataset, 2, "DNN-2stage-crop", pipe, 0)
    assert 0 <= rows[0]["score"] <= 1
    assert lengths == [256, 128] * 5  # whole trials in, a network for 128 samples
