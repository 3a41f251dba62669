// SPDX-License-Identifier: BSD-2-Clause
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include "../include/ccproxy/probes.h"
#include "probe_notes.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN4(n)     (((n) + 3) & ~(size_t)3)
#define ALL_PROBES    ((1u << CCPROXY_PROBE_COUNT) - 1)
#define BIT(name)     (1u << CCPROXY_PROBE_##name)
#define IMAGE_MAX     8192

TestSuite(probe_notes);

/* ---- A minimal ELF image, built in memory ---- */

struct image {
	uint8_t buf[IMAGE_MAX];
	size_t len;
};

struct notes {
	uint8_t buf[IMAGE_MAX / 2];
	size_t len;
	size_t addr_size;
};

/* One note: header, owner padded to 4, desc padded to 4 (padding zeroed). */
static void notes__add(struct notes *n, const char *owner, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	Elf64_Nhdr h = {
		.n_namesz = (uint32_t)strlen(owner) + 1, .n_descsz = descsz, .n_type = type};

	cr_assert_lt(n->len + sizeof(h) + ALIGN4(h.n_namesz) + ALIGN4(descsz), sizeof(n->buf));
	memcpy(n->buf + n->len, &h, sizeof(h));
	n->len += sizeof(h);
	memset(n->buf + n->len, 0, ALIGN4(h.n_namesz));
	memcpy(n->buf + n->len, owner, h.n_namesz);
	n->len += ALIGN4(h.n_namesz);
	memset(n->buf + n->len, 0, ALIGN4(descsz));
	memcpy(n->buf + n->len, desc, descsz);
	n->len += ALIGN4(descsz);
}

/* An sdt desc: pc, base, semaphore addresses, then "provider\0name\0args\0". */
static uint32_t sdt_desc(uint8_t *d, size_t addr_size, const char *provider, const char *name)
{
	static const char args[] = "8@%rdi";
	size_t off = 3 * addr_size;

	memset(d, 0x5a, off);
	memcpy(d + off, provider, strlen(provider) + 1);
	off += strlen(provider) + 1;
	memcpy(d + off, name, strlen(name) + 1);
	off += strlen(name) + 1;
	memcpy(d + off, args, sizeof(args));
	return (uint32_t)(off + sizeof(args));
}

static void notes__sdt(struct notes *n, const char *provider, const char *name)
{
	uint8_t d[256];

	notes__add(n, "stapsdt", 3, d, sdt_desc(d, n->addr_size, provider, name));
}

static const char shstrtab[] = "\0.shstrtab\0.note.stapsdt\0.note.other";
#define SHSTR_SHSTRTAB 1
#define SHSTR_STAPSDT  11
#define SHSTR_OTHER    25

struct section_opts {
	uint32_t name;	/* offset into shstrtab */
	uint32_t type;	/* SHT_NOTE */
	uint64_t extra; /* added to the note section's offset */
};

static const struct section_opts stapsdt_note = {SHSTR_STAPSDT, SHT_NOTE, 0};

static unsigned char host_data(void)
{
	return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
}

/* ELF64: header, notes, .shstrtab, then the headers of [null, notes, .shstrtab]. */
static void image__elf64(struct image *img, const struct notes *n, const struct section_opts *o)
{
	Elf64_Ehdr eh = {0};
	Elf64_Shdr sh[3] = {{0}};
	size_t notes_off = sizeof(eh), str_off = notes_off + n->len;
	size_t sh_off = (str_off + sizeof(shstrtab) + 7) & ~(size_t)7;

	cr_assert_lt(sh_off + sizeof(sh), sizeof(img->buf));
	memset(img->buf, 0, sizeof(img->buf));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = host_data();
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(sh[0]);
	eh.e_shnum = 3;
	eh.e_shstrndx = 2;
	eh.e_shoff = sh_off;
	sh[1] = (Elf64_Shdr){.sh_name = o->name,
			     .sh_type = o->type,
			     .sh_offset = notes_off + o->extra,
			     .sh_size = n->len,
			     .sh_addralign = 4};
	sh[2] = (Elf64_Shdr){.sh_name = SHSTR_SHSTRTAB,
			     .sh_type = SHT_STRTAB,
			     .sh_offset = str_off,
			     .sh_size = sizeof(shstrtab),
			     .sh_addralign = 1};
	memcpy(img->buf, &eh, sizeof(eh));
	memcpy(img->buf + notes_off, n->buf, n->len);
	memcpy(img->buf + str_off, shstrtab, sizeof(shstrtab));
	memcpy(img->buf + sh_off, sh, sizeof(sh));
	img->len = sh_off + sizeof(sh);
}

