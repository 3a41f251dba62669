# SPDX-License-Identifier: BSD-2-Clause
# `make demo`: the real ccproxy, the fake upstream, traffic and the exporter; Ctrl-C stops it all.
.PHONY: demo demo-test

demo:
	$(Q)OUTPUT=$(OUTPUT) scripts/demo.sh

demo-test: all python
	$(Q)OUTPUT=$(OUTPUT) $(PYTHON) -m pytest -q -p no:cacheprovider \
		tests/integration/test_python_probes.py tests/integration/test_ccproxy_e2e.py
