/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exporter: the BPF object, the attached processes and the rendering, behind one lock.
 * Scrapes may come from several HTTP threads at once; each renders from its own snapshot.
 */
#ifndef CCPROXY_EXPORTER_H
#define CCPROXY_EXPORTER_H

#include <stddef.h>
#include <sys/types.h>
#include "config.h"
#include "strbuf.h"

struct exporter;

/* Loads the BPF programs configured by cfg (borrowed; must outlive the exporter). NULL+errno. */
struct exporter *exporter__new(const struct config *cfg);
/* Attaches to pid; see target__attach for the errors; why names the object or probe. */
int exporter__attach(struct exporter *ex, pid_t pid, char *why, size_t whylen);
/* Appends the whole exposition. 0 or a negative errno. Thread-safe. */
int exporter__scrape(struct exporter *ex, struct strbuf *out);
/* Appends the health JSON. Thread-safe. */
int exporter__health(struct exporter *ex, struct strbuf *out);
/* Detaches everything and unloads. NULL-safe. */
void exporter__free(struct exporter *ex);

#endif /* CCPROXY_EXPORTER_H */