static void image__elf32(struct image *img, const struct notes *n)
{
	Elf32_Ehdr eh = {0};
	Elf32_Shdr sh[3] = {{0}};
	size_t notes_off = sizeof(eh), str_off = notes_off + n->len;
	size_t sh_off = (str_off + sizeof(shstrtab) + 3) & ~(size_t)3;

	cr_assert_lt(sh_off + sizeof(sh), sizeof(img->buf));
	memset(img->buf, 0, sizeof(img->buf));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = host_data();
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(sh[0]);
	eh.e_shnum = 3;
	eh.e_shstrndx = 2;
	eh.e_shoff = (Elf32_Off)sh_off;
	sh[1] = (Elf32_Shdr){.sh_name = SHSTR_STAPSDT,
			     .sh_type = SHT_NOTE,
			     .sh_offset = (Elf32_Off)notes_off,
			     .sh_size = (Elf32_Word)n->len,
			     .sh_addralign = 4};
	sh[2] = (Elf32_Shdr){.sh_name = SHSTR_SHSTRTAB,
			     .sh_type = SHT_STRTAB,
			     .sh_offset = (Elf32_Off)str_off,
			     .sh_size = sizeof(shstrtab),
			     .sh_addralign = 1};
	memcpy(img->buf, &eh, sizeof(eh));
	memcpy(img->buf + notes_off, n->buf, n->len);
	memcpy(img->buf + str_off, shstrtab, sizeof(shstrtab));
	memcpy(img->buf + sh_off, sh, sizeof(sh));
	img->len = sh_off + sizeof(sh);
}

/* Scans a heap copy of exactly len bytes, so ASan sees any read past the end. */
static int scan_copy(const void *buf, size_t len, uint32_t *mask)
{
	void *copy = malloc(len ? len : 1);
	int err;

	cr_assert_not_null(copy);
	memcpy(copy, buf, len);
	*mask = 0xdeadbeef;
	err = probe_notes__scan_mem(copy, len, mask);
	free(copy);
	return err;
}

static uint32_t scan_ok(const struct image *img)
{
	uint32_t mask;

	cr_assert_eq(scan_copy(img->buf, img->len, &mask), 0);
	return mask;
}

/* ---- Real files ---- */

Test(probe_notes, loadgen_carries_every_probe)
{
	const char *path = "build/ccproxy-loadgen";
	uint32_t mask = 0;

	if (access(path, R_OK))
		cr_skip_test("%s not built (run make from the repository root)", path);
	cr_assert_eq(probe_notes__scan_file(path, &mask), 0);
	cr_expect_eq(mask, ALL_PROBES, "mask %#x", mask);
}

Test(probe_notes, binary_without_notes)
{
	uint32_t mask = 0xffffffff;

	cr_assert_eq(probe_notes__scan_file("/bin/true", &mask), 0);
	cr_expect_eq(mask, 0);
}

Test(probe_notes, missing_file)
{
	uint32_t mask = 0xffffffff;

	cr_expect_eq(probe_notes__scan_file("/nonexistent/ccproxy", &mask), -ENOENT);
	cr_expect_eq(mask, 0);
}

Test(probe_notes, directory_and_devices)
{
	uint32_t mask = 0xffffffff;
	int err = probe_notes__scan_file("/tmp", &mask);

	/* Either spelling says "not an object"; what matters is no crash and no probes. */
	cr_expect(err == -ENOEXEC || err == -EISDIR, "err %d", err);
	cr_expect_eq(mask, 0);
	mask = 0xffffffff;
	cr_expect_eq(probe_notes__scan_file("/dev/null", &mask), -ENOEXEC);
	cr_expect_eq(mask, 0);
}

