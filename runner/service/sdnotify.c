/*
 * sdnotify: sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "runner/service/sdnotify.h"

int
sd_notify_send(const char *state, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	const char		*path;
	size_t			 len;
	socklen_t		 salen;
	int			 fd;
	ssize_t			 n;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return 0;
	if (path[0] != '/' && path[0] != '@')
		return errf(err, errlen, "NOTIFY_SOCKET %s: not a path", path);
	len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return errf(err, errlen, "NOTIFY_SOCKET: path too long");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return errf(err, errlen, "socket: %s", strerror(errno));
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, salen);
	close(fd);
	if (n == -1)
		return errf(err, errlen, "NOTIFY_SOCKET %s: %s", path, strerror(errno));
	return 0;
}

static int
send_quiet(const char *state)
{
	char	err[KB_ERRLEN];

	return sd_notify_send(state, err, sizeof(err));
}

int
sd_notify_ready(void)
{
	return send_quiet("READY=1");
}

int
sd_notify_stopping(void)
{
	return send_quiet("STOPPING=1");
}

/* sd_notify(3): RELOADING=1 comes with the CLOCK_MONOTONIC time it began. */
int
sd_notify_reloading(void)
{
	struct timespec	ts;
	char		msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	return send_quiet(msg);
}

int
sd_notify_status(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;
	size_t	i;

	strlcpy(msg, "STATUS=", sizeof(msg));
	va_start(ap, fmt);
	vsnprintf(msg + 7, sizeof(msg) - 7, fmt, ap);
	va_end(ap);
	/* One line: a newline would start another assignment. */
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n')
			msg[i] = ' ';
	return send_quiet(msg);
}
