/*
 * progress: counters, and a log line or a terminal bar when due.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/stream/progress.h"

#define PROGRESS_LOG_MS		10000
#define PROGRESS_BAR_MS		250
#define PROGRESS_BAR_WIDTH	30

static const char *kind_names[] = { "backup", "restore", "unpack" };

void
progress_start(struct progress *p, enum progress_kind kind, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->total = total;
	p->start_ms = monotonic_ms();
	p->bar_fd = 2;
	p->bar = kind != PROGRESS_BACKUP && isatty(2);
	p->interval_ms = p->bar ? PROGRESS_BAR_MS : PROGRESS_LOG_MS;
	atomic_store(&p->due_ms, p->start_ms + p->interval_ms);
	pthread_mutex_init(&p->lock, NULL);
}

void
progress_set_output(struct progress *p, int bar, int fd, int interval_ms)
{
	p->bar = bar;
	p->bar_fd = fd;
	p->interval_ms = interval_ms;
	atomic_store(&p->due_ms, p->start_ms + interval_ms);
}

void
progress_set_heartbeat(struct progress *p, void (*fn)(void *), void *arg, int interval_ms)
{
	p->beat = fn;
	p->beat_arg = arg;
	p->beat_ms = interval_ms;
	p->beat_due_ms = monotonic_ms() + interval_ms;
}

void
progress_add_read(struct progress *p, uint64_t n)
{
	atomic_fetch_add(&p->read, n);
}

void
progress_add_stored(struct progress *p, uint64_t n)
{
	atomic_fetch_add(&p->stored, n);
}

static void
format_elapsed(int64_t ms, char *buf, size_t len)
{
	int64_t	s = ms / 1000;

	if (s >= 3600)
		snprintf(buf, len, "%lldh%02lldm%02llds", (long long)(s / 3600),
		    (long long)(s / 60 % 60), (long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
}

static void
format_rate(uint64_t bytes, int64_t ms, char *buf, size_t len)
{
	char	b[16];

	format_bytes(ms > 0 ? (uint64_t)((double)bytes * 1000.0 / (double)ms) : 0, b);
	snprintf(buf, len, "%s/s", b);
}

static void
print_log(struct progress *p, int64_t now, const char *msg)
{
	char		 rd[16], st[16], rate[24], el[32], rdn[24];
	uint64_t	 r = atomic_load(&p->read), s = atomic_load(&p->stored);

	format_bytes(r, rd);
	format_bytes(s, st);
	format_rate(r, now - p->start_ms, rate, sizeof(rate));
	format_elapsed(now - p->start_ms, el, sizeof(el));
	snprintf(rdn, sizeof(rdn), "%llu", (unsigned long long)r);
	log_kv(LOGL_INFO, msg, "job", kind_names[p->kind], "read", rd, "stored", st,
	    "rate", rate, "elapsed", el, "read_bytes", rdn, (char *)NULL);
}

static void
print_bar(struct progress *p, int64_t now, const char *end)
{
	char		 line[160], bar[PROGRESS_BAR_WIDTH + 1], rd[16], tot[16], rate[24];
	char		 el[32];
	uint64_t	 r = atomic_load(&p->read);
	int		 i, fill, pct;

	format_bytes(r, rd);
	format_rate(r, now - p->start_ms, rate, sizeof(rate));
	format_elapsed(now - p->start_ms, el, sizeof(el));
	if (p->total > 0) {
		pct = r >= p->total ? 100 : (int)(r * 100 / p->total);
		fill = pct * PROGRESS_BAR_WIDTH / 100;
		for (i = 0; i < PROGRESS_BAR_WIDTH; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[PROGRESS_BAR_WIDTH] = '\0';
		format_bytes(p->total, tot);
		snprintf(line, sizeof(line), "\r%s [%s] %3d%% %s / %s  %s  %s\033[K%s",
		    kind_names[p->kind], bar, pct, rd, tot, rate, el, end);
	} else
		snprintf(line, sizeof(line), "\r%s %s  %s  %s\033[K%s", kind_names[p->kind],
		    rd, rate, el, end);
	(void)write_all(p->bar_fd, line, strlen(line));
}

void
progress_tick(struct progress *p)
{
	int64_t	now = monotonic_ms(), due = atomic_load(&p->due_ms);

	if (p->beat != NULL && now >= p->beat_due_ms) {
		p->beat_due_ms = now + p->beat_ms;
		p->beat(p->beat_arg);
	}
	if (now < due)
		return;
	/* Whoever wins the exchange prints; the others go on. */
	if (!atomic_compare_exchange_strong(&p->due_ms, &due, now + p->interval_ms))
		return;
	pthread_mutex_lock(&p->lock);
	if (p->bar)
		print_bar(p, now, "");
	else
		print_log(p, now, "progress");
	pthread_mutex_unlock(&p->lock);
}

void
progress_finish(struct progress *p, int ok)
{
	int64_t	now = monotonic_ms();

	pthread_mutex_lock(&p->lock);
	if (p->bar)
		print_bar(p, now, "\n");
	print_log(p, now, ok ? "progress: done" : "progress: stopped");
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_destroy(&p->lock);
}