/* A mapped file that another process replaced with a FIFO: refused at once, not waited on
 * for a writer (Criterion's default timeout would fail the test if open blocked). */
Test(probe_notes, fifo_is_refused_without_blocking, .timeout = 5)
{
	char path[64] = "/tmp/ccproxy-notes-fifo-XXXXXX";
	uint32_t mask = 0xffffffff;

	cr_assert_not_null(mkdtemp(path));
	strcat(path, "/lib.so");
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_expect_eq(probe_notes__scan_file(path, &mask), -ENOEXEC);
	cr_expect_eq(mask, 0);
	unlink(path);
	*strrchr(path, '/') = 0;
	rmdir(path);
}

static char *write_temp(const void *buf, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_probe_notes_XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(probe_notes, files_that_are_not_elf)
{
	static const char text[] = "#!/bin/sh\necho this is a script, long enough to be mapped\n";
	uint8_t random[4096];
	uint32_t mask;
	char *path;
	size_t i;

	path = write_temp("", 0);
	cr_expect_eq(probe_notes__scan_file(path, &mask), -ENOEXEC);
	unlink(path);
	path = write_temp(text, sizeof(text) - 1);
	cr_expect_eq(probe_notes__scan_file(path, &mask), -ENOEXEC);
	cr_expect_eq(mask, 0);
	unlink(path);
	srand(1);
	for (i = 0; i < sizeof(random); i++)
		random[i] = (uint8_t)rand();
	path = write_temp(random, sizeof(random));
	cr_expect_eq(probe_notes__scan_file(path, &mask), -ENOEXEC);
	unlink(path);
	/* A bare ELF magic, shorter than any header. */
	path = write_temp("\x7f"
			  "ELF\x02\x01\x01",
			  7);
	cr_expect_eq(probe_notes__scan_file(path, &mask), -ENOEXEC);
	unlink(path);
}

Test(probe_notes, crafted_file_matches_memory_scan)
{
	struct notes n = {.addr_size = 8};
	struct image img;
	uint32_t mask = 0;
	char *path;

	notes__sdt(&n, "ccproxy", "provider_stream_end");
	notes__sdt(&n, "ccproxy", "pool_release");
	image__elf64(&img, &n, &stapsdt_note);
	path = write_temp(img.buf, img.len);
	cr_expect_eq(probe_notes__scan_file(path, &mask), 0);
	cr_expect_eq(mask, BIT(provider_stream_end) | BIT(pool_release), "mask %#x", mask);
	unlink(path);
}

/* ---- Buffers ---- */

Test(probe_notes, buffers_that_are_not_elf)
{
	uint8_t random[1024];
	uint32_t mask;
	size_t i;

	mask = 0xffffffff;
	cr_expect_eq(probe_notes__scan_mem(NULL, 0, &mask), -ENOEXEC);
	cr_expect_eq(mask, 0);
	cr_expect_eq(scan_copy("", 0, &mask), -ENOEXEC);
	cr_expect_eq(mask, 0);
	srand(2);
	for (i = 0; i < sizeof(random); i++)
		random[i] = (uint8_t)rand();
	for (i = 0; i <= sizeof(random); i += 61) {
		cr_expect_eq(scan_copy(random, i, &mask), -ENOEXEC, "%zu random bytes", i);
		cr_expect_eq(mask, 0);
	}
	memcpy(random, ELFMAG, SELFMAG);
	for (i = 0; i <= sizeof(random); i += 61) {
		int err = scan_copy(random, i, &mask);

		cr_expect(err == -ENOEXEC || err == 0, "magic + %zu random bytes: %d", i, err);
		cr_expect_eq(mask, 0);
	}
}

Test(probe_notes, truncated_elf_header)
{
	struct notes n = {.addr_size = 8};
	struct image img;
	uint32_t mask;
	size_t len;

	notes__sdt(&n, "ccproxy", "request_start");
	image__elf64(&img, &n, &stapsdt_note);
	for (len = 0; len < sizeof(Elf64_Ehdr); len++) {
		cr_expect_eq(scan_copy(img.buf, len, &mask), -ENOEXEC, "header cut at %zu", len);
		cr_expect_eq(mask, 0);
	}
}

/* Every cut of a valid image: an error or a subset of its probes, never a crash. */
Test(probe_notes, truncated_image_at_every_length)
{
	struct notes n = {.addr_size = 8};
	struct image img;
	uint32_t mask;
	size_t len;

	notes__sdt(&n, "ccproxy", "request_start");
	notes__sdt(&n, "ccproxy", "info");
	image__elf64(&img, &n, &stapsdt_note);
	for (len = 0; len < img.len; len++) {
		int err = scan_copy(img.buf, len, &mask);

		cr_expect(err == 0 || err == -ENOEXEC, "cut at %zu: %d", len, err);
		cr_expect_eq(mask & ~(BIT(request_start) | BIT(info)), 0, "cut at %zu", len);
	}
}

/*
 * The section header table lies outside the file: malformed, -ENOEXEC as the header says.
 * (libelf alone does not say so: it reports such a file as having no sections.)
 */
Test(probe_notes, section_headers_past_the_end)
{
	static const struct {
		uint64_t shoff; /* 0: keep */
		uint16_t shnum; /* 0: keep */
	} cases[] = {{1, 0}, {UINT64_MAX - 16, 0}, {0, 0xfff0}};
	struct notes n = {.addr_size = 8};
	struct image img;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img.buf;
	uint32_t mask;
	size_t i;

	notes__sdt(&n, "ccproxy", "request_start");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int err;

		image__elf64(&img, &n, &stapsdt_note);
		if (cases[i].shoff == 1)
			eh->e_shoff = img.len;
		else if (cases[i].shoff)
			eh->e_shoff = cases[i].shoff;
		if (cases[i].shnum)
			eh->e_shnum = cases[i].shnum;
		err = scan_copy(img.buf, img.len, &mask);
		cr_expect_eq(err, -ENOEXEC, "e_shoff %#llx e_shnum %u (file %zu bytes): got %d",
			     (unsigned long long)eh->e_shoff, eh->e_shnum, img.len, err);
		cr_expect_eq(mask, 0);
	}
}

