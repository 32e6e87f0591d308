/*
 * cancel: a flag set from signal handlers, and a pipe that wakes poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "common/cancel.h"

static volatile sig_atomic_t	cancelled;
static int			cancel_pipe[2] = { -1, -1 };

void
cancel_init(void)
{
	int	i;

	if (cancel_pipe[0] != -1 || pipe(cancel_pipe) == -1)
		return;
	for (i = 0; i < 2; i++) {
		fcntl(cancel_pipe[i], F_SETFD, FD_CLOEXEC);
		fcntl(cancel_pipe[i], F_SETFL, O_NONBLOCK);
	}
}

void
cancel_request(void)
{
	int	saved = errno;

	cancelled = 1;
	if (cancel_pipe[1] != -1)
		(void)!write(cancel_pipe[1], "c", 1);
	errno = saved;
}

int
cancel_requested(void)
{
	return cancelled != 0;
}

int
cancel_fd(void)
{
	return cancel_pipe[0];
}

void
cancel_reset(void)
{
	char	buf[64];

	cancelled = 0;
	if (cancel_pipe[0] != -1)
		while (read(cancel_pipe[0], buf, sizeof(buf)) > 0)
			;
}
