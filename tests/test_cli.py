import argparse
import subprocess
import sys

import pytest

import neuroattn
from neuroattn.cli import build_parser, main


def test_help_lists_subcommands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "models" in out
    for action in build_parser()._subparsers._group_actions:
        for name in action.choices:
            assert name in out


def test_version():
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0


def test_models_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in neuroattn.list_models():
        assert name in out
    assert main(["models", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| name")
    assert main(["models", "--attention"]) == 0
    assert "gated_multihead" in capsys.readouterr().out


def test_models_filter_and_error(capsys):
    assert main(["models", "--task", "classification"]) == 0
    assert "eeg_transformer" in capsys.readouterr().out
    assert main(["models", "--task", "astrology"]) == 2
    assert "No model for task='astrology'" in capsys.readouterr().err


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "neuroattn.cli", "--version"],
                         capture_output=True, text=True, check=True).stdout
    assert neuroattn.__version__ in out


# --- one dialect for every subcommand (docs/design.md, "Command line") ---------------

#: Spellings of the same ideas that the CLI does not use (the left-hand side of the
#: glossary): epochs, heads, output, verbosity, seeds, devices, threads.
DIALECT = {"--epochs", "--n-epochs", "--num-epochs", "--nb-epochs", "--heads",
           "--num-heads", "--nheads", "--output", "--output-dir", "--outdir", "--out-dir",
           "--output-folder", "--random-state", "--random-seed", "--gpu", "--cuda",
           "--n-threads", "--num-threads", "--jobs", "--silent"}
#: Commands that fit a model: each has --max-epochs, --device, --threads and --seed.
TRAINING = {"demo", "benchmark", "fmri", "encoding", "seizure train"}
#: Commands that write files: each names its output with --out.
WRITING = {"benchmark", "fmri", "encoding", "seizure simulate", "seizure window",
           "seizure train"}
#: Commands without -v/--quiet: `models` prints a table and nothing else.
NO_VERBOSITY = {"models"}


def _walk(parser, path=()):
    """``(command path, parser)`` of every leaf (sub)command."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path), parser
    for action in subs:
        for name, child in action.choices.items():
            yield from _walk(child, (*path, name))


def _dialect_problems(command: str, parser) -> list[str]:
    options = {s: a for a in parser._actions for s in a.option_strings}
    problems = [f"{command}: {s}" for s in options if s in DIALECT
                or (s.startswith("--") and "_" in s) or s.startswith("--module")]
    problems += [f"{command}: positional {a.dest!r} (use --out)" for a in parser._actions
                 if not a.option_strings and a.dest in {"out", "output", "output_dir",
                                                        "model_out", "outdir"}]
    if command not in NO_VERBOSITY:
        verbose, quiet = options.get("--verbose"), options.get("--quiet")
        if not isinstance(verbose, argparse._CountAction) or options.get("-v") is not verbose:
            problems.append(f"{command}: -v/--verbose must be an int count")
        if quiet is None or quiet.dest != "verbose" or quiet.const != 0:
            problems.append(f"{command}: --quiet must set verbose to 0")
    trains = command in TRAINING or "--lr" in options or "--max-epochs" in options
    for flag in ("--max-epochs", "--device", "--threads", "--seed"):
        if trains and flag not in options:
            problems.append(f"{command}: a training command without {flag}")
    if "--device" in options and options["--device"].default != "auto":
        problems.append(f"{command}: --device must default to 'auto'")
    if command in WRITING and "--out" not in options:
        problems.append(f"{command}: writes files but has no --out")
    return problems


def test_every_subcommand_speaks_one_dialect():
    commands = dict(_walk(build_parser()))
    assert set(commands) >= TRAINING | WRITING | NO_VERBOSITY, sorted(commands)
    assert "seizure monitor" in commands
    problems = [p for command, parser in commands.items()
                for p in _dialect_problems(command, parser)]
    assert not problems, problems


def test_dialect_check_catches_old_spellings():
    """The walker above fails on the dialect it is meant to refuse."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--n_jobs", type=int)
    parser.add_argument("--module__depth", type=int)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("output_dir")
    problems = " ".join(_dialect_problems("seizure train", parser))
    for word in ("--epochs", "--n_jobs", "--module__depth", "int count", "--quiet",
                 "'output_dir'", "without --device", "without --max-epochs", "no --out"):
        assert word in problems