Test(probe_notes, note_section_past_the_end)
{
	static const uint64_t extras[] = {1 << 20, IMAGE_MAX, UINT64_MAX - 64};
	struct notes n = {.addr_size = 8};
	struct image img;
	uint32_t mask;
	size_t i;

	notes__sdt(&n, "ccproxy", "request_start");
	for (i = 0; i < ARRAY_SIZE(extras); i++) {
		const struct section_opts o = {SHSTR_STAPSDT, SHT_NOTE, extras[i]};
		int err;

		image__elf64(&img, &n, &o);
		err = scan_copy(img.buf, img.len, &mask);
		cr_expect(err == 0 || err == -ENOEXEC, "offset +%#llx: %d",
			  (unsigned long long)extras[i], err);
		cr_expect_eq(mask, 0, "offset +%#llx", (unsigned long long)extras[i]);
	}
}

Test(probe_notes, bad_shstrndx)
{
	struct notes n = {.addr_size = 8};
	struct image img;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img.buf;
	uint32_t mask;
	int err;

	notes__sdt(&n, "ccproxy", "request_start");
	image__elf64(&img, &n, &stapsdt_note);
	eh->e_shstrndx = 7;
	err = scan_copy(img.buf, img.len, &mask);
	cr_expect(err == 0 || err == -ENOEXEC, "%d", err);
	cr_expect_eq(mask, 0);
}

Test(probe_notes, one_ccproxy_note)
{
	struct notes n = {.addr_size = 8};
	struct image img;

	notes__sdt(&n, "ccproxy", "request_start");
	image__elf64(&img, &n, &stapsdt_note);
	cr_expect_eq(scan_ok(&img), BIT(request_start));
}

Test(probe_notes, elf32_addresses_are_four_bytes)
{
	struct notes n = {.addr_size = 4};
	struct image img;

	notes__sdt(&n, "ccproxy", "request_complete");
	notes__sdt(&n, "ccproxy", "pool_health_check_failed");
	image__elf32(&img, &n);
	cr_expect_eq(scan_ok(&img), BIT(request_complete) | BIT(pool_health_check_failed));
}

