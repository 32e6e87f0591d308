/*
 * proc: spawning database tools without a shell, logging their stderr,
 * deciding by their exit status.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "common/proc.h"

extern char **environ;

static const char *const *env_denylist;

void
child_args_add(struct child_args *a, const char *s)
{
	a->v = xreallocarray(a->v, a->n + 2, sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

void
child_args_addf(struct child_args *a, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[4096];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	child_args_add(a, buf);
	explicit_bzero(buf, sizeof(buf));
}

void
child_args_add_words(struct child_args *a, const char *s)
{
	char	**words;
	size_t	  i;

	words = words_split(s, NULL);
	for (i = 0; words[i] != NULL; i++)
		child_args_add(a, words[i]);
	words_free(words);
}

void
child_args_add_set(struct child_args *a, const char *name, const char *value)
{
	if (value != NULL)
		child_args_addf(a, "%s=%s", name, value);
}

const char *const *
child_args_list(struct child_args *a)
{
	if (a->v == NULL) {
		a->v = xcalloc(1, sizeof(*a->v));
		a->n = 0;
	}
	return (const char *const *)a->v;
}

void
child_args_free(struct child_args *a)
{
	size_t	i;

	for (i = 0; i < a->n; i++)
		freezero(a->v[i], strlen(a->v[i]));
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

void
child_set_env_denylist(const char *const *names)
{
	env_denylist = names;
}

static int
env_name_matches(const char *entry, const char *name)
{
	size_t	len = strlen(name);

	return strncmp(entry, name, len) == 0 && entry[len] == '=';
}

/*
 * The cloud secrets the runner's own S3 client reads from its environment
 * (kbackup.conf(5), credentials): no dump tool or hook needs them.
 */
static const char *const env_cloud_secrets[] = {
	"AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN",
	NULL
};

static int
env_denied(const char *entry)
{
	const char *const	*d;

	for (d = env_cloud_secrets; *d != NULL; d++)
		if (env_name_matches(entry, *d))
			return 1;
	for (d = env_denylist; d != NULL && *d != NULL; d++)
		if (env_name_matches(entry, *d))
			return 1;
	return 0;
}

static int
env_overridden(const char *entry, const char *const *env_add)
{
	const char *const	*a;
	size_t			 len;

	for (a = env_add; a != NULL && *a != NULL; a++) {
		len = strcspn(*a, "=");
		if (strncmp(entry, *a, len) == 0 && entry[len] == '=')
			return 1;
	}
	return 0;
}

/* environ less the denied variables, plus env_add; the strings are not copied. */
static char **
child_env(const char *const *env_add)
{
	char		**env;
	size_t		  n = 0, i;

	for (i = 0; environ[i] != NULL; i++)
		n++;
	for (i = 0; env_add != NULL && env_add[i] != NULL; i++)
		n++;
	env = xcalloc(n + 1, sizeof(*env));
	n = 0;
	for (i = 0; environ[i] != NULL; i++)
		if (!env_denied(environ[i]) && !env_overridden(environ[i], env_add))
			env[n++] = environ[i];
	for (i = 0; env_add != NULL && env_add[i] != NULL; i++)
		env[n++] = (char *)env_add[i];
	env[n] = NULL;
	return env;
}

struct log_reader {
	int	 fd;
	char	*name;
};

/* Logs each line the child writes; long lines are cut, not lost track of. */
static void *
log_reader_main(void *arg)
{
	struct log_reader	*lr = arg;
	char			 buf[4096];
	size_t			 used = 0;
	ssize_t			 n;
	char			*nl;

	for (;;) {
		n = read(lr->fd, buf + used, sizeof(buf) - 1 - used);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		while ((nl = memchr(buf, '\n', used)) != NULL) {
			*nl = '\0';
			if (nl != buf)
				log_kv(LOGL_WARN, buf, "child", lr->name, NULL);
			used -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, used);
		}
		if (used == sizeof(buf) - 1) {
			log_kv(LOGL_WARN, buf, "child", lr->name, NULL);
			used = 0;
		}
	}
	if (used > 0) {
		buf[used] = '\0';
		log_kv(LOGL_WARN, buf, "child", lr->name, NULL);
	}
	close(lr->fd);
	free(lr->name);
	free(lr);
	return NULL;
}

static int
log_reader_start(pthread_t *thread, int fd, const char *name)
{
	struct log_reader	*lr = xmalloc(sizeof(*lr));

	lr->fd = fd;
	lr->name = xstrdup(name);
	if (pthread_create(thread, NULL, log_reader_main, lr) != 0) {
		close(fd);
		free(lr->name);
		free(lr);
		return -1;
	}
	return 0;
}

