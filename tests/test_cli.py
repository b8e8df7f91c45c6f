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