Test(probe_notes, every_probe_name)
{
	static const char *const names[] = {
		"request_start",
		"request_complete",
		"request_fail",
		"provider_request_sent",
		"provider_response_received",
		"provider_error",
		"provider_stream_start",
		"provider_stream_chunk",
		"provider_stream_end",
		"pool_acquire",
		"pool_release",
		"pool_connection_created",
		"pool_connection_closed",
		"pool_health_check_failed",
		"pool_gauges",
		"info",
	};
	struct notes n = {.addr_size = 8};
	struct image img;
	size_t i;

	cr_assert_eq(ARRAY_SIZE(names), CCPROXY_PROBE_COUNT);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		notes__sdt(&n, "ccproxy", names[i]);
	image__elf64(&img, &n, &stapsdt_note);
	cr_expect_eq(scan_ok(&img), ALL_PROBES);
}

Test(probe_notes, other_providers_names_and_owners_ignored)
{
	struct notes n = {.addr_size = 8};
	struct image img;
	uint8_t d[256];

	notes__sdt(&n, "python", "request_complete");
	notes__sdt(&n, "ccproxy2", "request_fail");
	notes__sdt(&n, "ccprox", "provider_error");
	notes__sdt(&n, "", "pool_acquire");
	notes__sdt(&n, "ccproxy", "no_such_probe");
	notes__sdt(&n, "ccproxy", "");
	notes__sdt(&n, "ccproxy", "Request_start");
	/* Right desc, wrong note type or owner. */
	notes__add(&n, "stapsdt", 1, d, sdt_desc(d, 8, "ccproxy", "pool_gauges"));
	notes__add(&n, "GNU", 3, d, sdt_desc(d, 8, "ccproxy", "info"));
	notes__add(&n, "stapsd", 3, d, sdt_desc(d, 8, "ccproxy", "pool_release"));
	/* And one that counts, after all of them. */
	notes__sdt(&n, "ccproxy", "provider_stream_chunk");
	image__elf64(&img, &n, &stapsdt_note);
	cr_expect_eq(scan_ok(&img), BIT(provider_stream_chunk));
}

Test(probe_notes, truncated_descs_ignored)
{
	struct notes n = {.addr_size = 8};
	struct image img;
	uint8_t d[256];
	uint32_t len;

	/* Shorter than the three addresses. */
	len = sdt_desc(d, 8, "ccproxy", "request_start");
	notes__add(&n, "stapsdt", 3, d, 20);
	notes__add(&n, "stapsdt", 3, d, 24);
	/* Provider cut before its NUL. */
	notes__add(&n, "stapsdt", 3, d, 24 + 7);
	/* Provider complete, no name. */
	notes__add(&n, "stapsdt", 3, d, 24 + 8);
	/* Name cut before its NUL; the zero padding after the desc must not complete it. */
	len = sdt_desc(d, 8, "ccproxy", "pool_gauges");
	notes__add(&n, "stapsdt", 3, d, 24 + 8 + 11);
	/* Name complete, args missing: enough to know the probe. */
	len = sdt_desc(d, 8, "ccproxy", "request_fail");
	notes__add(&n, "stapsdt", 3, d, 24 + 8 + 13);
	cr_expect_gt(len, 24 + 8 + 13);
	image__elf64(&img, &n, &stapsdt_note);
	cr_expect_eq(scan_ok(&img), BIT(request_fail));
}

