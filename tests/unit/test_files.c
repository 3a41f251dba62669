// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include "files.h"

static char dir[] = "/tmp/test_files.XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/fifo", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	rmdir(dir);
}

TestSuite(files, .init = setup, .fini = teardown, .timeout = 10);

Test(files, regular_file_opens)
{
	char path[256];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("x", f);
	fclose(f);
	fd = files__open_regular(path);
	cr_assert_geq(fd, 0, "%s", files__strerror(fd));
	close(fd);
	cr_expect_eq(files__check_regular(path), 0);
}

/* A FIFO without a writer would block open(2) forever: refused at once instead. */
Test(files, fifo_is_refused_without_blocking)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/fifo", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_expect_eq(files__open_regular(path), -EINVAL);
	cr_expect_eq(files__check_regular(path), -EINVAL);
	cr_expect_str_eq(files__strerror(-EINVAL), "not a regular file");
}

Test(files, directory_and_missing)
{
	cr_expect_eq(files__check_regular(dir), -EINVAL);
	cr_expect_eq(files__check_regular("/nonexistent/x"), -ENOENT);
	cr_expect_str_eq(files__strerror(-ENOENT), strerror(ENOENT));
}
