// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <criterion/criterion.h>
#include "strbuf.h"

static struct strbuf sb;

static void setup(void)
{
	memset(&sb, 0, sizeof(sb));
}

static void teardown(void)
{
	strbuf__free(&sb);
}

TestSuite(strbuf, .init = setup, .fini = teardown);

Test(strbuf, zeroed_struct_is_empty_and_freeable)
{
	struct strbuf z = STRBUF_INIT;

	cr_expect_null(z.buf);
	cr_expect_eq(z.len, 0);
	cr_expect_eq(z.err, 0);
	strbuf__free(&z);
	strbuf__free(&z);
	strbuf__free(NULL);
	cr_expect_null(z.buf);
}

Test(strbuf, append_puts_putc_printf)
{
	cr_assert_eq(strbuf__puts(&sb, "ab"), 0);
	cr_assert_eq(strbuf__putc(&sb, 'c'), 0);
	cr_assert_eq(strbuf__append(&sb, "defgh", 2), 0);
	cr_assert_eq(strbuf__printf(&sb, "-%d-%s-%05.1f", 42, "x", 2.25), 0);
	cr_expect_str_eq(sb.buf, "abcde-42-x-002.2");
	cr_expect_eq(sb.len, strlen("abcde-42-x-002.2"));
	cr_expect_eq(sb.err, 0);
}

Test(strbuf, empty_append_allocates_and_terminates)
{
	cr_assert_eq(strbuf__append(&sb, NULL, 0), 0);
	cr_assert_not_null(sb.buf);
	cr_expect_str_eq(sb.buf, "");
	cr_assert_eq(strbuf__puts(&sb, ""), 0);
	cr_assert_eq(strbuf__printf(&sb, "%s", ""), 0);
	cr_expect_eq(sb.len, 0);
	cr_expect_str_eq(sb.buf, "");
}

Test(strbuf, puts_null_is_empty)
{
	cr_assert_eq(strbuf__puts(&sb, NULL), 0);
	cr_expect_eq(sb.len, 0);
}

Test(strbuf, embedded_nul_bytes_are_kept)
{
	cr_assert_eq(strbuf__append(&sb, "a\0b", 3), 0);
	cr_assert_eq(strbuf__putc(&sb, '\0'), 0);
	cr_expect_eq(sb.len, 4);
	cr_expect_eq(memcmp(sb.buf, "a\0b\0", 5), 0);
}

Test(strbuf, always_nul_terminated)
{
	size_t i;

	for (i = 0; i < 1000; i++) {
		cr_assert_eq(strbuf__putc(&sb, (char)('a' + i % 26)), 0);
		cr_assert_eq(sb.buf[sb.len], '\0');
		cr_assert_lt(sb.len, sb.cap);
	}
	cr_expect_eq(strlen(sb.buf), 1000);
}

Test(strbuf, growth_is_geometric)
{
	size_t i, reallocs = 0, cap = 0;

	for (i = 0; i < 1000000; i++) {
		cr_assert_eq(strbuf__putc(&sb, 'x'), 0);
		if (sb.cap != cap) {
			reallocs++;
			cap = sb.cap;
		}
	}
	cr_expect_eq(sb.len, 1000000);
	/* Doubling from 64 reaches 1e6 in 15 steps; linear growth would need thousands. */
	cr_expect_leq(reallocs, 16, "reallocs=%zu", reallocs);
	cr_expect_leq(sb.cap, 2 * sb.len + 64);
}

Test(strbuf, reserve_gives_room)
{
	cr_assert_eq(strbuf__puts(&sb, "abc"), 0);
	cr_assert_eq(strbuf__reserve(&sb, 5000), 0);
	cr_expect_geq(sb.cap, 3 + 5000 + 1);
	cr_expect_str_eq(sb.buf, "abc");
	cr_expect_eq(sb.len, 3);
}