/* A desc size running past the section: the walk stops, earlier notes still count. */
Test(probe_notes, desc_size_past_the_section)
{
	struct notes n = {.addr_size = 8};
	struct image img;
	Elf64_Nhdr h = {.n_namesz = 8, .n_descsz = 0x7ffffff0, .n_type = 3};
	uint32_t mask;

	notes__sdt(&n, "ccproxy", "pool_acquire");
	memcpy(n.buf + n.len, &h, sizeof(h));
	memcpy(n.buf + n.len + sizeof(h), "stapsdt", 8);
	n.len += sizeof(h) + 8;
	image__elf64(&img, &n, &stapsdt_note);
	cr_expect_eq(scan_copy(img.buf, img.len, &mask), 0);
	cr_expect_eq(mask & ~BIT(pool_acquire), 0, "mask %#x", mask);
	/* Name size past the section as well. */
	h.n_namesz = 0xfffffff0;
	h.n_descsz = 4;
	memcpy(n.buf + n.len - sizeof(h) - 8, &h, sizeof(h));
	image__elf64(&img, &n, &stapsdt_note);
	cr_expect_eq(scan_copy(img.buf, img.len, &mask), 0);
	cr_expect_eq(mask & ~BIT(pool_acquire), 0, "mask %#x", mask);
}

Test(probe_notes, notes_in_other_sections_ignored)
{
	static const struct section_opts other_name = {SHSTR_OTHER, SHT_NOTE, 0};
	static const struct section_opts not_note = {SHSTR_STAPSDT, SHT_PROGBITS, 0};
	struct notes n = {.addr_size = 8};
	struct image img;

	notes__sdt(&n, "ccproxy", "request_start");
	image__elf64(&img, &n, &other_name);
	cr_expect_eq(scan_ok(&img), 0);
	image__elf64(&img, &n, &not_note);
	cr_expect_eq(scan_ok(&img), 0);
}

/* Random byte flips in a valid image: an error or a subset of the probes, never a crash. */
Test(probe_notes, mutated_images_never_crash, .timeout = 60)
{
	static const uint32_t carried = BIT(request_start) | BIT(request_fail) | BIT(info);
	struct notes n = {.addr_size = 8};
	struct image img, mutated;
	uint32_t mask;
	int i, k, parsed = 0;

	notes__sdt(&n, "ccproxy", "request_start");
	notes__sdt(&n, "ccproxy", "request_fail");
	notes__sdt(&n, "ccproxy", "info");
	image__elf64(&img, &n, &stapsdt_note);
	srand(3);
	for (i = 0; i < 20000; i++) {
		int err;

		memcpy(&mutated, &img, sizeof(img));
		for (k = 0; k < 1 + rand() % 4; k++)
			mutated.buf[(size_t)rand() % img.len] ^= (uint8_t)(1 + rand() % 255);
		err = scan_copy(mutated.buf, mutated.len, &mask);
		cr_assert(err == 0 || err == -ENOEXEC, "iteration %d: %d", i, err);
		/* A flipped name can still spell another probe: only the range is certain. */
		cr_assert_eq(mask & ~ALL_PROBES, 0, "iteration %d: %#x", i, mask);
		if (err)
			cr_assert_eq(mask, 0);
		parsed += !err;
	}
	/* Most flips land in data the scan does not need: the walk itself was exercised. */
	cr_expect_gt(parsed, 1000);
	cr_expect_eq(scan_ok(&img), carried);
}

Test(probe_notes, probe_id_table)
{
	cr_expect_eq(probe_notes__probe_id("request_start"), CCPROXY_PROBE_request_start);
	cr_expect_eq(probe_notes__probe_id("request_start"), 0);
	cr_expect_eq(probe_notes__probe_id("request_complete"), CCPROXY_PROBE_request_complete);
	cr_expect_eq(probe_notes__probe_id("provider_stream_chunk"),
		     CCPROXY_PROBE_provider_stream_chunk);
	cr_expect_eq(probe_notes__probe_id("pool_gauges"), CCPROXY_PROBE_pool_gauges);
	cr_expect_eq(probe_notes__probe_id("info"), CCPROXY_PROBE_info);
	cr_expect_eq(probe_notes__probe_id("info"), CCPROXY_PROBE_COUNT - 1);
	cr_expect_eq(probe_notes__probe_id(""), -1);
	cr_expect_eq(probe_notes__probe_id("request"), -1);
	cr_expect_eq(probe_notes__probe_id("request_start_"), -1);
	cr_expect_eq(probe_notes__probe_id("INFO"), -1);
	cr_expect_eq(probe_notes__probe_id("ccproxy:info"), -1);
}
