// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../include/ccproxy/probes.h"
#include "files.h"
#include "probe_notes.h"

#define NT_STAPSDT 3

static const char *const probe_names[CCPROXY_PROBE_COUNT] = {CCPROXY_PROBE_NAMES};

const char *probe_notes__name(int id)
{
	return id >= 0 && id < CCPROXY_PROBE_COUNT ? probe_names[id] : NULL;
}

int probe_notes__probe_id(const char *name)
{
	int i;

	for (i = 0; i < CCPROXY_PROBE_COUNT; i++) {
		if (!strcmp(name, probe_names[i]))
			return i;
	}
	return -1;
}

/* desc: three addresses (pc, base, semaphore), then "provider\0name\0args\0". */
static void scan_note(const char *desc, size_t len, size_t addr_size, unsigned int *sites)
{
	const char *provider, *name;
	size_t off = 3 * addr_size, plen, nlen;
	int id;

	if (len <= off)
		return;
	provider = desc + off;
	plen = strnlen(provider, len - off);
	if (plen == len - off || strcmp(provider, "ccproxy"))
		return;
	off += plen + 1;
	if (off >= len)
		return;
	name = desc + off;
	nlen = strnlen(name, len - off);
	if (nlen == len - off)
		return;
	id = probe_notes__probe_id(name);
	if (id >= 0)
		sites[id]++;
}

static void scan_section(Elf_Data *data, size_t addr_size, unsigned int *sites)
{
	GElf_Nhdr nhdr;
	size_t off = 0, next, name_off, desc_off;

	while ((next = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
		if (nhdr.n_type == NT_STAPSDT && nhdr.n_namesz == sizeof("stapsdt") &&
		    !memcmp((char *)data->d_buf + name_off, "stapsdt", sizeof("stapsdt")))
			scan_note((char *)data->d_buf + desc_off, nhdr.n_descsz, addr_size, sites);
		off = next;
	}
}

/* libelf reports a section header table outside the image as "no sections": check it. */
static bool shdrs_in_bounds(Elf *elf, size_t len)
{
	GElf_Ehdr eh;
	size_t shnum;

	if (!gelf_getehdr(elf, &eh) || elf_getshdrnum(elf, &shnum))
		return false;
	if (!eh.e_shoff)
		return !eh.e_shnum;
	return eh.e_shoff <= len && eh.e_shentsize &&
	       shnum <= (len - eh.e_shoff) / eh.e_shentsize && (shnum || !eh.e_shnum);
}

int probe_notes__sites_mem(const void *buf, size_t len, unsigned int sites[CCPROXY_PROBE_COUNT])
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	size_t shstrndx, addr_size;
	int err = 0, cls;
	Elf *elf;

	memset(sites, 0, CCPROXY_PROBE_COUNT * sizeof(*sites));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	elf = elf_memory((char *)buf, len);
	if (!elf)
		return -ENOEXEC;
	cls = gelf_getclass(elf);
	if (elf_kind(elf) != ELF_K_ELF || cls == ELFCLASSNONE ||
	    elf_getshdrstrndx(elf, &shstrndx) || !shdrs_in_bounds(elf, len)) {
		err = -ENOEXEC;
		goto out;
	}
	addr_size = cls == ELFCLASS32 ? 4 : 8;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name || strcmp(name, ".note.stapsdt"))
			continue;
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf)
			scan_section(data, addr_size, sites);
	}
out:
	elf_end(elf);
	return err;
}

int probe_notes__sites_file(const char *path, unsigned int sites[CCPROXY_PROBE_COUNT])
{
	struct stat st;
	void *map;
	int fd, err;

	memset(sites, 0, CCPROXY_PROBE_COUNT * sizeof(*sites));
	/* The path is another process's to change: it may have become a FIFO since it was
	 * mapped, and a blocking open would hang discovery. */
	fd = files__open_regular(path);
	if (fd == -EINVAL)
		return -ENOEXEC;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (st.st_size < 64) {
		close(fd);
		return -ENOEXEC;
	}
	/* Private and writable: libelf may convert in place; the file is never touched. */
	map = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	err = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err)
		return err;
	err = probe_notes__sites_mem(map, st.st_size, sites);
	munmap(map, st.st_size);
	return err;
}

static uint32_t sites_mask(const unsigned int *sites)
{
	uint32_t mask = 0;
	int id;

	for (id = 0; id < CCPROXY_PROBE_COUNT; id++) {
		if (sites[id])
			mask |= 1u << id;
	}
	return mask;
}

int probe_notes__scan_mem(const void *buf, size_t len, uint32_t *mask)
{
	unsigned int sites[CCPROXY_PROBE_COUNT];
	int err = probe_notes__sites_mem(buf, len, sites);

	*mask = err ? 0 : sites_mask(sites);
	return err;
}

int probe_notes__scan_file(const char *path, uint32_t *mask)
{
	unsigned int sites[CCPROXY_PROBE_COUNT];
	int err = probe_notes__sites_file(path, sites);

	*mask = err ? 0 : sites_mask(sites);
	return err;
}
