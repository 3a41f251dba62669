// SPDX-License-Identifier: BSD-2-Clause
/*
 * ccproxy_exporter: attaches to the ccproxy USDT probes of running proxies and serves their
 * metrics. main only wires modules together and turns errors into messages and exit codes.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "exporter.h"
#include "format_sink.h"
#include "family.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "privs.h"
#include "pusher.h"
#include "ticker.h"
#include "webconfig.h"

#define EXIT_USAGE 2

extern char **environ;

/* Everything main owns; the HTTP and push callbacks get it as their context. */
struct app {
	struct config cfg;
	struct webconfig web;
	struct exporter *ex;
	struct pusher *pusher;
	int listen_fd;	      /* bound early, served from once privileges are dropped */
	unsigned int formats; /* NEGOTIATE_OFFER_*, from --web.formats */
	struct http_server *srv;
	struct ticker *ticker;
};

/* /metrics and the pushed body alike: the exposition, then the push self-metrics. */
static int on_metrics(void *ctx, enum negotiate_format fmt, struct strbuf *out)
{
	struct app *app = ctx;
	struct format_sink fs;
	int err;

	err = format_sink__open(&fs, fmt, out, exporter__native(app->ex),
				app->cfg.web_openmetrics_created_samples);
	if (!err)
		err = exporter__scrape_to(app->ex, &fs.sink);
	if (!err)
		err = pusher__render_self_to(app->pusher, &fs.sink);
	err = format_sink__close(&fs, err);
	return err ? err : out->err;
}

/* The pushed body is text 0.0.4, whatever a scrape negotiates. */
static int on_push(void *ctx, struct strbuf *out)
{
	return on_metrics(ctx, FMT_TEXT_0_0_4, out);
}

static int on_health(void *ctx, struct strbuf *out)
{
	return exporter__health(((struct app *)ctx)->ex, out);
}

/* Exits are noticed, and without --pid new processes found, once per interval. */
static void on_tick(void *ctx)
{
	struct app *app = ctx;

	exporter__maintain(app->ex);
	if (!app->cfg.npids)
		exporter__discover(app->ex);
}

/* http copies the handlers; the app must outlive the server. */
static struct http_server *start_http(struct app *app)
{
	const struct http_handlers handlers = {
		.metrics = on_metrics,
		.health = on_health,
		.ctx = app,
	};
	const struct http_opts opts = {
		.listen_address = app->cfg.listen_address,
		.listen_fd = app->listen_fd,
		.telemetry_path = app->cfg.telemetry_path,
		.metrics_enabled = app->cfg.enabled && app->cfg.metrics_endpoint_enabled,
		.formats = app->formats,
		.max_connections = app->cfg.web_max_connections,
		.timeout_s = app->cfg.web_timeout,
		.web = &app->web,
	};

	app->listen_fd = -1; /* http owns it now, whatever happens */
	return http__start(&opts, &handlers);
}

/* --print-families json: the family table as this configuration serves it. 1: exit 0. */
static int print_families(const struct config *cfg)
{
	const struct family_opts b = config__families(cfg);
	struct strbuf sb = STRBUF_INIT;
	int err;

	err = family__json(&sb, cfg->namespace_, &b);
	if (!err && fwrite(sb.buf, 1, sb.len, stdout) != sb.len)
		err = -EIO;
	strbuf__free(&sb);
	if (err) {
		fprintf(stderr, "ccproxy_exporter: --print-families: %s\n", strerror(-err));
		return 2;
	}
	return 1;
}

