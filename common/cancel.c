/*
 * cancel: signal handlers, a flag they set, and pipes that wake poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"

static volatile sig_atomic_t	cancelled, hangup, signo;
static int			cancel_pipe[2] = { -1, -1 };
static int			wake_pipe[2] = { -1, -1 };

static void
pipe_open(int p[2])
{
	int	i;

	if (p[0] != -1 || pipe(p) == -1)
		return;
	for (i = 0; i < 2; i++) {
		fcntl(p[i], F_SETFD, FD_CLOEXEC);
		fcntl(p[i], F_SETFL, O_NONBLOCK);
	}
}

static void
pipe_poke(int fd)
{
	int	saved = errno;

	if (fd != -1)
		(void)!write(fd, "c", 1);
	errno = saved;
}

static void
pipe_drain(int fd)
{
	char	buf[64];

	if (fd != -1)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
}

void
cancel_init(void)
{
	pipe_open(cancel_pipe);
	pipe_open(wake_pipe);
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP) {
		hangup = 1;
		pipe_poke(wake_pipe[1]);
	} else {
		signo = sig;
		cancel_request();
	}
}

void
cancel_signals(void)
{
	struct sigaction	sa;

	cancel_init();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void
cancel_request(void)
{
	cancelled = 1;
	pipe_poke(cancel_pipe[1]);
	pipe_poke(wake_pipe[1]);
}

int
cancel_requested(void)
{
	return cancelled != 0;
}

const char *
cancel_why(void)
{
	static char	buf[64];

	if (signo == 0)
		return "cancelled";
	snprintf(buf, sizeof(buf), "cancelled: interrupted by signal %d", (int)signo);
	return buf;
}

int
cancel_fd(void)
{
	return cancel_pipe[0];
}

void
cancel_reset(void)
{
	cancelled = 0;
	pipe_drain(cancel_pipe[0]);
}

void
cancel_wake(void)
{
	pipe_poke(wake_pipe[1]);
}

int
cancel_wake_fd(void)
{
	return wake_pipe[0];
}

void
cancel_wake_drain(void)
{
	pipe_drain(wake_pipe[0]);
}

int
cancel_hangup_take(void)
{
	int	h = hangup;

	hangup = 0;
	return h;
}

int
cancel_cleanup_begin(void)
{
	int	was = cancelled != 0;

	if (was)
		cancel_reset();
	return was;
}

void
cancel_cleanup_end(int was)
{
	if (was)
		cancel_request();
}
