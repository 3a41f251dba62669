# SPDX-License-Identifier: BSD-2-Clause
"""The _usdt extension, built from its C source and the probe ABI header (include/)."""
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ccproxy_usdt._usdt",
            sources=["ccproxy_usdt/_usdt.c"],
            include_dirs=["include"],
            # PC-relative semaphore loads (no interposition), hidden symbols but PyInit.
            extra_compile_args=["-fvisibility=hidden", "-fno-semantic-interposition",
                                "-fno-strict-aliasing", "-Wall", "-Wextra", "-Werror"],
        )
    ],
)
