"""The checklist enforcer and the svend-tools command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from svend.tools.cli import main
from tests.tools.checks import fails, ok

VAT_ITEMS = ["parties_identified", "jurisdictions_identified", "b2b_or_b2c", "supply_classified", "exemptions_checked",
             "thresholds_verified", "reverse_charge_assessed", "place_of_supply_determined"]


def test_vat_checklist_missing_items(registry):
    result = ok(registry.call("checklist_check", {"checklist": "vat", "known": {
        "parties_identified": "ACME GmbH (DE) sells to Bob", "b2b_or_b2c": "B2C", "exemptions_checked": None}}))
    assert result["complete"] is False and result["done"] == ["parties_identified", "b2b_or_b2c"]
    assert [m["id"] for m in result["missing"]] == [i for i in VAT_ITEMS if i not in result["done"]]
    assert all(m["question"].endswith("?") for m in result["missing"])


def test_vat_checklist_complete(registry):
    result = ok(registry.call("checklist_check", {"checklist": "vat", "known": {i: "known" for i in VAT_ITEMS}}))
    assert result == {"checklist": "vat", "complete": True, "missing": [], "done": VAT_ITEMS}


def test_checklist_errors(registry):
    fails(registry.call("checklist_check", {"checklist": "gdpr", "known": {}}), "invalid_arguments")
    fails(registry.call("checklist_check", {"checklist": "vat", "known": {"colour": "red"}}), "invalid_arguments")


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["--isolation", "none", *argv])
    return code, capsys.readouterr().out


def test_cli_list(capsys):
    code, out = run(capsys, "list")
    assert code == 0 and "calculator: Evaluate arithmetic" in out and "math_solve" in out
    code, out = run(capsys, "list", "--json", "--family", "chemistry")
    tools = json.loads(out)
    assert code == 0 and {t["function"]["name"] for t in tools} >= {"chem_balance", "chem_molar_mass"}
    assert all(t["function"]["name"].startswith("chem_") for t in tools)


@pytest.mark.parametrize("argv, status, key", [
    (["call", "calculator", '{"expression": "987654321 * 123456789"}'], 0, "result"),
    (["call", "calculator", '{"expression": "1/0"}'], 1, "error"),
    (["call", "calculator", '{"expression": 5}'], 1, "error"),
    (["call", "nope", "{}"], 2, "error"),
    (["call", "calculator", "{not json"], 2, "error"),
    (["call", "calculator", "[1]"], 2, "error"),
])
def test_cli_call_status(capsys, argv, status, key):
    code, out = run(capsys, *argv)
    assert code == status and key in json.loads(out)


def test_cli_bad_usage_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


@pytest.mark.slow
def test_console_script_end_to_end():
    done = subprocess.run([sys.executable, "-m", "svend.tools.cli", "call", "chem_molar_mass", '{"formula": "H2O"}'],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout)["molar_mass_g_per_mol"] == pytest.approx(18.015)
