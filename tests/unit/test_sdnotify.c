/*
 * test_sdnotify: datagrams arrive on a path socket and on an abstract one;
 * nothing happens without NOTIFY_SOCKET; watchdog interval parsing.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "runner/service/sdnotify.h"

/* A receiver bound to name ('@' for abstract); returns the fd. */
static int
receiver(const char *name)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	int			fd;

	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, strlen(name));
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

/* The next datagram: exactly want, or (prefix) starting with it and then digits. */
static void
expect_datagram(int fd, const char *want, int prefix)
{
	char	buf[600];
	ssize_t	n;
	size_t	len = strlen(want);

	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	if (!prefix) {
		assert_string_equal(buf, want);
		return;
	}
	assert_memory_equal(buf, want, len);
	assert_true((size_t)n > len);
	assert_true(strspn(buf + len, "0123456789") == (size_t)n - len);
}

static void
expect(int fd, const char *want)
{
	expect_datagram(fd, want, 0);
}

static void
expect_prefix(int fd, const char *want)
{
	expect_datagram(fd, want, 1);
}

static void
test_path(void **state)
{
	char	dir[] = "/tmp/test_sdnotify.XXXXXX", *path;
	int	fd;

	assert_non_null(mkdtemp(dir));
	path = path_join(dir, "notify");
	fd = receiver(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sd_notify_ready(), 0);
	expect(fd, "READY=1");
	assert_int_equal(sd_notify_status("next backup %s\nat night", "2026-11-25T03:00:00Z"),
	    0);
	expect(fd, "STATUS=next backup 2026-11-25T03:00:00Z at night");
	assert_int_equal(sd_notify_stopping(), 0);
	expect(fd, "STOPPING=1");
	assert_int_equal(sd_notify_reloading(), 0);
	expect_prefix(fd, "RELOADING=1\nMONOTONIC_USEC=");
	close(fd);
	unlink(path);
	/* Nobody listens any more: an error, not a crash. */
	assert_int_equal(sd_notify_ready(), -1);
	unsetenv("NOTIFY_SOCKET");
	free(path);
	rmdir(dir);
}

static void
test_abstract(void **state)
{
	char	name[64];
	int	fd;

	snprintf(name, sizeof(name), "@kbackup-test-%ld", (long)getpid());
	fd = receiver(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sd_notify_ready(), 0);
	expect(fd, "READY=1");
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sd_notify_ready(), 0);		/* no-op */
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_abstract),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
