/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outfile: files other processes poll for (the ready pid, the truth) are written to PATH.tmp
 * and renamed, so that a reader never sees half of one.
 */
#ifndef LG_OUTFILE_H
#define LG_OUTFILE_H

#include <stdio.h>

/* Calls print(f, ctx) on PATH.tmp, then renames it to path. 0 or a negative errno. */
int outfile__write(const char *path, void (*print)(FILE *f, const void *ctx), const void *ctx);

#endif /* LG_OUTFILE_H */
