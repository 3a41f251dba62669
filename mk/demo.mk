# SPDX-License-Identifier: BSD-2-Clause
# `make demo`: fake upstream, demo proxy, traffic and the exporter; Ctrl-C stops it all.
.PHONY: demo demo-test

demo:
	$(Q)OUTPUT=$(OUTPUT) scripts/demo.sh

demo-test: all python
	$(Q)$(PYTHON) -m pytest -q tests/integration/test_python_probes.py \
		tests/integration/test_demo_e2e.py
