# SPDX-License-Identifier: BSD-2-Clause
"""prometheus/: rules pass promtool's checks and unit tests, the scrape config is valid."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "prometheus" / "rules" / "ccproxy.rules.yml"
RULE_TESTS = ROOT / "prometheus" / "rules" / "ccproxy.rules.test.yml"
CONFIG = ROOT / "prometheus" / "prometheus.yml"
ALERTS = [
    "CCProxyDown", "CCProxyHighErrorRate", "CCProxyHighLatencyP95",
    "CCProxyHighTimeToFirstTokenP95", "CCProxyProviderRateLimited", "CCProxyCostBurnHigh",
    "CCProxyExporterDroppingEvents", "CCProxyExporterMapNearCapacity",
]

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
pytestmark = pytest.mark.skipif(not Path(PROMTOOL).exists(),
                                reason="promtool not installed (Debian package prometheus)")


def promtool(*args):
    r = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60,
                       cwd=ROOT)
    return r.returncode, r.stdout + r.stderr


def test_check_rules():
    rc, out = promtool("check", "rules", str(RULES))
    assert rc == 0, out
    assert "SUCCESS" in out


def test_rule_unit_tests():
    rc, out = promtool("test", "rules", str(RULE_TESTS))
    assert rc == 0, out
    assert "SUCCESS" in out


def test_check_config():
    rc, out = promtool("check", "config", str(CONFIG))
    assert rc == 0, out


def test_every_alert_tested_firing_and_silent():
    """promtool passes a test file that never mentions an alert; make sure none is missed."""
    rules = RULES.read_text()
    tests = RULE_TESTS.read_text()
    assert sorted(set(re.findall(r"- alert: (\w+)", rules))) == sorted(ALERTS)
    for alert in ALERTS:
        blocks = re.findall(rf"alertname: {alert}\n\s+exp_alerts:(.*?)(?=\n\s+- eval_time|\n\s+- name|\Z)",
                            tests, re.S)
        assert any(b.strip().startswith("[]") for b in blocks), f"{alert}: no silent case"
        assert any("exp_labels" in b for b in blocks), f"{alert}: no firing case"


def test_alerts_have_severity_and_annotations():
    rules = RULES.read_text()
    for block in re.split(r"\n\s+- alert: ", rules)[1:]:
        name = block.split("\n", 1)[0]
        assert re.search(r"severity: (critical|warning|info)", block), name
        assert "summary:" in block and "description:" in block, name
