/*
 * test_control: trigger streams a fake job's log lines and its exit status;
 * a second trigger while it runs is refused with the running job's name;
 * status; no daemon; the socket's mode; a client that sends its request a
 * byte at a time holds the socket for the request timeout only.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/service/control.h"

struct fake {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 started;
	int		 release;
	int		 rc;
	char		 args[256];
};

static struct fake fake = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0,
    "" };

static int
fake_job(void *arg, int argc, char **argv)
{
	int	i;

	fake.args[0] = '\0';
	for (i = 0; i < argc; i++) {
		strlcat(fake.args, argv[i], sizeof(fake.args));
		strlcat(fake.args, "|", sizeof(fake.args));
	}
	log_info("fake job %s starts", argv[0]);
	pthread_mutex_lock(&fake.lock);
	fake.started = 1;
	pthread_cond_broadcast(&fake.cond);
	while (!fake.release)
		pthread_cond_wait(&fake.cond, &fake.lock);
	pthread_mutex_unlock(&fake.lock);
	log_kv(LOGL_WARN, "fake job ends", "job", argv[0], NULL);
	return fake.rc;
}

static void
fake_status(void *arg, void (*emit)(void *, const char *), void *ctx)
{
	emit(ctx, "next backup: 2026-11-25T03:00:00Z");
}

struct client {
	const char	*path;
	const char	*definition;
	int		 argc;
	char		**argv;
	char		*out;
	size_t		 outlen;
	int		 rc;
	char		 err[KB_ERRLEN];
};

static void *
client_thread(void *arg)
{
	struct client	*c = arg;
	FILE		*f = open_memstream(&c->out, &c->outlen);

	c->rc = control_client(c->path, c->definition, c->argc, c->argv, f, c->err,
	    sizeof(c->err));
	fclose(f);
	return NULL;
}

static void
client_init(struct client *c, const char *sock, const char *definition, int argc,
    char **argv)
{
	memset(c, 0, sizeof(*c));
	c->path = sock;
	c->definition = definition;
	c->argc = argc;
	c->argv = argv;
}

/* Runs a client of test/orders in a thread of its own, beside a job that waits. */
static void
start_client(struct client *c, pthread_t *t, const char *sock, int argc, char **argv)
{
	client_init(c, sock, "test/orders", argc, argv);
	assert_int_equal(pthread_create(t, NULL, client_thread, c), 0);
}

static int
run_client_as(const char *sock, const char *definition, int argc, char **argv, char **out)
{
	struct client	c;

	client_init(&c, sock, definition, argc, argv);
	client_thread(&c);
	*out = c.out;
	return c.rc;
}

static int
run_client(const char *sock, int argc, char **argv, char **out)
{
	return run_client_as(sock, "test/orders", argc, argv, out);
}

static void
reset_fake(int rc)
{
	pthread_mutex_lock(&fake.lock);
	fake.started = 0;
	fake.release = 0;
	fake.rc = rc;
	pthread_mutex_unlock(&fake.lock);
}

static void
release_fake(void)
{
	pthread_mutex_lock(&fake.lock);
	while (!fake.started)
		pthread_cond_wait(&fake.cond, &fake.lock);
	fake.release = 1;
	pthread_cond_broadcast(&fake.cond);
	pthread_mutex_unlock(&fake.lock);
}