/* pipe2(O_CLOEXEC) is not POSIX 2008. */
static int
pipe_cloexec(int p[2])
{
	if (pipe(p) == -1)
		return -1;
	if (fcntl(p[0], F_SETFD, FD_CLOEXEC) == -1 || fcntl(p[1], F_SETFD, FD_CLOEXEC) == -1) {
		close(p[0]);
		close(p[1]);
		p[0] = p[1] = -1;
		return -1;
	}
	return 0;
}

static void
close_pair(int p[2])
{
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	p[0] = p[1] = -1;
}

int
child_spawn(struct child *c, const char *const *argv, const char *const *env_add,
    const struct memfile *pass, int flags, char *err, size_t errlen)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	int				 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int				 errp[2] = { -1, -1 }, devnull = -1, rc;
	char				**env;
	const char			*base;

	memset(c, 0, sizeof(*c));
	c->in_fd = c->out_fd = c->err_fd = c->out_log_fd = -1;
	c->pid = -1;
	base = strrchr(argv[0], '/');
	c->name = xstrdup(base == NULL ? argv[0] : base + 1);

	if (((flags & CHILD_STDIN_PIPE) && pipe_cloexec(in) == -1) ||
	    ((flags & (CHILD_STDOUT_PIPE | CHILD_STDOUT_LOG)) && pipe_cloexec(out) == -1) ||
	    pipe_cloexec(errp) == -1 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		errf(err, errlen, "%s: pipe: %s", c->name, strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0] != -1 ? in[0] : devnull, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1] != -1 ? out[1] : devnull, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
	/* dup2 onto itself clears close-on-exec (POSIX.1-2024, glibc 2.29). */
	if (pass != NULL && pass->path[0] != '\0')
		posix_spawn_file_actions_adddup2(&fa, pass->fd, pass->fd);
	/*
	 * A group of its own, so that a stop reaches what the tool started too:
	 * a grandchild that kept the tool's stderr open held child_wait()'s
	 * join of the log reader, and SIGTERM waited for it (minutes, or ever).
	 */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	env = child_env(env_add);
	rc = posix_spawnp(&c->pid, argv[0], &fa, &attr, (char *const *)argv, env);
	free(env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(devnull);
	devnull = -1;
	if (rc != 0) {
		errf(err, errlen, "cannot run %s: %s", argv[0], strerror(rc));
		c->pid = -1;
		goto fail;
	}
	if (in[0] != -1)
		close(in[0]);
	if (out[1] != -1)
		close(out[1]);
	close(errp[1]);
	c->in_fd = in[1];
	if (flags & CHILD_STDOUT_LOG) {
		if (log_reader_start(&c->out_thread, out[0], c->name) == 0)
			c->out_thread_running = 1;
	} else
		c->out_fd = out[0];
	if (log_reader_start(&c->err_thread, errp[0], c->name) == 0)
		c->err_thread_running = 1;
	log_kv(LOGL_DEBUG, "started", "child", c->name, NULL);
	return 0;
fail:
	close_pair(in);
	close_pair(out);
	close_pair(errp);
	if (devnull != -1)
		close(devnull);
	free(c->name);
	c->name = NULL;
	return -1;
}

static void
child_close_pipes(struct child *c)
{
	if (c->in_fd != -1) {
		close(c->in_fd);
		c->in_fd = -1;
	}
	if (c->out_fd != -1) {
		close(c->out_fd);
		c->out_fd = -1;
	}
}

static int
child_reap(struct child *c, int options)
{
	pid_t	r;

	if (c->reaped || c->pid == -1)
		return 1;
	do
		r = waitpid(c->pid, &c->status, options);
	while (r == -1 && errno == EINTR);
	if (r == c->pid || r == -1) {
		c->reaped = 1;
		if (r == -1)
			c->status = 0xff00;
		return 1;
	}
	return 0;
}

/* Whether the child has exited, leaving it unreaped (a zombie). */
static int
child_exited(pid_t pid)
{
	siginfo_t	si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return errno != EINTR;
	return si.si_pid == pid;
}

/*
 * SIGTERM, five seconds, then SIGKILL, to the child's group (its own
 * children too); reaped.
 */
static void
child_stop(struct child *c)
{
	struct timespec	ts = { 0, 50 * 1000 * 1000 };
	int		i;

	if (c->reaped || c->pid <= 0)
		return;
	kill(-c->pid, SIGTERM);
	for (i = 0; i < 100 && !child_exited(c->pid); i++)
		nanosleep(&ts, NULL);
	/*
	 * Before the leader is reaped, whose zombie keeps the group's id from
	 * being reused: what the tool started and left behind must not hold
	 * its pipes open.
	 */
	kill(-c->pid, SIGKILL);
	child_reap(c, 0);
}

