/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * probe_notes: which ccproxy probes an ELF file carries, from its .note.stapsdt section
 * (the notes sys/sdt.h emits). Reads section headers and notes only, never code.
 * The notes are untrusted input: every length is checked against the section.
 */
#ifndef CCPROXY_PROBE_NOTES_H
#define CCPROXY_PROBE_NOTES_H

#include <stddef.h>
#include <stdint.h>
#include "../include/ccproxy/probes.h"

/*
 * Sets bit CCPROXY_PROBE_<name> in *mask for each provider "ccproxy" probe found in the ELF
 * image buf[0..len). 0 (mask may be 0: no ccproxy probes), or -ENOEXEC for a non-ELF or
 * malformed file.
 */
int probe_notes__scan_mem(const void *buf, size_t len, uint32_t *mask);
/* The same for a file. -errno of open/mmap, or as above. */
int probe_notes__scan_file(const char *path, uint32_t *mask);
/*
 * How many sites (notes) each ccproxy probe has, indexed by probe id: a probe is fully
 * attached only once each of its sites has its uprobe. Same returns as above.
 */
int probe_notes__sites_mem(const void *buf, size_t len, unsigned int sites[CCPROXY_PROBE_COUNT]);
int probe_notes__sites_file(const char *path, unsigned int sites[CCPROXY_PROBE_COUNT]);
/* The probe id of `name`, or -1. */
int probe_notes__probe_id(const char *name);
/* The name of probe `id` ("request_start", ...), or NULL. */
const char *probe_notes__name(int id);

#endif /* CCPROXY_PROBE_NOTES_H */
