// SPDX-License-Identifier: BSD-2-Clause
/*
 * ccproxy_exporter: attaches to the ccproxy USDT probes of running proxies and serves their
 * metrics. main only wires modules together and turns errors into messages and exit codes.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "exporter.h"
#include "http.h"
#include "log.h"
#include "pusher.h"
#include "webconfig.h"

#define EXIT_USAGE 2

extern char **environ;

/* Set before the server starts, freed after it stops: the handlers only read it. */
static struct pusher *pusher;

/* /metrics and the pushed body alike: the exposition, then the push self-metrics. */
static int on_metrics(void *ctx, struct strbuf *out)
{
	int err = exporter__scrape(ctx, out);

	return err ? err : pusher__render_self(pusher, out);
}

static int on_health(void *ctx, struct strbuf *out)
{
	return exporter__health(ctx, out);
}

/* http copies the handlers; the exporter and web must outlive the server. */
static struct http_server *start_http(const struct config *cfg, struct exporter *ex,
				      const struct webconfig *web)
{
	const struct http_handlers handlers = {
		.metrics = on_metrics,
		.health = on_health,
		.ctx = ex,
	};
	const struct http_opts opts = {
		.listen_address = cfg->listen_address,
		.telemetry_path = cfg->telemetry_path,
		.metrics_enabled = cfg->enabled && cfg->metrics_endpoint_enabled,
		.max_connections = cfg->web_max_connections,
		.timeout_s = cfg->web_timeout,
		.web = web,
	};

	return http__start(&opts, &handlers);
}

static int parse_config(struct config *cfg, int argc, char **argv)
{
	char err[512] = "";
	int ret;

	config__defaults(cfg);
	ret = config__parse_env(cfg, environ, err, sizeof(err));
	if (!ret)
		ret = config__parse_args(cfg, argc, argv, err, sizeof(err));
	if (ret == 1) {
		if (cfg->show_version)
			printf("ccproxy_exporter %s (probe ABI %d)\n", CCPROXY_EXPORTER_VERSION,
			       CCPROXY_ABI_VERSION);
		else
			config__usage(stdout, argv[0]);
		return 1;
	}
	if (!ret)
		ret = config__validate(cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "ccproxy_exporter: %s\n", err);
		fprintf(stderr, "Try '%s --help'.\n", argv[0]);
	}
	return ret;
}

/* Before anything privileged happens: a bad file is reported at once. */
static int load_web_config(const struct config *cfg, struct webconfig *web)
{
	char msg[512];
	int err;

	if (!cfg->web_config_file[0])
		return 0;
	err = webconfig__load(web, cfg->web_config_file, msg, sizeof(msg));
	if (err)
		log_error("failed to load --web.config.file: %s", msg);
	else
		log_info("web config %s: tls=%s client_auth=%s basic_auth_users=%zu",
			 cfg->web_config_file, web->tls ? "on" : "off",
			 webconfig__client_auth_name(web->client_auth), web->nusers);
	return err;
}

static const char *load_hint(int err)
{
	if (err == EPERM || err == EACCES)
		return " (needs root, or CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH)";
	return "";
}

static const char *attach_reason(int err)
{
	switch (err) {
	case ESRCH:
		return "no such process";
	case ENOENT:
		return "no ccproxy probes in the process (is the probe module loaded?)";
	case EACCES:
	case EPERM:
		return "permission denied (needs root, or CAP_SYS_PTRACE and CAP_PERFMON)";
	default:
		return strerror(err);
	}
}

static int attach_all(struct exporter *ex, const struct config *cfg)
{
	char why[512];
	size_t i;
	int err;

	for (i = 0; i < cfg->npids; i++) {
		err = exporter__attach(ex, cfg->pids[i], why, sizeof(why));
		if (err) {
			log_error("failed to attach to pid %d%s%s: %s", (int)cfg->pids[i],
				  why[0] ? ", " : "", why, attach_reason(-err));
			return err;
		}
		log_info("attached to pid %d", (int)cfg->pids[i]);
	}
	return 0;
}

/* Prepared before the server serves, started once the processes are attached. */
static int new_pusher(const struct config *cfg, struct exporter *ex)
{
	char why[512];
	int err;

	if (!cfg->enabled || !cfg->pushgateway_enabled)
		return 0;
	pusher = pusher__new(cfg, on_metrics, ex, why, sizeof(why));
	if (!pusher) {
		err = -errno;
		log_error("%s: %s", why[0] ? why : "failed to set up pushing", strerror(-err));
		return err;
	}
	return 0;
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
	return sig;
}

int main(int argc, char **argv)
{
	struct http_server *srv = NULL;
	struct exporter *ex = NULL;
	struct webconfig web = {0};
	struct config cfg;
	sigset_t set;
	int err, sig;

	err = parse_config(&cfg, argc, argv);
	if (err)
		return err == 1 ? 0 : EXIT_USAGE;
	log__set_level(cfg.log_level);
	log__setup_libbpf();
	if (cfg.enabled && !cfg.npids) {
		fprintf(stderr, "ccproxy_exporter: no --pid given\nTry '%s --help'.\n", argv[0]);
		return EXIT_USAGE;
	}

	/* Signals go to sigwait in this thread only: block them before any thread starts. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	err = load_web_config(&cfg, &web);
	if (err)
		goto cleanup;
	ex = exporter__new(&cfg);
	if (!ex) {
		err = -errno;
		log_error("failed to load BPF programs: %s%s", strerror(-err), load_hint(-err));
		goto cleanup;
	}
	err = new_pusher(&cfg, ex);
	if (err)
		goto cleanup;
	/* Listen first: a port in use must fail before any process is touched. */
	srv = start_http(&cfg, ex, &web);
	if (!srv) {
		err = -errno;
		log_error("failed to listen on %s: %s", cfg.listen_address,
			  err == -EADDRINUSE ? "address already in use" : strerror(-err));
		goto cleanup;
	}
	if (cfg.enabled) {
		err = attach_all(ex, &cfg);
		if (err)
			goto cleanup;
	}
	err = pusher ? pusher__start(pusher) : 0;
	if (err) {
		log_error("failed to start pushing: %s", strerror(-err));
		goto cleanup;
	}
	log_info("listening on %s, metrics at %s", cfg.listen_address, cfg.telemetry_path);
	sig = wait_for_signal();
	log_info("received %s, detaching", strsignal(sig));
	err = 0;
cleanup:
	/* The last push renders through the exporter: before it goes. */
	pusher__stop(pusher);
	http__stop(srv);
	pusher__free(pusher);
	exporter__free(ex);
	webconfig__free(&web);
	return err ? 1 : 0;
}
