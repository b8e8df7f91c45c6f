import subprocess
import sys

import neuroattn


def test_data_layer_imports_without_torch():
    code = ("import sys, neuroattn, neuroattn.data, neuroattn.data.simulate; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_public_names_resolve_lazily():
    for name in neuroattn.__all__:
        assert getattr(neuroattn, name) is not None
    assert "NeuroClassifier" in dir(neuroattn)
