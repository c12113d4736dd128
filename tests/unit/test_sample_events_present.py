"""Every function has sample events that ``sam local invoke -e`` accepts, and the packaging test
runs the built function on them: a function added without them fails here the day it is added."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.aws import load_template

REPO = Path(__file__).resolve().parents[2]


def _functions() -> dict[str, str]:
    """Logical id → the folder under functions/ (its CodeUri)."""
    resources = load_template()["Resources"]
    return {
        name: Path(str(spec["Properties"]["CodeUri"])).name
        for name, spec in resources.items()
        if spec.get("Type") == "AWS::Serverless::Function"
    }


def test_every_function_has_json_sample_events() -> None:
    functions = _functions()
    assert len(functions) >= 17
    for name, folder in functions.items():
        samples = sorted((REPO / "events" / folder).glob("*.json"))
        assert samples, f"{name}: no sample event in events/{folder}/"
        for sample in samples:
            assert isinstance(json.loads(sample.read_text()), dict), sample


def test_the_packaging_test_runs_every_built_function_on_its_samples() -> None:
    packaging = (REPO / "tests/packaging/test_packaging.py").read_text()
    for name, folder in _functions().items():
        assert f'"{name}"' in packaging, f"the packaging test never invokes {name}"
        assert f'events / "{folder}/' in packaging, f"the packaging test never reads events/{folder}/"
