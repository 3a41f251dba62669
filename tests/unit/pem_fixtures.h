/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS material for the unit tests: a self-signed P-256 certificate valid until 2126, its key,
 * the same key encrypted (password "x"), and another key. Made with openssl. */
#ifndef CCPROXY_TEST_PEM_FIXTURES_H
#define CCPROXY_TEST_PEM_FIXTURES_H

#define PEM_CERT                                                             \
	"-----BEGIN CERTIFICATE-----\n"                                      \
	"MIIBdDCCARugAwIBAgIUIln3FakI8PxVD48MpQeJ+Q5NZUUwCgYIKoZIzj0EAwIw\n" \
	"DzENMAsGA1UEAwwEdGVzdDAgFw0yNjExMzAxMDE4MzdaGA8yMTI2MTEwNjEwMTgz\n" \
	"N1owDzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABAUk\n" \
	"l3zzLH8yVUuF27TMUX0mTanhYtIkZidThyMv1grHzKKdm+tnGY5EgnYBsiF3cL6H\n" \
	"dESjbH4fLwUpmZCxTFijUzBRMB0GA1UdDgQWBBTzzDpNPvI08/0pcivuFr9QIr5+\n" \
	"tDAfBgNVHSMEGDAWgBTzzDpNPvI08/0pcivuFr9QIr5+tDAPBgNVHRMBAf8EBTAD\n" \
	"AQH/MAoGCCqGSM49BAMCA0cAMEQCIBkr8aurA77sfVg/Znn9H6xlF36z5PPAIlM4\n" \
	"qU7KC1SGAiBnqnApKelDMEu0roi45I6+g+F9lV/cIVyM4SHQKgfGyg==\n"         \
	"-----END CERTIFICATE-----\n"
#define PEM_KEY                                                              \
	"-----BEGIN PRIVATE KEY-----\n"                                      \
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgV7WsKUvY6I1zhhMG\n" \
	"f0BLRsYwQeqFkTT9keZJgcGdJrmhRANCAAQFJJd88yx/MlVLhdu0zFF9Jk2p4WLS\n" \
	"JGYnU4cjL9YKx8yinZvrZxmORIJ2AbIhd3C+h3REo2x+Hy8FKZmQsUxY\n"         \
	"-----END PRIVATE KEY-----\n"
#define PEM_KEY_ENCRYPTED                                                    \
	"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"                            \
	"MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgOj0f02jsrfQICCAAw\n" \
	"DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEGK/S9AISV+6ScQFmZR6LHkEgZCQ\n" \
	"R9OwDFY9TQ/3ywrlouRr4AK0/5WIUlkQGj5WMibthTfZfsJXeLr8R/ih6jQBti23\n" \
	"dfYI9tRg7zSdkxY1S3h8GaUTqU6evVuBtMZQkdkYuHg8S4jGLfh1Kwk4w9V0v84E\n" \
	"S9YoOoiiwPS+CfdCoVlxy9iaCk7gTNvYB50UFLeuu7nkbnlODJGpN3QjH9y+oa0=\n" \
	"-----END ENCRYPTED PRIVATE KEY-----\n"
#define PEM_OTHER_KEY                                                        \
	"-----BEGIN PRIVATE KEY-----\n"                                      \
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpOF//JLx72ULnd7X\n" \
	"M76s0d6NAKs7W+UdDPvUvumn0hyhRANCAAQxgasgYY06iOjKpwTyn/w67+NYWWzC\n" \
	"UILzl31x6N/S6vh/llUyWaQqlFNCJvfR8GPegtvPhcX+zSfAw7zZ4MqR\n"         \
	"-----END PRIVATE KEY-----\n"

#endif /* CCPROXY_TEST_PEM_FIXTURES_H */