static void
test_trigger(void **state)
{
	char		 dir[] = "/tmp/test_control.XXXXXX", err[KB_ERRLEN], *out, *path;
	char		*backup[] = { "backup" }, *status[] = { "status" };
	char		*restore[] = { "restore", "--at", "2026-11-20T12:00Z" };
	char		*bad[] = { "restore", "two words" }, *unknown[] = { "dance" };
	struct control_config cfg;
	struct control	*ctl;
	struct client	 a;
	pthread_t	 t;
	struct stat	 st;

	assert_non_null(mkdtemp(dir));
	memset(&cfg, 0, sizeof(cfg));
	path = path_join(dir, "control.sock");
	cfg.socket_path = path;
	cfg.definition = "test/orders";
	cfg.job = fake_job;
	cfg.status = fake_status;
	assert_int_equal(control_start(&ctl, &cfg, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A backup that runs until released. */
	reset_fake(0);
	start_client(&a, &t, path, 1, backup);
	pthread_mutex_lock(&fake.lock);
	while (!fake.started)
		pthread_cond_wait(&fake.cond, &fake.lock);
	pthread_mutex_unlock(&fake.lock);

	/* A second trigger is refused, naming the running job. */
	assert_int_equal(run_client(path, 1, backup, &out), 1);
	assert_true(startswith(out, "busy: backup 2"));
	assert_non_null(strstr(out, " started at "));
	free(out);
	assert_int_equal(run_client(path, 1, status, &out), 0);
	assert_true(startswith(out, "running: backup 2"));
	assert_non_null(strstr(out, "\nnext backup: 2026-11-25T03:00:00Z\n"));
	free(out);

	release_fake();
	pthread_join(t, NULL);
	assert_int_equal(a.rc, 0);
	assert_non_null(strstr(a.out, "msg=\"fake job backup starts\""));
	assert_non_null(strstr(a.out, "msg=\"fake job ends\" job=backup\n"));
	assert_null(strstr(a.out, "exit"));
	free(a.out);

	/* Restore with arguments, failing. */
	reset_fake(1);
	start_client(&a, &t, path, 3, restore);
	release_fake();
	pthread_join(t, NULL);
	assert_int_equal(a.rc, 1);
	assert_string_equal(fake.args, "restore|--at|2026-11-20T12:00Z|");
	free(a.out);

	/* The slot is free again; the run loop can take it. */
	assert_int_equal(control_job_begin(ctl, "backup 20261124T030000Z", err, sizeof(err)),
	    0);
	assert_int_equal(run_client(path, 1, backup, &out), 1);
	assert_true(startswith(out, "busy: backup 20261124T030000Z started at "));
	free(out);
	control_job_end(ctl);
	assert_int_equal(run_client(path, 1, status, &out), 0);
	assert_true(startswith(out, "idle\n"));
	free(out);

	assert_int_equal(run_client(path, 1, unknown, &out), 2);
	assert_non_null(strstr(out, "unknown request: dance"));
	free(out);
	/* A trigger for another definition reaching this daemon runs nothing. */
	assert_int_equal(run_client_as(path, "test/users", 1, backup, &out), 2);
	assert_non_null(strstr(out, "this daemon serves test/orders, not test/users"));
	free(out);
	assert_int_equal(run_client(path, 2, bad, &out), -1);
	free(out);

	control_stop(ctl);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(run_client(path, 1, status, &out), -1);
	free(out);
	assert_int_equal(control_client(path, "test/orders", 1, status, stdout, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no daemon listening"));
	free(path);
	rmdir(dir);
}

static void
test_stale_socket(void **state)
{
	char		 dir[] = "/tmp/test_control.XXXXXX", err[KB_ERRLEN], *path;
	struct control_config cfg;
	struct control	*ctl, *ctl2;
	FILE		*f;

	assert_non_null(mkdtemp(dir));
	path = path_join(dir, "control.sock");
	f = fopen(path, "w");		/* left over: not listening */
	fclose(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.socket_path = path;
	cfg.definition = "test/orders";
	cfg.job = fake_job;
	assert_int_equal(control_start(&ctl, &cfg, err, sizeof(err)), 0);
	assert_int_equal(control_start(&ctl2, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another daemon"));
	control_stop(ctl);
	free(path);
	rmdir(dir);
}

struct dripper {
	int		fd;
	volatile int	stop;
};

/* A byte every 200 ms, never a newline, until told, cut off or 20 s passed. */
static void *
drip_thread(void *arg)
{
	struct dripper	*d = arg;
	int		 i;

	for (i = 0; i < 100 && !d->stop && send(d->fd, "x", 1, MSG_NOSIGNAL) == 1; i++)
		usleep(200 * 1000);
	return NULL;
}

static void
test_slow_client(void **state)
{
	char		 dir[] = "/tmp/test_control.XXXXXX", err[KB_ERRLEN], *out, *path;
	char		*status[] = { "status" };
	struct control_config cfg;
	struct control	*ctl;
	struct sockaddr_un sun;
	struct dripper	 d = { -1, 0 };
	pthread_t	 t;
	int64_t		 start;

	assert_non_null(mkdtemp(dir));
	path = path_join(dir, "control.sock");
	memset(&cfg, 0, sizeof(cfg));
	cfg.socket_path = path;
	cfg.definition = "test/orders";
	cfg.job = fake_job;
	cfg.status = fake_status;
	assert_int_equal(control_start(&ctl, &cfg, err, sizeof(err)), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	assert_int_not_equal(d.fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	assert_int_equal(connect(d.fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(pthread_create(&t, NULL, drip_thread, &d), 0);

	/* Served once the dripper's 5 s are up, not when it stops (it does not). */
	start = monotonic_ms();
	assert_int_equal(run_client(path, 1, status, &out), 0);
	assert_true(startswith(out, "idle\n"));
	assert_true(monotonic_ms() - start < 15 * 1000);
	free(out);

	d.stop = 1;
	pthread_join(t, NULL);
	close(d.fd);
	control_stop(ctl);
	free(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trigger),
		cmocka_unit_test(test_stale_socket),
		cmocka_unit_test(test_slow_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
