"""Bad input to the ``neuroattn`` command line, as a careless or adversarial user types it.

Every case runs :func:`neuroattn.cli.main` in-process and checks the exit code, that
stderr holds one clear line naming the file or flag, and that no traceback is shown;
destinations are refused before any work (the work is replaced by a function that fails
the test if it is reached).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from neuroattn._files import FolderLock
from neuroattn.cli import main


def _run(argv) -> int:
    """Exit code of ``neuroattn argv``, whether argparse exits or ``main`` returns."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code


def _one_error_line(err: str) -> str:
    """The single ``error:`` line of stderr; fails on a traceback or several errors."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


def _forbid(monkeypatch, target: str) -> None:
    """Make ``target`` (the expensive work) fail the test if it is ever called."""
    def work(*args, **kwargs):
        raise AssertionError(f"{target} ran before the bad input was refused")

    monkeypatch.setattr(target, work)


@pytest.fixture
def files(tmp_path):
    """A few real and bogus paths: an empty file, a file, a folder, a text summary."""
    (tmp_path / "empty.safetensors").write_bytes(b"")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file at all")
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "chb01-summary.txt").write_text("Data Sampling Rate: 256 Hz\n")
    (tmp_path / "feats.npy").write_bytes(b"")
    return tmp_path


# --- flags that take files or numbers: refused at parse time (argparse, exit 2) -------

PARSE_CASES = {
    "monitor: missing model": (["seizure", "monitor", "{t}/missing.safetensors",
                                "{t}/chb01-summary.txt"], "argument model", "does not exist"),
    "monitor: model is a folder": (["seizure", "monitor", "{t}/a-folder",
                                    "{t}/chb01-summary.txt"], "argument model", "is a folder"),
    "monitor: empty model file": (["seizure", "monitor", "{t}/empty.safetensors",
                                   "{t}/chb01-summary.txt"], "argument model", "is empty"),
    "monitor: missing summary": (["seizure", "monitor", "{t}/junk.safetensors",
                                  "{t}/none-summary.txt"], "argument summary",
                                 "does not exist"),
    "window: summary is a folder": (["seizure", "window", "{t}/a-folder", "--out", "{t}/w"],
                                     "argument summary", "is a folder"),
    "train: windows is a file": (["seizure", "train", "{t}/a-file", "--out", "{t}/m"],
                                 "argument windows", "expected a folder"),
    "train: windows missing": (["seizure", "train", "{t}/nowhere", "--out", "{t}/m"],
                               "argument windows", "does not exist"),
    "encoding: features missing": (["encoding", "--algonauts", "{t}/a-folder", "--features",
                                    "{t}/none.npy"], "argument --features", "does not exist"),
    "encoding: empty features": (["encoding", "--algonauts", "{t}/a-folder", "--features",
                                  "{t}/feats.npy"], "argument --features", "is empty"),
    "encoding: algonauts is a file": (["encoding", "--algonauts", "{t}/a-file"],
                                      "argument --algonauts", "expected a folder"),
    "window: l-freq above h-freq": (["seizure", "window", "{t}/chb01-summary.txt", "--out",
                                     "{t}/w", "--l-freq", "40", "--h-freq", "1"],
                                    "--l-freq", "below --h-freq"),
    "window: zero window": (["seizure", "window", "{t}/chb01-summary.txt", "--out", "{t}/w",
                             "--window", "0"], "argument --window", "> 0"),
    "window: negative sop": (["seizure", "window", "{t}/chb01-summary.txt", "--out", "{t}/w",
                              "--sop", "-5"], "argument --sop", "> 0"),
    "window: nan sph": (["seizure", "window", "{t}/chb01-summary.txt", "--out", "{t}/w",
                         "--sph", "nan"], "argument --sph", "finite"),
    "window: infinite h-freq": (["seizure", "window", "{t}/chb01-summary.txt", "--out",
                                 "{t}/w", "--h-freq", "inf"], "argument --h-freq", "finite"),
    "window: negative postictal": (["seizure", "window", "{t}/chb01-summary.txt", "--out",
                                    "{t}/w", "--postictal", "-1"], "argument --postictal",
                                   ">= 0"),
    "window: zero sfreq": (["seizure", "window", "{t}/chb01-summary.txt", "--out", "{t}/w",
                            "--sfreq", "0"], "argument --sfreq", "> 0"),
    "simulate: zero sfreq": (["seizure", "simulate", "--out", "{t}/s", "--sfreq", "0"],
                             "argument --sfreq", "> 0"),
    "simulate: no seizure": (["seizure", "simulate", "--out", "{t}/s", "--n-seizures", "0"],
                             "argument --n-seizures", ">= 1"),
    "simulate: negative interictal files": (["seizure", "simulate", "--out", "{t}/s",
                                             "--n-interictal-files", "-1"],
                                            "argument --n-interictal-files", ">= 0"),
    "train: nan lr": (["seizure", "train", "{t}/a-folder", "--out", "{t}/m", "--lr", "nan"],
                      "argument --lr", "finite"),
    "train: zero batch": (["seizure", "train", "{t}/a-folder", "--out", "{t}/m",
                           "--batch-size", "0"], "argument --batch-size", ">= 1"),
    "train: negative adversarial weight": (["seizure", "train", "{t}/a-folder", "--out",
                                            "{t}/m", "--adversarial-weight", "-1"],
                                           "argument --adversarial-weight", ">= 0"),
    "encoding: test fraction above 1": (["encoding", "--test-fraction", "1.5"],
                                        "argument --test-fraction", "(0, 1)"),
    "encoding: test fraction 0": (["encoding", "--test-fraction", "0"],
                                  "argument --test-fraction", "(0, 1)"),
    "encoding: zero images": (["encoding", "--n-images", "0"], "argument --n-images", ">= 1"),
    "encoding: negative lr": (["encoding", "--lr", "-0.1"], "argument --lr", "> 0"),
    "demo: zero trials": (["demo", "--n-trials", "0"], "argument --n-trials", ">= 1"),
}


@pytest.mark.parametrize("case", list(PARSE_CASES))
def test_bad_flags_are_refused_at_parse_time(case, files, capsys):
    argv, flag, expected = PARSE_CASES[case]
    assert _run([a.format(t=files) for a in argv]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert flag in line and expected in line, line


# --- destinations: checked before the work, existing results kept ---------------------

def test_train_unwritable_out_is_refused_before_training(files, monkeypatch, capsys):
    _forbid(monkeypatch, "neuroattn.data.seizure.load_windows")
    assert _run(["seizure", "train", files / "a-folder", "--out",
                 files / "a-file" / "m.safetensors"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("neuroattn seizure train: error: --out") and "a-file" in line


def test_train_out_folder_is_refused(files, monkeypatch, capsys):
    _forbid(monkeypatch, "neuroattn.data.seizure.load_windows")
    assert _run(["seizure", "train", files / "a-folder", "--out", files / "a-folder"]) == 2
    assert "is a folder" in _one_error_line(capsys.readouterr().err)


def test_train_checkpoint_file_is_refused_before_training(files, monkeypatch, capsys):
    _forbid(monkeypatch, "neuroattn.data.seizure.load_windows")
    assert _run(["seizure", "train", files / "a-folder", "--out", files / "m",
                 "--checkpoint", files / "a-file"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--checkpoint" in line and "is a file" in line


@pytest.mark.parametrize("name", ["m.safetensors", "m"])
def test_train_keeps_an_existing_model(name, files, monkeypatch, capsys):
    (files / "m.safetensors").write_bytes(b"previous model")
    _forbid(monkeypatch, "neuroattn.data.seizure.load_windows")
    assert _run(["seizure", "train", files / "a-folder", "--out", files / name]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "m.safetensors exists" in line and "--overwrite" in line
    assert (files / "m.safetensors").read_bytes() == b"previous model"


@pytest.mark.parametrize("flags, expected", [
    (["--json", "{t}/a-file/r.json"], "--json"),
    (["--json", "{t}/a-folder"], "--json"),
    (["--plot", "{t}/a-file"], "--plot"),
    (["--plot", "{t}/a-file/png"], "--plot"),
])
def test_monitor_outputs_are_checked_before_loading(flags, expected, files, monkeypatch,
                                                     capsys):
    _forbid(monkeypatch, "neuroattn.estimators.seizure.SeizureForecaster.load")
    assert _run(["seizure", "monitor", files / "junk.safetensors",
                 files / "chb01-summary.txt", *[f.format(t=files) for f in flags]]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("neuroattn seizure monitor: error: " + expected), line


def test_monitor_keeps_an_existing_report(files, monkeypatch, capsys):
    (files / "r.json").write_text("{}")
    _forbid(monkeypatch, "neuroattn.estimators.seizure.SeizureForecaster.load")
    assert _run(["seizure", "monitor", files / "junk.safetensors",
                 files / "chb01-summary.txt", "--json", files / "r.json"]) == 2
    assert "--overwrite" in _one_error_line(capsys.readouterr().err)
    assert (files / "r.json").read_text() == "{}"


def test_monitor_unreadable_model_is_one_line_naming_it(files, capsys):
    assert _run(["seizure", "monitor", files / "junk.safetensors",
                 files / "chb01-summary.txt"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("neuroattn seizure monitor: error:") and "junk.safetensors" in line


@pytest.mark.parametrize("out", ["{t}/a-file", "{t}/a-file/sub"])
def test_encoding_out_is_checked_before_the_work(out, files, monkeypatch, capsys):
    _forbid(monkeypatch, "neuroattn.data.simulate.simulate_encoding")
    assert _run(["encoding", "--out", out.format(t=files)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("neuroattn encoding: error: --out") and "a-file" in line


def test_encoding_keeps_previous_results(files, monkeypatch, capsys):
    out = files / "enc"
    out.mkdir()
    (out / "results.json").write_text('{"mean_r": 1}')
    _forbid(monkeypatch, "neuroattn.data.simulate.simulate_encoding")
    assert _run(["encoding", "--out", out]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "results.json" in line and "--overwrite" in line
    assert json.loads((out / "results.json").read_text()) == {"mean_r": 1}


def test_simulate_keeps_an_existing_subject(files, monkeypatch, capsys):
    (files / "sim" / "chb01").mkdir(parents=True)
    (files / "sim" / "chb01" / "chb01_01.edf").write_bytes(b"real recording")
    _forbid(monkeypatch, "neuroattn.data.simulate.simulate_seizure_recordings")
    assert _run(["seizure", "simulate", "--out", files / "sim"]) == 2
    assert "--overwrite" in _one_error_line(capsys.readouterr().err)
    assert (files / "sim" / "chb01" / "chb01_01.edf").read_bytes() == b"real recording"


def test_window_out_under_a_file_is_refused_before_reading(files, monkeypatch, capsys):
    _forbid(monkeypatch, "neuroattn.data.seizure.read_chbmit_summary")
    assert _run(["seizure", "window", files / "chb01-summary.txt", "--out",
                 files / "a-file" / "w"]) == 2
    assert "--out" in _one_error_line(capsys.readouterr().err)


# --- two runs, one output folder: the second is refused at once ---------------------

LOCKED = {
    "encoding": (["encoding", "--out", "{o}"], "neuroattn.data.simulate.simulate_encoding"),
    "window": (["seizure", "window", "{t}/chb01-summary.txt", "--out", "{o}"],
               "neuroattn.data.seizure.read_chbmit_summary"),
    "simulate": (["seizure", "simulate", "--out", "{o}"],
                 "neuroattn.data.simulate.simulate_seizure_recordings"),
    "monitor --plot": (["seizure", "monitor", "{t}/junk.safetensors", "{t}/chb01-summary.txt",
                        "--plot", "{o}"],
                       "neuroattn.estimators.seizure.SeizureForecaster.load"),
}


@pytest.mark.parametrize("case", list(LOCKED))
def test_a_second_run_on_a_locked_folder_is_refused(case, files, monkeypatch, capsys):
    argv, work = LOCKED[case]
    out = files / "busy"
    _forbid(monkeypatch, work)
    with FolderLock(out):  # another run holds it
        assert _run([a.format(t=files, o=out) for a in argv]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "in use by another neuroattn run" in line and str(out) in line


# --- Ctrl-C: nothing looks finished ----------------------------------------------------

def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def _fake_windows(*args, **kwargs):
    return SimpleNamespace(sop_seconds=900.0)


def _fake_recordings(*args, **kwargs):
    return [SimpleNamespace(path=Path("chb01_01.edf"), seizures=[])]


INTERRUPTED = {
    "seizure train": (["seizure", "train", "{t}/a-folder", "--out", "{t}/m.safetensors",
                       "--max-epochs", "1", "--device", "cpu"],
                      "neuroattn.estimators.seizure.SeizureForecaster.fit"),
    "seizure window": (["seizure", "window", "{t}/chb01-summary.txt", "--out", "{t}/w",
                        "--channels", "C3,C4"], "neuroattn.data.seizure.extract_windows"),
    "seizure monitor": (["seizure", "monitor", "{t}/junk.safetensors",
                         "{t}/chb01-summary.txt", "--json", "{t}/r.json", "--plot", "{t}/png"],
                        "neuroattn.estimators.seizure.SeizureForecaster.load"),
    "encoding": (["encoding", "--out", "{t}/enc", "--n-images", "24", "--max-epochs", "1"],
                 "neuroattn.benchmark.encoding.evaluate_encoding"),
    "seizure simulate": (["seizure", "simulate", "--out", "{t}/sim"],
                         "neuroattn.data.simulate.simulate_seizure_recordings"),
    "demo": (["demo", "--n-trials", "20", "--max-epochs", "1"],
             "neuroattn.estimators.NeuroClassifier.fit"),
}


@pytest.mark.parametrize("command", list(INTERRUPTED))
def test_ctrl_c_exits_130_and_saves_nothing(command, files, monkeypatch, capsys):
    argv, work = INTERRUPTED[command]
    monkeypatch.setattr(work, _interrupt)
    monkeypatch.setattr("neuroattn.data.seizure.load_windows", _fake_windows)
    monkeypatch.setattr("neuroattn.data.seizure.read_chbmit_summary", _fake_recordings)
    before = {p.name for p in files.rglob("*")}
    assert _run([a.format(t=files) for a in argv]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip() == f"neuroattn {command}: interrupted; nothing saved"
    after = {p.name for p in files.rglob("*")}
    assert after == before, sorted(after - before)  # no model, no partial output


# --- errors and bugs: one line, or a traceback that says it is a bug --------------------

def test_debug_flag_shows_the_traceback(files, capsys):
    argv = ["seizure", "monitor", files / "junk.safetensors", files / "chb01-summary.txt"]
    assert _run(["--debug", *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().splitlines()[-1].startswith("neuroattn seizure monitor: error:")


def test_debug_is_documented(capsys):
    assert _run(["--help"]) == 0
    assert "--debug" in capsys.readouterr().out


def test_a_bug_keeps_its_traceback_and_says_so(monkeypatch, capsys):
    def broken(*args, **kwargs):
        return np.zeros(3)[7]  # IndexError: a bug, not bad input

    monkeypatch.setattr("neuroattn.models.list_models", broken)
    assert _run(["models", "--task", "classification"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "IndexError" in err
    assert "this is a bug" in err.splitlines()[-1]


def _bad_json():
    return json.loads("{not json")


def _bad_yaml():
    import yaml

    return yaml.safe_load("name: [unclosed")


def _bad_safetensors(path):
    from safetensors.torch import load_file

    return load_file(path)


def _bad_npz(path):
    path.write_bytes(b"PK\x03\x04 truncated zip")  # an .npz cut short
    return np.load(path)["X"]


def _empty_npy(path):
    return np.load(path)


PARSER_ERRORS = {
    "json": (lambda t: _bad_json(), "Expecting property name"),
    "yaml": (lambda t: _bad_yaml(), "while parsing a flow sequence"),
    "safetensors": (lambda t: _bad_safetensors(t / "junk.safetensors"), "header"),
    "npz": (lambda t: _bad_npz(t / "labels.npz"), "not a zip file"),
    "empty npy": (lambda t: _empty_npy(t / "feats.npy"), "No data left in file"),
}


@pytest.mark.parametrize("parser", list(PARSER_ERRORS))
def test_file_parser_errors_are_one_line(parser, files, monkeypatch, capsys):
    """Errors of the file parsers (JSON, YAML, safetensors, numpy) are user errors: one
    line, exit 2, even when a reader lets one through unwrapped."""
    read, expected = PARSER_ERRORS[parser]
    monkeypatch.setattr("neuroattn.data.seizure.load_windows", lambda *a: read(files))
    assert _run(["seizure", "train", files / "a-folder", "--out", files / "m"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("neuroattn seizure train: error:") and expected in line, line


KEEPING = {
    "benchmark": (["benchmark", "--out", "{t}/bench", "--max-epochs", "1"],
                  "neuroattn.benchmark.run", "output_dir", "scores",
                  "1 finished jobs' scores are kept in"),
    "fmri": (["fmri", "--out", "{t}/fmri", "--max-epochs", "1", "--n-subjects", "12"],
             "neuroattn.benchmark.fmri.evaluate_fmri", "checkpoint_dir", None,
             "1 finished fold record(s) are kept in"),
}


@pytest.mark.parametrize("finished", [0, 1])
@pytest.mark.parametrize("command", list(KEEPING))
def test_ctrl_c_in_resumable_jobs_says_what_is_kept(command, finished, files, monkeypatch,
                                                    capsys):
    # benchmark and fmri keep every finished fold/job and continue from them on a rerun:
    # the line says how many were kept, or "nothing saved" when none had finished.
    argv, work, where, sub, kept = KEEPING[command]

    def interrupted(*args, **kwargs):
        folder = Path(kwargs[where]) / (sub or "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "run.json").write_text("{}")
        for k in range(finished):
            (folder / f"job{k}.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(work, interrupted)
    assert _run([a.format(t=files) for a in argv]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if not finished:
        assert err.strip() == f"neuroattn {command}: interrupted; nothing saved"
        return
    assert err.startswith(f"neuroattn {command}: interrupted; the {kept}")
    assert "the same command continues from them" in err


# --- destinations that are not regular files, flags that do nothing ------------------

def test_monitor_never_replaces_a_fifo_or_device(files, monkeypatch, capsys):
    import os
    import stat

    os.mkfifo(files / "pipe")
    _forbid(monkeypatch, "neuroattn.estimators.seizure.SeizureForecaster.load")
    assert _run(["seizure", "monitor", files / "junk.safetensors",
                 files / "chb01-summary.txt", "--json", files / "pipe", "--overwrite"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--json" in line and "named pipe" in line, line
    assert stat.S_ISFIFO(os.lstat(files / "pipe").st_mode)


@pytest.mark.parametrize("out", ["/dev/null", "{t}/pipe"])
def test_train_out_must_be_a_regular_file(out, files, monkeypatch, capsys):
    import os

    os.mkfifo(files / "pipe")
    _forbid(monkeypatch, "neuroattn.data.seizure.load_windows")
    out = out.format(t=files)
    assert _run(["seizure", "train", files / "a-folder", "--out", out]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--out" in line and out in line and "regular file" in line, line
    assert not os.path.exists(out + ".safetensors")


def test_window_refuses_duplicated_channels_before_reading(files, monkeypatch, capsys):
    _forbid(monkeypatch, "neuroattn.data.seizure.read_chbmit_summary")
    assert _run(["seizure", "window", files / "chb01-summary.txt", "--out", files / "w",
                 "--channels", "FP1-F7,F7-T7,fp1-f7"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--channels" in line and "FP1-F7" in line and "more than once" in line, line


@pytest.mark.parametrize("flags", [["--sites", "NYU"], ["--sites", "NYU", "UM_1"]])
def test_fmri_refuses_abide_flags_without_abide_dir(flags, files, monkeypatch, capsys):
    _forbid(monkeypatch, "neuroattn.data.simulate.fmri.simulate_fmri_rois")
    assert _run(["fmri", "--out", files / "f", *flags]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--sites" in line and "--abide-dir" in line, line


def test_finite_number_message_reads_well(files, capsys):
    assert _run(["encoding", "--test-fraction", "nan"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "expected a finite number in (0, 1), got 'nan'" in line, line


def test_ctrl_c_during_start_up_is_one_line(monkeypatch, capsys):
    # The command modules (torch, mne...) load in build_parser: seconds of start-up.
    monkeypatch.setattr("neuroattn.cli._command_modules", _interrupt)
    assert _run(["seizure", "--help"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "neuroattn: interrupted; nothing saved", err


@pytest.mark.parametrize("argv", [
    ["benchmark", "--fmin", "nan"], ["benchmark", "--n-classes", "0"],
    ["benchmark", "--n-jobs", "0"], ["benchmark", "--tmin", "inf"],
    ["fmri", "--n-subjects", "0"], ["fmri", "--embed-dim", "0"],
    ["fmri", "--max-segments", "0"], ["fmri", "--n-splits", "0"],
])
def test_benchmark_and_fmri_numbers_are_checked_at_parse_time(argv, capsys):
    assert _run(argv) == 2
    assert argv[1] in capsys.readouterr().err
