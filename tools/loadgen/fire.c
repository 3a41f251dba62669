// SPDX-License-Identifier: BSD-2-Clause
/* The one translation unit that defines the probe semaphores. */
#define CCPROXY_PROBES_DEFINE
#include <errno.h>
#include <string.h>
#include <ccproxy/probes.h>

#include "fire.h"

static const char *const fire__names[CCPROXY_PROBE_COUNT] = {CCPROXY_PROBE_NAMES};

const char *fire__name(int id)
{
	if (id < 0 || id >= CCPROXY_PROBE_COUNT)
		return NULL;
	return fire__names[id];
}

int fire__lookup(const char *name)
{
	for (int id = 0; id < CCPROXY_PROBE_COUNT; id++)
		if (!strcmp(name, fire__names[id]))
			return id;
	return -ENOENT;
}

int fire__enabled(int id)
{
	switch (id) {
#define FIRE__ENABLED(name, type)  \
	case CCPROXY_PROBE_##name: \
		return CCPROXY_ENABLED(name);
		CCPROXY_PROBES(FIRE__ENABLED)
#undef FIRE__ENABLED
	}
	return 0;
}

unsigned int fire__semaphore(int id)
{
	switch (id) {
#define FIRE__SEMAPHORE(name, type) \
	case CCPROXY_PROBE_##name:  \
		return ccproxy_##name##_semaphore;
		CCPROXY_PROBES(FIRE__SEMAPHORE)
#undef FIRE__SEMAPHORE
	}
	return 0;
}

void fire__probe(int id, void *ev)
{
	switch (id) {
#define FIRE__CASE(name, type)                        \
	case CCPROXY_PROBE_##name:                    \
		if (CCPROXY_ENABLED(name)) {          \
			type *fire__ev = ev;          \
			CCPROXY_FIRE(name, fire__ev); \
		}                                     \
		break;
		CCPROXY_PROBES(FIRE__CASE)
#undef FIRE__CASE
	}
}

static inline void fire__set_id_event(struct ccproxy_event *ev, uint64_t id)
{
	ev->request_id = id;
}

static inline void fire__set_id_none(void *ev, uint64_t id)
{
	(void)ev;
	(void)id;
}

#define FIRE__SET_ID(ev, id)                   \
	_Generic((ev), struct ccproxy_event *  \
		 : fire__set_id_event, default \
		 : fire__set_id_none)(ev, id)

/* One tight loop per probe: the probe site must name the probe at compile time. */
#define FIRE__LOOP(name, type)                                                                  \
	static void fire__loop_##name(type *ev, uint64_t id_base, uint64_t id_mask, uint64_t n) \
	{                                                                                       \
		for (uint64_t i = 0; i < n; i++) {                                              \
			if (CCPROXY_ENABLED(name)) {                                            \
				FIRE__SET_ID(ev, id_base | (i & id_mask));                      \
				CCPROXY_FIRE(name, ev);                                         \
			}                                                                       \
		}                                                                               \
	}
CCPROXY_PROBES(FIRE__LOOP)
#undef FIRE__LOOP

void fire__loop(int id, void *ev, uint64_t id_base, uint64_t id_mask, uint64_t n)
{
	switch (id) {
#define FIRE__LOOP_CASE(name, type)                         \
	case CCPROXY_PROBE_##name:                          \
		fire__loop_##name(ev, id_base, id_mask, n); \
		break;
		CCPROXY_PROBES(FIRE__LOOP_CASE)
#undef FIRE__LOOP_CASE
	}
}