static int parse_config(struct config *cfg, int argc, char **argv)
{
	char err[512] = "";
	int ret;

	config__defaults(cfg);
	ret = config__parse(cfg, argc, argv, environ, err, sizeof(err));
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
	if (!ret && cfg->print_families[0])
		return print_families(cfg);
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

/* Before anything is loaded: elsewhere than on bpffs libbpf fails late, blaming the limits. */
static int check_pin_dir(const struct config *cfg)
{
	int err;

	if (!cfg->bpf_pin_path[0])
		return 0;
	err = loader__check_pin_dir(cfg->bpf_pin_path);
	if (err == -EMEDIUMTYPE)
		log_error("--bpf-pin-path %s: not on a bpf filesystem (mount one there, e.g. "
			  "mount -t bpf bpf /sys/fs/bpf)",
			  cfg->bpf_pin_path);
	else if (err)
		log_error("--bpf-pin-path %s: %s", cfg->bpf_pin_path,
			  err == -ENOENT ? "its parent directory does not exist" : strerror(-err));
	return err;
}

static const char *load_hint(int err, const struct config *cfg)
{
	if (err == EPERM || err == EACCES)
		return " (needs root, or CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)";
	if (cfg->bpf_pin_path[0] && err == EEXIST)
		return " (the maps pinned in --bpf-pin-path were written with other histogram "
		       "buckets, --limits.*, --per-process-labels or by another version of the "
		       "exporter, and --no-bpf-pin-path.reset-mismatched keeps them: remove the "
		       "directory to start over)";
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
		return "permission denied (needs root, or CAP_SYS_ADMIN, CAP_SYS_PTRACE and "
		       "CAP_DAC_READ_SEARCH)";
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
static int new_pusher(struct app *app)
{
	char why[512];
	int err;

	if (!app->cfg.enabled || !app->cfg.pushgateway_enabled)
		return 0;
	app->pusher = pusher__new(&app->cfg, on_push, app, why, sizeof(why));
	if (!app->pusher) {
		err = -errno;
		if (why[0])
			log_error("%s", why);
		else
			log_error("failed to set up pushing: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* The signals main waits for; every thread starts with them blocked. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/*
 * SIGHUP asks daemons to reload; the configuration is read once, so it is logged and
 * ignored rather than left to its default action, which killed the exporter silently.
 */
static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	stop_signals(&set);
	while (!sigwait(&set, &sig) && sig == SIGHUP)
		log_info("received SIGHUP: ignored, the configuration is read only at start "
			 "(restart to change it)");
	return sig;
}

static void block_signals(void)
{
	sigset_t set;

	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * Capabilities are per thread: they are dropped while main is the only thread, so that every
 * thread started afterwards (HTTP, maintenance, push) has only what is left.
 */
static void drop_privileges(struct app *app)
{
	int err = privs__drop(app->cfg.enabled && !app->cfg.npids);

	if (err)
		log_warn("failed to drop capabilities: %s", strerror(-err));
}

static int start_threads(struct app *app)
{
	int err;

	app->srv = start_http(app);
	if (!app->srv) {
		err = -errno;
		log_error("failed to serve on %s: %s", app->cfg.listen_address, strerror(-err));
		return err;
	}
	if (app->cfg.enabled) {
		app->ticker = ticker__start(app->cfg.discovery_interval * 1000, on_tick, app);
		if (!app->ticker) {
			err = -errno;
			log_error("failed to start the maintenance thread: %s", strerror(-err));
			return err;
		}
	}
	err = app->pusher ? pusher__start(app->pusher) : 0;
	if (err)
		log_error("failed to start pushing: %s", strerror(-err));
	return err;
}

static int run(struct app *app)
{
	int err, sig;

	/* The operator's files first: a bad one is reported before anything is loaded. */
	err = load_web_config(&app->cfg, &app->web);
	if (!err)
		err = negotiate__parse_offers(app->cfg.web_formats, &app->formats, NULL);
	if (!err)
		err = new_pusher(app);
	if (!err)
		err = check_pin_dir(&app->cfg);
	if (err)
		return err;
	app->ex = exporter__new(&app->cfg);
	if (!app->ex) {
		err = -errno;
		log_error("failed to load BPF programs: %s%s", strerror(-err),
			  load_hint(-err, &app->cfg));
		return err;
	}
	/* The port first: a port in use must fail before any process is touched. */
	app->listen_fd = http__listen(app->cfg.listen_address);
	if (app->listen_fd < 0) {
		err = app->listen_fd;
		log_error("failed to listen on %s: %s", app->cfg.listen_address,
			  err == -EADDRINUSE ? "address already in use" : strerror(-err));
		return err;
	}
	if (app->cfg.enabled) {
		err = attach_all(app->ex, &app->cfg);
		if (err)
			return err;
	}
	drop_privileges(app);
	err = start_threads(app);
	if (err)
		return err;
	log_info("listening on %s, metrics at %s", app->cfg.listen_address,
		 app->cfg.telemetry_path);
	sig = wait_for_signal();
	log_info("received %s, detaching", strsignal(sig));
	return 0;
}

static void app__free(struct app *app)
{
	/* The maintenance thread uses the exporter; the last push renders through it. */
	ticker__stop(app->ticker);
	pusher__stop(app->pusher);
	http__stop(app->srv);
	pusher__free(app->pusher);
	exporter__free(app->ex);
	webconfig__free(&app->web);
	if (app->listen_fd >= 0)
		close(app->listen_fd);
}

int main(int argc, char **argv)
{
	struct app app = {0};
	int err;

	err = parse_config(&app.cfg, argc, argv);
	if (err)
		return err == 1 ? 0 : EXIT_USAGE;
	log__set_level(app.cfg.log_level);
	log__setup_libbpf();
	/* Signals go to sigwait in this thread only: block them before any thread starts. */
	block_signals();
	err = run(&app);
	app__free(&app);
	return err ? 1 : 0;
}