Test(strbuf, printf_retries_when_output_does_not_fit)
{
	static char big[100001];
	size_t fill;

	memset(big, 'q', sizeof(big) - 1);
	cr_assert_eq(strbuf__printf(&sb, "<%s>", big), 0);
	cr_expect_eq(sb.len, sizeof(big) + 1);
	cr_expect_eq(sb.buf[0], '<');
	cr_expect_eq(sb.buf[sb.len - 1], '>');
	cr_expect_eq(sb.buf[sb.len], '\0');
	cr_expect_eq(strspn(sb.buf + 1, "q"), sizeof(big) - 1);

	/* Every output length around the end of the allocation, from every fill level. */
	for (fill = 0; fill < 200; fill += 7) {
		size_t n;

		for (n = 0; n < 300; n++) {
			struct strbuf t = STRBUF_INIT;

			memset(big, 'a', fill);
			big[fill] = '\0';
			cr_assert_eq(strbuf__puts(&t, big), 0);
			memset(big, 'b', n);
			big[n] = '\0';
			cr_assert_eq(strbuf__printf(&t, "%s%c", big, 'z'), 0);
			cr_assert_eq(t.len, fill + n + 1);
			cr_assert_eq(t.buf[fill + n], 'z');
			cr_assert_eq(t.buf[t.len], '\0');
			cr_assert_eq(strspn(t.buf, "a"), fill);
			cr_assert_eq(strspn(t.buf + fill, "b"), n);
			strbuf__free(&t);
		}
	}
	memset(big, 0, sizeof(big));
}

Test(strbuf, absurd_sizes_fail_with_enomem)
{
	size_t sizes[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2, (size_t)PTRDIFF_MAX};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct strbuf t = STRBUF_INIT;

		cr_assert_eq(strbuf__puts(&t, "keep"), 0);
		cr_expect_eq(strbuf__reserve(&t, sizes[i]), -ENOMEM, "size %zu", sizes[i]);
		cr_expect_eq(t.err, -ENOMEM);
		cr_expect_str_eq(t.buf, "keep");
		strbuf__free(&t);
	}
	/* len + extra + 1 wraps only when both are large: the check must include len. */
	cr_assert_eq(strbuf__puts(&sb, "0123456789"), 0);
	cr_expect_eq(strbuf__reserve(&sb, SIZE_MAX - 10), -ENOMEM);
	cr_expect_eq(strbuf__append(&sb, "x", SIZE_MAX - 5), -ENOMEM);
}

Test(strbuf, error_is_sticky_until_reset)
{
	char *buf;

	cr_assert_eq(strbuf__puts(&sb, "before"), 0);
	buf = sb.buf;
	cr_assert_eq(strbuf__reserve(&sb, SIZE_MAX), -ENOMEM);
	cr_expect_eq(strbuf__puts(&sb, "lost"), -ENOMEM);
	cr_expect_eq(strbuf__putc(&sb, 'x'), -ENOMEM);
	cr_expect_eq(strbuf__append(&sb, "y", 1), -ENOMEM);
	cr_expect_eq(strbuf__printf(&sb, "%d", 1), -ENOMEM);
	cr_expect_eq(strbuf__reserve(&sb, 1), -ENOMEM);
	cr_expect_str_eq(sb.buf, "before");
	cr_expect_eq(sb.len, 6);

	strbuf__reset(&sb);
	cr_expect_eq(sb.err, 0);
	cr_expect_eq(sb.len, 0);
	cr_expect_eq(sb.buf, buf, "reset keeps the allocation");
	cr_expect_str_eq(sb.buf, "");
	cr_assert_eq(strbuf__puts(&sb, "after"), 0);
	cr_expect_str_eq(sb.buf, "after");
}

Test(strbuf, reset_on_zeroed_struct)
{
	strbuf__reset(&sb);
	cr_expect_null(sb.buf);
	cr_expect_eq(sb.len, 0);
}

Test(strbuf, free_forgets_everything)
{
	cr_assert_eq(strbuf__puts(&sb, "x"), 0);
	strbuf__reserve(&sb, SIZE_MAX);
	strbuf__free(&sb);
	cr_expect_null(sb.buf);
	cr_expect_eq(sb.len, 0);
	cr_expect_eq(sb.cap, 0);
	cr_expect_eq(sb.err, 0);
	cr_assert_eq(strbuf__puts(&sb, "again"), 0);
	cr_expect_str_eq(sb.buf, "again");
}
