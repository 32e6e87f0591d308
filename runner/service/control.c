/*
 * control: the control socket server (accept thread, one worker thread for a
 * triggered job) and its client.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include <openssl/crypto.h>

#include "runner/service/control.h"

#define CONTROL_LINE_MAX	4096
#define CONTROL_MAX_ARGS	32
#define CONTROL_READ_TIMEOUT	5	/* seconds for the request line */
#define CONTROL_SEND_TIMEOUT	2	/* a stuck client stops getting log lines */

struct control {
	struct control_config	 cfg;
	char			*definition;	/* cfg's, copied: a reload frees the runner's */
	char			*path;
	int			 fd;
	int			 wake[2];	/* self-pipe: stop the accept thread */
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 busy;
	char			 desc[256];
	time_t			 started;
	int			 workers;	/* triggered jobs running */
};

/* A triggered job: its client connection and request words. */
struct control_work {
	struct control	*ctl;
	int		 fd;
	int		 alive;		/* the client still reads */
	int		 argc;
	char		*argv[CONTROL_MAX_ARGS + 1];
	char		 line[CONTROL_LINE_MAX];
};

static int
sock_path(const char *socket_path, struct sockaddr_un *sun, char **pathp, char *err,
    size_t errlen)
{
	char	*path;

	path = xstrdup(socket_path);
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >= sizeof(sun->sun_path)) {
		errf(err, errlen, "control socket %s: path too long", path);
		free(path);
		return -1;
	}
	*pathp = path;
	return 0;
}

/* Sends a line; marks the peer gone on failure.  Never raises SIGPIPE. */
static void
send_line(int fd, int *alive, const char *line)
{
	size_t	len = strlen(line), off = 0;
	ssize_t	n;

	while (*alive && off <= len) {
		if (off == len)
			n = send(fd, "\n", 1, MSG_NOSIGNAL);
		else
			n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			*alive = 0;
			break;
		}
		if (off == len)
			break;
		off += (size_t)n;
	}
}

static void
send_exit(int fd, int *alive, int status)
{
	char	line[32];

	snprintf(line, sizeof(line), "exit %d", status);
	send_line(fd, alive, line);
}

int
control_job_begin(struct control *ctl, const char *desc, char *busy, size_t busylen)
{
	char	ts[21];

	pthread_mutex_lock(&ctl->lock);
	if (ctl->busy) {
		time_to_rfc3339(ctl->started, ts);
		snprintf(busy, busylen, "busy: %s started at %s", ctl->desc, ts);
		pthread_mutex_unlock(&ctl->lock);
		return -1;
	}
	ctl->busy = 1;
	ctl->started = time(NULL);
	strlcpy(ctl->desc, desc, sizeof(ctl->desc));
	pthread_mutex_unlock(&ctl->lock);
	return 0;
}

void
control_job_end(struct control *ctl)
{
	pthread_mutex_lock(&ctl->lock);
	ctl->busy = 0;
	ctl->desc[0] = '\0';
	pthread_mutex_unlock(&ctl->lock);
}

int
control_job_running(struct control *ctl, char *desc, size_t desclen, time_t *started)
{
	int	busy;

	pthread_mutex_lock(&ctl->lock);
	busy = ctl->busy;
	if (busy) {
		strlcpy(desc, ctl->desc, desclen);
		*started = ctl->started;
	}
	pthread_mutex_unlock(&ctl->lock);
	return busy;
}

/* Log hook during a triggered job: the line to the client, then the chained hook. */
static void
forward_hook(const char *line, void *arg)
{
	struct control_work	*w = arg;

	send_line(w->fd, &w->alive, line);
	if (w->ctl->cfg.chain != NULL)
		w->ctl->cfg.chain(line, w->ctl->cfg.chain_arg);
}

