/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webconfig: --web.config.file, the Prometheus exporter-toolkit web configuration, restricted
 * to the subset the exporter implements:
 *
 *	tls_server_config:
 *	  cert_file: server.crt          # relative paths: from the config file's directory
 *	  key_file: server.key
 *	  client_ca_file: ca.crt
 *	  client_auth_type: RequireAndVerifyClientCert
 *	basic_auth_users:
 *	  alice: $2y$10$...              # bcrypt hashes only ($2a$, $2b$, $2y$)
 *
 * Any YAML spelling of it is read (libyaml): block or flow style, quoted keys and values,
 * comments, anchors, aliases and "<<" merge keys. Strict as the exporter-toolkit's own
 * strict decoding: a key outside this subset (min_version, cipher_suites, http_server_config,
 * ...), a duplicate key, a value of the wrong type (a list or mapping for a string, a string
 * for a section) or a second document is an error naming the line, rather than a setting
 * silently ignored. An empty file, or empty sections, mean plain HTTP without
 * authentication, as in the exporter-toolkit. One difference: every client_auth_type but
 * NoClientCert needs client_ca_file (libmicrohttpd asks for a client certificate only when
 * it has a trust list).
 *
 * Functions return 0 or a negative errno and write one message into err
 * ("web.yml:3: unknown or unsupported key \"min_version\" in tls_server_config ...").
 * Nothing here prints.
 */
#ifndef CCPROXY_WEBCONFIG_H
#define CCPROXY_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Larger files are refused: a web config is a few lines. */
#define WEBCONFIG_MAX_FILE (64 * 1024)
/* Certificates, keys and CA bundles. */
#define WEBCONFIG_MAX_PEM   (1024 * 1024)
#define WEBCONFIG_MAX_USERS 256

/* exporter-toolkit's names, which are Go's tls.ClientAuthType names. */
enum webconfig_client_auth {
	WEBCONFIG_NO_CLIENT_CERT,		  /* NoClientCert (default) */
	WEBCONFIG_REQUEST_CLIENT_CERT,		  /* RequestClientCert: asked, never checked */
	WEBCONFIG_REQUIRE_ANY_CLIENT_CERT,	  /* RequireAnyClientCert: present, not verified */
	WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN,	  /* VerifyClientCertIfGiven */
	WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT, /* RequireAndVerifyClientCert */
};

struct webconfig_user {
	char *name;
	char *hash; /* bcrypt, 60 characters */
};

/* Owns every pointer; webconfig__free releases them. A zeroed struct is "no web config". */
struct webconfig {
	bool tls; /* tls_server_config present with cert_file and key_file */
	char *cert_file, *key_file, *client_ca_file; /* resolved paths, or NULL */
	enum webconfig_client_auth client_auth;
	struct webconfig_user *users;
	size_t nusers;
	size_t slowest; /* the user whose hash has the highest cost */
	/* Filled by webconfig__load: the files' contents, NUL-terminated. */
	char *cert_pem, *key_pem, *ca_pem;
};

/*
 * Parses text[0..len) (need not be NUL-terminated); name is used in messages, base_dir
 * (may be NULL: the current directory) resolves relative paths. Reads no file. On error wc
 * is left zeroed. -EINVAL for a malformed or unsupported document, -ENOMEM.
 */
int webconfig__parse(struct webconfig *wc, const char *text, size_t len, const char *name,
		     const char *base_dir, char *err, size_t errlen);
/*
 * Reads and parses path, then reads the certificate, key and CA files it names (regular files
 * only: files.h) and checks them (webtls.h).
 */
int webconfig__load(struct webconfig *wc, const char *path, char *err, size_t errlen);
/* NULL-safe; leaves wc zeroed. */
void webconfig__free(struct webconfig *wc);

/* Whether basic auth is on (at least one user). */
bool webconfig__auth_required(const struct webconfig *wc);
/*
 * Whether user/password match a configured user. A failure takes at least as long as the
 * costliest configured hash, whether the user exists or not (an unknown user is checked
 * against that hash, a known one with a cheaper hash is checked against it too), and hashes
 * are compared in constant time. Thread-safe. NULL user or password: false.
 */
bool webconfig__check_password(const struct webconfig *wc, const char *user, const char *password);
/* "RequireAndVerifyClientCert" for WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT, ... */
const char *webconfig__client_auth_name(enum webconfig_client_auth a);

#endif /* CCPROXY_WEBCONFIG_H */