@pytest.mark.parametrize("argv", [["demo", "--epochs", "1"], ["encoding", "--heads", "2"],
                                  ["benchmark", "--output-dir", "x"],
                                  ["seizure", "train", ".", "--out", "m", "--heads", "2"]])
def test_old_flag_spellings_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_verbosity_is_an_int_count():
    parser = build_parser()
    assert parser.parse_args(["demo"]).verbose == 0
    assert parser.parse_args(["demo", "-vv"]).verbose == 2
    assert parser.parse_args(["fmri", "--quiet"]).verbose == 0
    assert parser.parse_args(["fmri"]).verbose == 1
    with pytest.raises(SystemExit):
        parser.parse_args(["fmri", "-v", "--quiet"])


@pytest.mark.parametrize("argv, message", [
    (["demo", "--threads", "0"], "--threads: expected an integer >= 1, got 0"),
    (["demo", "--max-epochs", "-1"], "--max-epochs: expected an integer >= 1, got -1"),
    (["fmri", "--finetune-max-epochs", "0"], "expected an integer >= 1, got 0"),
    (["demo", "--device", "bogus"], "--device: expected auto, cpu, cuda or cuda:N"),
    (["encoding", "--device", "cuda:7"], "no such CUDA device"),
])
def test_bad_numbers_and_devices_are_refused_at_parse_time(argv, message, capsys):
    # argparse refuses them before any data is simulated or loaded.
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_file_errors_are_one_line(tmp_path, capsys):
    # A missing input file is refused by argparse, naming the argument.
    with pytest.raises(SystemExit) as exc:
        main(["seizure", "monitor", str(tmp_path / "missing.safetensors"),
              str(tmp_path / "chb01-summary.txt")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument model:" in err and "Traceback" not in err
    # A file that exists but cannot be read: one line from cli.main, exit 2.
    (tmp_path / "m.safetensors").write_bytes(b"garbage")
    (tmp_path / "chb01-summary.txt").write_text("x")
    assert main(["seizure", "monitor", str(tmp_path / "m.safetensors"),
                 str(tmp_path / "chb01-summary.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuroattn seizure monitor: error:") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "m.safetensors" in err


# --- matplotlib: the CLI picks Agg only without a display; the library never does ------

def _record_backend_calls(monkeypatch) -> list:
    import matplotlib

    calls = []
    monkeypatch.setattr(matplotlib, "use", lambda *a, **k: calls.append(a[0]))
    return calls


def test_cli_selects_agg_only_without_a_display(monkeypatch, capsys):
    calls = _record_backend_calls(monkeypatch)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["models"]) == 0
    assert calls == ["Agg"]
    monkeypatch.setenv("DISPLAY", ":0")
    assert main(["models"]) == 0
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setenv("MPLBACKEND", "svg")
    assert main(["models"]) == 0
    assert calls == ["Agg"]


def test_benchmark_device_and_max_epochs_reach_the_neural_steps():
    from neuroattn.commands.benchmark import _pipelines

    args = build_parser().parse_args(["benchmark", "--pipelines", "CAN-SE", "CSP+LDA",
                                      "--max-epochs", "3", "--device", "cpu"])
    pipes = _pipelines(args)
    neural = pipes["CAN-SE"].steps[-1][1]
    assert (neural.max_epochs, neural.device) == (3, "cpu")
    classical = pipes["CSP+LDA"].get_params()
    assert not [k for k in classical if k.endswith(("__max_epochs", "__device"))]
    kept = _pipelines(build_parser().parse_args(["benchmark", "--pipelines", "CAN-SE"]))
    assert kept["CAN-SE"].steps[-1][1].max_epochs == 30  # the YAML's value by default
