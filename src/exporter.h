/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exporter: the BPF object, the traced processes and the rendering.
 *
 * Processes come from --pid (exporter__attach) or from discovery (exporter__discover, which
 * finds every process mapping an object with ccproxy probes). exporter__maintain notices
 * exits, detaches what no live process uses and deletes the map entries of exited processes
 * (a scrape only reads the maps); detaching is slow by nature (uprobe removal waits for RCU),
 * so it runs on the maintenance thread. Attaching, discovering and maintaining take turns
 * with each other, never with a scrape: a scrape waits only for other scrapes, for
 * bookkeeping that takes microseconds and for the deletion (milliseconds). Scrapes may come
 * from several HTTP threads at once; each renders from its own snapshot.
 */
#ifndef CCPROXY_EXPORTER_H
#define CCPROXY_EXPORTER_H

#include <stddef.h>
#include <sys/types.h>
#include "config.h"
#include "nhist.h"
#include "render_sink.h"
#include "strbuf.h"

struct exporter;

/* Loads the BPF programs configured by cfg (borrowed; must outlive the exporter). NULL+errno. */
struct exporter *exporter__new(const struct config *cfg);
/*
 * Attaches to pid. -ESRCH (no such process), -ENOENT (no ccproxy probes in it), -EACCES or
 * -EPERM, or a libbpf error; why then names the object or probe at fault.
 */
int exporter__attach(struct exporter *ex, pid_t pid, char *why, size_t whylen);
/* Scans /proc once and attaches every new matching process with probes. Logs what it does. */
void exporter__discover(struct exporter *ex);
/* Notices exited processes, releases what they held and deletes their map entries. */
void exporter__maintain(struct exporter *ex);
/* Appends the whole exposition as text 0.0.4. 0 or a negative errno. Thread-safe. */
int exporter__scrape(struct exporter *ex, struct strbuf *out);
/* The whole exposition into sink (histograms with their native buckets, if on). */
int exporter__scrape_to(struct exporter *ex, const struct render_sink *sink);
/* The native histograms' parameters, or NULL when they are off. */
const struct nhist_params *exporter__native(const struct exporter *ex);
/* Appends the health JSON. Thread-safe. */
int exporter__health(struct exporter *ex, struct strbuf *out);
/* Detaches everything and unloads. NULL-safe. */
void exporter__free(struct exporter *ex);

#endif /* CCPROXY_EXPORTER_H */