/*
 * Waits for the child to exit, polling the cancel pipe: a cancel stops it
 * (SIGTERM, then SIGKILL) and the wait fails with "cancelled".
 */
static int
child_reap_cancellable(struct child *c)
{
	struct pollfd	pfd;

	while (!child_reap(c, WNOHANG)) {
		if (cancel_requested()) {
			child_stop(c);
			return -1;
		}
		pfd.fd = cancel_fd();
		pfd.events = POLLIN;
		if (pfd.fd == -1) {	/* no cancel pipe (tests): wait */
			child_reap(c, 0);
			return 0;
		}
		poll(&pfd, 1, 100);
	}
	return 0;
}

int
child_wait(struct child *c, char *err, size_t errlen)
{
	int	rc = 0, cancelled;

	if (c->name == NULL)
		return errf(err, errlen, "no child to wait for");
	child_close_pipes(c);
	cancelled = child_reap_cancellable(c) == -1;
	if (c->err_thread_running) {
		pthread_join(c->err_thread, NULL);
		c->err_thread_running = 0;
	}
	if (c->out_thread_running) {
		pthread_join(c->out_thread, NULL);
		c->out_thread_running = 0;
	}
	if (cancelled)
		rc = errf(err, errlen, "cancelled: %s stopped", c->name);
	else if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		rc = 0;
	else if (WIFEXITED(c->status))
		rc = errf(err, errlen, "%s exited with status %d", c->name,
		    WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		rc = errf(err, errlen, "%s was killed by signal %d", c->name,
		    WTERMSIG(c->status));
	else
		rc = errf(err, errlen, "%s ended abnormally", c->name);
	free(c->name);
	c->name = NULL;
	return rc;
}

int
child_finish(struct child *c, int *running, int aborted, char *err, size_t errlen)
{
	int	rc = 0;

	if (!*running)
		return 0;
	if (aborted)
		child_kill(c);
	else
		rc = child_wait(c, err, errlen);
	*running = 0;
	return rc;
}

void
child_kill(struct child *c)
{
	char	err[KB_ERRLEN];

	if (c->name == NULL)
		return;
	child_close_pipes(c);
	child_stop(c);
	child_wait(c, err, sizeof(err));
}

/*
 * Feeds input to the child and reads its output at once: a child that
 * answers while it reads (psql, mysql) would otherwise stop with a full
 * output pipe while we still write.  Output past outmax is read and dropped.
 */
static void
child_exchange(struct child *c, const char *input, char *buf, size_t outmax, size_t *used)
{
	struct pollfd	 pfd[3];
	size_t		 left = input != NULL ? strlen(input) : 0;
	char		 drain[4096];
	ssize_t		 n;
	int		 nfds, i;

	while ((c->in_fd != -1 || c->out_fd != -1) && !cancel_requested()) {
		nfds = 0;
		if (c->in_fd != -1)
			pfd[nfds++] = (struct pollfd){ .fd = c->in_fd, .events = POLLOUT };
		if (c->out_fd != -1)
			pfd[nfds++] = (struct pollfd){ .fd = c->out_fd, .events = POLLIN };
		if (cancel_fd() != -1)
			pfd[nfds++] = (struct pollfd){ .fd = cancel_fd(), .events = POLLIN };
		if (poll(pfd, (nfds_t)nfds, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < nfds; i++) {
			if (pfd[i].revents == 0 || pfd[i].fd == cancel_fd())
				continue;
			if (pfd[i].fd == c->in_fd) {
				/* At most PIPE_BUF: POLLOUT promises that much room. */
				n = write(c->in_fd, input, left < PIPE_BUF ? left : PIPE_BUF);
				if (n == -1 && errno == EINTR)
					continue;
				if (n > 0) {
					input += n;
					left -= (size_t)n;
				}
				if (n == -1 || left == 0) {
					if (n == -1)
						log_debug("%s closed its input early", c->name);
					close(c->in_fd);
					c->in_fd = -1;
				}
				continue;
			}
			if (*used < outmax)
				n = read(c->out_fd, buf + *used, outmax - *used);
			else
				n = read(c->out_fd, drain, sizeof(drain));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(c->out_fd);
				c->out_fd = -1;
			} else if (*used < outmax)
				*used += (size_t)n;
		}
	}
}

int
child_run_input(const char *const *argv, const char *const *env_add,
    const struct memfile *pass, const char *input, char **out, size_t outmax, char *err,
    size_t errlen)
{
	struct child	 c;
	char		*buf = NULL;
	size_t		 used = 0;
	int		 flags;

	flags = out != NULL ? CHILD_STDOUT_PIPE : CHILD_STDOUT_LOG;
	if (input != NULL)
		flags |= CHILD_STDIN_PIPE;
	if (child_spawn(&c, argv, env_add, pass, flags, err, errlen) == -1)
		return -1;
	if (out != NULL)
		buf = xmalloc(outmax + 1);
	child_exchange(&c, input, buf, outmax, &used);
	if (buf != NULL)
		buf[used] = '\0';
	if (child_wait(&c, err, errlen) == -1) {
		free(buf);
		return -1;
	}
	if (out != NULL)
		*out = buf;
	return 0;
}

int
child_run(const char *const *argv, const char *const *env_add, char **out, size_t outmax,
    char *err, size_t errlen)
{
	return child_run_input(argv, env_add, NULL, NULL, out, outmax, err, errlen);
}

int
child_run_timeout(const char *const *argv, const char *const *env_add, int64_t seconds,
    char *err, size_t errlen)
{
	struct timespec	 tick = { 0, 50 * 1000 * 1000 }, start, now;
	struct child	 c;

	if (child_spawn(&c, argv, env_add, NULL, CHILD_STDOUT_LOG, err, errlen) == -1)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (seconds > 0 && !child_reap(&c, WNOHANG)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= seconds) {
			child_kill(&c);
			return errf(err, errlen, "%s did not finish within %lld s: killed",
			    argv[0], (long long)seconds);
		}
		nanosleep(&tick, NULL);
	}
	return child_wait(&c, err, errlen);
}

