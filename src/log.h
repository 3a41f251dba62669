/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log: level-gated messages to stderr, one line each. A message below the current level
 * evaluates none of its arguments. Only main and the serving loops log; library-like modules
 * return errors instead.
 */
#ifndef CCPROXY_LOG_H
#define CCPROXY_LOG_H

/* --log.level; a message is written when its level is at least the current one. */
enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

extern enum log_level log__level;

void log__set_level(enum log_level level);
void log__write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Routes libbpf's messages through log__write (its debug output only at --log.level=debug). */
void log__setup_libbpf(void);

#define log_at(lvl, ...)                                                                           \
	do {                                                                                       \
		if ((lvl) >= log__level)                                                           \
			log__write((lvl), __VA_ARGS__);                                            \
	} while (0)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif /* CCPROXY_LOG_H */
