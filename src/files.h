/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * files: opening the files an operator names (web config, certificates, keys, CA bundles,
 * the push password) without ever blocking. A FIFO or a device opened for reading can block
 * in open(2) until a writer appears, before any signal is handled: such a path is refused.
 */
#ifndef CCPROXY_FILES_H
#define CCPROXY_FILES_H

/* A descriptor open for reading on the regular file path, or -EINVAL if path is anything else
 * (FIFO, device, directory, socket), or another negative errno (-ENOENT, -EACCES...). */
int files__open_regular(const char *path);
/* 0 if path is a regular file that can be opened for reading, else as files__open_regular. */
int files__check_regular(const char *path);
/* The reason for a negative errno returned above: "not a regular file" for -EINVAL. */
const char *files__strerror(int err);

#endif /* CCPROXY_FILES_H */
