/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webtls: checks the web config's TLS material with GnuTLS (the library libmicrohttpd serves
 * TLS with) when the config is loaded, so that a bad certificate or key stops the start with a
 * message naming the file, rather than an anonymous failure once the server starts.
 */
#ifndef CCPROXY_WEBTLS_H
#define CCPROXY_WEBTLS_H

#include <stddef.h>
#include "webconfig.h"

/*
 * With wc->tls: cert_pem holds at least one certificate and nothing unreadable, key_pem an
 * unencrypted private key that matches the first certificate, ca_pem (when set) at least one
 * certificate. 0, or -EINVAL with one message in err ("<name>: key_file \"x\" does not match
 * cert_file \"y\""); name is the config file's. Without TLS: 0.
 */
int webtls__check(const struct webconfig *wc, const char *name, char *err, size_t errlen);

#endif /* CCPROXY_WEBTLS_H */
