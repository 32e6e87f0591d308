/*
 * sdnotify: the systemd notification protocol without libsystemd.
 *
 * A datagram "READY=1", "STATUS=...", "STOPPING=1" or "RELOADING=1" to the
 * Unix socket named by $NOTIFY_SOCKET (a path, or an abstract name written
 * with a leading '@').  Without $NOTIFY_SOCKET (not started by systemd with
 * Type=notify) every call does nothing.  No watchdog: a backup runs for hours
 * in the daemon's main loop, which could not ping meanwhile.
 */
#ifndef KB_SDNOTIFY_H
#define KB_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Sends state (newline-separated assignments); 0 sent or nothing to do, -1 error. */
int	 sd_notify_send(const char *state, char *err, size_t errlen);
int	 sd_notify_ready(void);
int	 sd_notify_stopping(void);
int	 sd_notify_reloading(void);
int	 sd_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