static void *
worker(void *arg)
{
	struct control_work	*w = arg;
	struct control		*ctl = w->ctl;
	int			 status;

	log_set_hook(forward_hook, w);
	status = ctl->cfg.job(ctl->cfg.arg, w->argc, w->argv);
	log_set_hook(ctl->cfg.chain, ctl->cfg.chain_arg);
	/* Free the slot first: a client that saw "exit" may trigger again at once. */
	control_job_end(ctl);
	send_exit(w->fd, &w->alive, status);
	close(w->fd);
	free(w);
	/*
	 * The job used OpenSSL in this thread.  Free its thread state now: the
	 * thread is detached, and once workers reaches 0 the daemon may exit
	 * before thread-exit destructors would have run.
	 */
	OPENSSL_thread_stop();
	pthread_mutex_lock(&ctl->lock);
	ctl->workers--;
	pthread_cond_broadcast(&ctl->cond);
	pthread_mutex_unlock(&ctl->lock);
	return NULL;
}

/*
 * Reads the request line (bounded, with a timeout); 0 or -1.  The timeout is
 * for the whole line, not each read: the accept thread serves one client at a
 * time, and one that sent a byte every few seconds held off every other
 * trigger for hours.
 */
static int
read_request(int fd, char *line, size_t size)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	int64_t		deadline = monotonic_ms() + CONTROL_READ_TIMEOUT * 1000, left;
	size_t		off = 0;
	ssize_t		n;

	while (off < size - 1) {
		if ((left = deadline - monotonic_ms()) <= 0)
			return -1;
		if ((n = poll(&pfd, 1, (int)left)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		n = read(fd, line + off, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (line[off] == '\n')
			break;
		off++;
	}
	line[off] = '\0';
	if (off > 0 && line[off - 1] == '\r')
		line[off - 1] = '\0';
	return off < size - 1 ? 0 : -1;
}

static int
split_words(char *line, char **argv, int max)
{
	int	 argc = 0;
	char	*w;

	while ((w = strsep(&line, " \t")) != NULL) {
		if (*w == '\0')
			continue;
		if (argc == max)
			return -1;
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	return argc;
}

struct status_ctx {
	int	fd;
	int	alive;
};

static void
status_emit(void *arg, const char *line)
{
	struct status_ctx	*sc = arg;

	send_line(sc->fd, &sc->alive, line);
}

static void
serve_status(struct control *ctl, int fd)
{
	struct status_ctx	 sc = { fd, 1 };
	char			 line[400], ts[21];

	pthread_mutex_lock(&ctl->lock);
	if (ctl->busy) {
		time_to_rfc3339(ctl->started, ts);
		snprintf(line, sizeof(line), "running: %s started at %s", ctl->desc, ts);
	} else
		strlcpy(line, "idle", sizeof(line));
	pthread_mutex_unlock(&ctl->lock);
	send_line(fd, &sc.alive, line);
	if (ctl->cfg.status != NULL)
		ctl->cfg.status(ctl->cfg.arg, status_emit, &sc);
	send_exit(fd, &sc.alive, 0);
}

/* Takes the slot and hands the connection to a worker thread; closes fd otherwise. */
static void
start_job(struct control *ctl, struct control_work *w)
{
	char		 desc[256], id[17], busy[400];
	pthread_t	 t;
	pthread_attr_t	 attr;
	int		 i;

	if (strcmp(w->argv[0], "backup") == 0) {
		time_to_id(time(NULL), id);
		snprintf(desc, sizeof(desc), "backup %s", id);
	} else {
		strlcpy(desc, w->argv[0], sizeof(desc));
		for (i = 1; i < w->argc; i++) {
			strlcat(desc, " ", sizeof(desc));
			strlcat(desc, w->argv[i], sizeof(desc));
		}
	}
	if (control_job_begin(ctl, desc, busy, sizeof(busy)) == -1) {
		log_kv(LOGL_INFO, "control: job refused", "request", w->argv[0],
		    "reason", busy, NULL);
		send_line(w->fd, &w->alive, busy);
		send_exit(w->fd, &w->alive, 1);
		close(w->fd);
		free(w);
		return;
	}
	log_kv(LOGL_INFO, "control: job triggered", "job", desc, NULL);
	pthread_mutex_lock(&ctl->lock);
	ctl->workers++;
	pthread_mutex_unlock(&ctl->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, worker, w) != 0) {
		send_line(w->fd, &w->alive, "error: cannot start a thread");
		send_exit(w->fd, &w->alive, 1);
		close(w->fd);
		free(w);
		control_job_end(ctl);
		pthread_mutex_lock(&ctl->lock);
		ctl->workers--;
		pthread_mutex_unlock(&ctl->lock);
	}
	pthread_attr_destroy(&attr);
}

static void
serve(struct control *ctl, int fd)
{
	struct control_work	*w;
	struct timeval		 stv = { CONTROL_SEND_TIMEOUT, 0 };
	char			 msg[CONTROL_LINE_MAX + 64];

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof(stv));
	w = xcalloc(1, sizeof(*w));
	w->ctl = ctl;
	w->fd = fd;
	w->alive = 1;
	if (read_request(fd, w->line, sizeof(w->line)) == -1 ||
	    (w->argc = split_words(w->line, w->argv, CONTROL_MAX_ARGS)) <= 1) {
		send_line(fd, &w->alive, "error: expected DEFINITION and backup, restore "
		    "ARGS... or status");
		send_exit(fd, &w->alive, 2);
	} else if (strcmp(w->argv[0], ctl->definition) != 0) {
		snprintf(msg, sizeof(msg), "error: this daemon serves %s, not %s",
		    ctl->definition, w->argv[0]);
		send_line(fd, &w->alive, msg);
		send_exit(fd, &w->alive, 2);
	} else if (strcmp(w->argv[1], "status") == 0 && w->argc == 2) {
		serve_status(ctl, fd);
	} else if (strcmp(w->argv[1], "backup") == 0 ||
	    strcmp(w->argv[1], "restore") == 0) {
		if (w->argc > 2 && strcmp(w->argv[1], "backup") == 0) {
			send_line(fd, &w->alive, "error: backup takes no arguments");
			send_exit(fd, &w->alive, 2);
		} else {
			/* The job gets its words without the definition. */
			memmove(w->argv, w->argv + 1, (size_t)w->argc * sizeof(*w->argv));
			w->argc--;
			start_job(ctl, w);
			return;
		}
	} else {
		snprintf(msg, sizeof(msg), "error: unknown request: %s", w->argv[1]);
		send_line(fd, &w->alive, msg);
		send_exit(fd, &w->alive, 2);
	}
	close(fd);
	free(w);
}

static void *
accept_loop(void *arg)
{
	struct control	*ctl = arg;
	struct pollfd	 pfd[2];
	int		 fd;

	pfd[0].fd = ctl->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = ctl->wake[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_kv(LOGL_ERROR, "control socket: poll", "error", strerror(errno),
			    NULL);
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if ((fd = accept(ctl->fd, NULL, NULL)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
				log_kv(LOGL_WARN, "control socket: accept", "error",
				    strerror(errno), NULL);
			continue;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		serve(ctl, fd);
	}
	return NULL;
}

/* A socket file left by a dead daemon is removed; a live one is an error. */
static int
clear_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	int	fd, rc;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return errf(err, errlen, "socket: %s", strerror(errno));
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0)
		return errf(err, errlen, "control socket %s: another daemon is listening",
		    sun->sun_path);
	if (unlink(sun->sun_path) == -1 && errno != ENOENT)
		return errf(err, errlen, "unlink %s: %s", sun->sun_path, strerror(errno));
	return 0;
}

static int
bind_socket(struct control *ctl, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	mode_t	old;
	int	rc;

	if ((ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return errf(err, errlen, "socket: %s", strerror(errno));
	/* The umask makes it 0600 from the start; chmod in case the umask was ignored. */
	old = umask(0177);
	rc = bind(ctl->fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(old);
	if (rc == -1 || chmod(sun->sun_path, 0600) == -1 || listen(ctl->fd, 8) == -1) {
		errf(err, errlen, "control socket %s: %s", sun->sun_path, strerror(errno));
		close(ctl->fd);
		return -1;
	}
	return 0;
}

int
control_start(struct control **ctlp, const struct control_config *cfg, char *err,
    size_t errlen)
{
	struct control		*ctl;
	struct sockaddr_un	 sun;

	ctl = xcalloc(1, sizeof(*ctl));
	ctl->cfg = *cfg;
	ctl->definition = xstrdup(cfg->definition);
	ctl->fd = -1;
	if (sock_path(cfg->socket_path, &sun, &ctl->path, err, errlen) == -1) {
		free(ctl->definition);
		free(ctl);
		return -1;
	}
	if (clear_stale(&sun, err, errlen) == -1 || bind_socket(ctl, &sun, err, errlen) == -1)
		goto fail;
	if (pipe(ctl->wake) == -1) {
		errf(err, errlen, "pipe: %s", strerror(errno));
		close(ctl->fd);
		unlink(ctl->path);
		goto fail;
	}
	fcntl(ctl->wake[0], F_SETFD, FD_CLOEXEC);
	fcntl(ctl->wake[1], F_SETFD, FD_CLOEXEC);
	pthread_mutex_init(&ctl->lock, NULL);
	pthread_cond_init(&ctl->cond, NULL);
	if (pthread_create(&ctl->thread, NULL, accept_loop, ctl) != 0) {
		errf(err, errlen, "control socket: cannot start a thread");
		close(ctl->fd);
		close(ctl->wake[0]);
		close(ctl->wake[1]);
		unlink(ctl->path);
		pthread_mutex_destroy(&ctl->lock);
		pthread_cond_destroy(&ctl->cond);
		goto fail;
	}
	*ctlp = ctl;
	return 0;
fail:
	free(ctl->definition);
	free(ctl->path);
	free(ctl);
	return -1;
}

void
control_stop(struct control *ctl)
{
	if (ctl == NULL)
		return;
	(void)write(ctl->wake[1], "x", 1);
	pthread_join(ctl->thread, NULL);
	close(ctl->fd);
	unlink(ctl->path);
	pthread_mutex_lock(&ctl->lock);
	while (ctl->workers > 0)
		pthread_cond_wait(&ctl->cond, &ctl->lock);
	pthread_mutex_unlock(&ctl->lock);
	close(ctl->wake[0]);
	close(ctl->wake[1]);
	pthread_mutex_destroy(&ctl->lock);
	pthread_cond_destroy(&ctl->cond);
	free(ctl->definition);
	free(ctl->path);
	free(ctl);
}

/* Joins argv with single blanks; refuses words a one-line protocol cannot carry. */
static int
build_request(const char *definition, int argc, char **argv, char *line, size_t size,
    char *err, size_t errlen)
{
	int	i;

	if (argc < 1)
		return errf(err, errlen, "trigger: expected backup, restore ARGS... or status");
	strlcpy(line, definition, size);
	for (i = 0; i < argc; i++) {
		if (argv[i][0] == '\0' || strpbrk(argv[i], " \t\r\n") != NULL)
			return errf(err, errlen, "trigger: argument \"%s\" is empty or "
			    "contains blanks", argv[i]);
		strlcat(line, " ", size);
		if (strlcat(line, argv[i], size) >= size)
			return errf(err, errlen, "trigger: request too long");
	}
	if (strlcat(line, "\n", size) >= size)
		return errf(err, errlen, "trigger: request too long");
	return 0;
}

int
control_client(const char *socket_path, const char *definition, int argc, char **argv,
    FILE *out, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	char			 req[CONTROL_LINE_MAX], *path, *line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;
	FILE			*in;
	int			 fd, status = -1;
	const char		*errstr;

	if (build_request(definition, argc, argv, req, sizeof(req), err, errlen) == -1)
		return -1;
	if (sock_path(socket_path, &sun, &path, err, errlen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		errf(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		errf(err, errlen, "no daemon listening on %s (%s): is \"kbackup-runner run\" "
		    "running with this config?", path, strerror(errno));
		close(fd);
		goto out;
	}
	if (write_all(fd, req, strlen(req)) == -1) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	if ((in = fdopen(fd, "r")) == NULL) {
		errf(err, errlen, "fdopen: %s", strerror(errno));
		close(fd);
		goto out;
	}
	while ((n = getline(&line, &cap, in)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (startswith(line, "exit ")) {
			status = (int)strtonum(line + 5, 0, 255, &errstr);
			if (errstr != NULL)
				status = -1;
			break;
		}
		fprintf(out, "%s\n", line);
		fflush(out);
	}
	fclose(in);
	free(line);
	if (status == -1)
		errf(err, errlen, "%s: the daemon closed the connection without an exit "
		    "status", path);
out:
	free(path);
	return status;
}
