// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "files.h"

int files__open_regular(const char *path)
{
	struct stat st;
	int fd, err;

	/* O_NONBLOCK: open returns at once on a FIFO; it changes nothing for a regular file. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int files__check_regular(const char *path)
{
	int fd = files__open_regular(path);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

const char *files__strerror(int err)
{
	return err == -EINVAL ? "not a regular file" : strerror(-err);
}