int
child_in_path(const char *prog)
{
	const char	*path = getenv("PATH");
	char		*copy, *d, *save = NULL, *p;
	int		 found = 0;

	copy = xstrdup(path != NULL ? path : "/usr/bin:/bin");
	for (d = strtok_r(copy, ":", &save); d != NULL && !found;
	    d = strtok_r(NULL, ":", &save)) {
		p = path_join(d, prog);
		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

/* A /proc file into buf (NUL-terminated): its size says 0, so read(2) until the end. */
static int
proc_read(const char *path, char *buf, size_t size)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read_full(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The 22nd field of /proc/PID/stat, counted after the ')' that ends the 2nd, comm. */
int
proc_start_ticks(pid_t pid, unsigned long long *ticks)
{
	char	path[64], buf[1024], *p;
	int	field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (proc_read(path, buf, sizeof(buf)) == -1 || (p = strrchr(buf, ')')) == NULL)
		return -1;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return -1;
	*ticks = strtoull(p + 1, NULL, 10);
	return 0;
}

static int
proc_comm(const char *pid, char *buf, size_t size)
{
	char	path[64];

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	if (proc_read(path, buf, size) == -1)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int
proc_running_as_us(pid_t pid, unsigned long long start)
{
	unsigned long long	ticks;
	char			num[24], ours[64], theirs[64];

	if (proc_comm("self", ours, sizeof(ours)) == -1)
		return -1;
	snprintf(num, sizeof(num), "%ld", (long)pid);
	if (proc_start_ticks(pid, &ticks) == -1 || ticks != start ||
	    proc_comm(num, theirs, sizeof(theirs)) == -1)
		return 0;
	return strcmp(ours, theirs) == 0;
}

int
child_run_args(struct child_args *a, struct child_args *env, char **out, size_t outmax,
    char *err, size_t errlen)
{
	int	rc;

	rc = child_run(child_args_list(a), env != NULL ? child_args_list(env) : NULL, out,
	    outmax, err, errlen);
	child_args_free(a);
	if (env != NULL)
		child_args_free(env);
	return rc;
}

int
child_version(struct child_args *a, char *buf, size_t len)
{
	char	*out = NULL, err[KB_ERRLEN];
	int	 rc;

	rc = child_run_args(a, NULL, &out, 256, err, sizeof(err));
	if (rc == 0) {
		out[strcspn(out, "\n")] = '\0';
		strlcpy(buf, out, len);
	}
	free(out);
	return rc;
}

int
child_tool_version(char *buf, size_t len, const char *tool, ...)
{
	struct child_args	 a = { 0 };
	const char		*arg;
	va_list			 ap;

	child_args_add(&a, tool);
	va_start(ap, tool);
	while ((arg = va_arg(ap, const char *)) != NULL)
		child_args_add(&a, arg);
	va_end(ap);
	return child_version(&a, buf, len);
}
