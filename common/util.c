/*
 * util: allocation, error buffers, whole-buffer I/O and atomic file writes.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static void
oom(void)
{
	static const char msg[] = "kbackup: out of memory\n";

	(void)write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if ((p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size)) == NULL)
		oom();
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if ((p = reallocarray(ptr, nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size)) == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		oom();
	return p;
}

char *
xstrdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int
errprefix(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	char	 prefix[KB_ERRLEN];
	char	*old;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	old = xstrdup(err);
	snprintf(err, errlen, "%s: %s", prefix, old);
	free(old);
	return -1;
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

const char *
host_name(char *buf, size_t len, const char *fallback)
{
	if (gethostname(buf, len) == -1)
		strlcpy(buf, fallback, len);
	buf[len - 1] = '\0';
	return buf;
}

const char *
fd_name(int fd, char *buf, size_t len)
{
	char	link[32];
	ssize_t	n;
	int	saved = errno;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (len < 2 || (n = readlink(link, buf, len - 1)) <= 0)
		snprintf(buf, len, "fd %d", fd);
	else
		buf[n] = '\0';
	errno = saved;
	return buf;
}

void
read_to_end(int fd)
{
	char	buf[65536];
	ssize_t	n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n == -1 && errno == EINTR))
		;
}

/* read(2), or pread(2) from off when off >= 0, until len bytes or EOF. */
static ssize_t
read_until(int fd, void *buf, size_t len, off_t off)
{
	char	*p = buf;
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		n = off < 0 ? read(fd, p + got, len - got) :
		    pread(fd, p + got, len - got, off + (off_t)got);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t
read_full(int fd, void *buf, size_t len)
{
	return read_until(fd, buf, len, -1);
}

ssize_t
pread_full(int fd, void *buf, size_t len, off_t off)
{
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	return read_until(fd, buf, len, off);
}

int
read_file(const char *path, size_t max, char **bufp, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errf(err, errlen, "%s: not a regular file", path);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return errf(err, errlen, "%s: larger than %zu bytes", path, max);
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = read_full(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(buf);
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	buf[n] = '\0';
	*bufp = buf;
	if (lenp != NULL)
		*lenp = (size_t)n;
	return 0;
}

int
fsync_dir(const char *dir, char *err, size_t errlen)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errf(err, errlen, "%s: %s", dir, strerror(errno));
	if (fsync(fd) == -1 && errno != EINVAL) {
		close(fd);
		return errf(err, errlen, "fsync %s: %s", dir, strerror(errno));
	}
	close(fd);
	return 0;
}

int
write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode,
    char *err, size_t errlen)
{
	char	*tmp, *dir, *slash;
	int	 fd, rc = -1;

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) == -1) {
		errf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		errf(err, errlen, "write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		errf(err, errlen, "rename %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		rc = fsync_dir(*dir == '\0' ? "/" : dir, err, errlen);
	} else
		rc = fsync_dir(".", err, errlen);
	free(dir);
out:
	free(tmp);
	return rc;
}

int
mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
	char	*p, *s;

	p = xstrdup(path);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST) {
			errf(err, errlen, "mkdir %s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return 0;
}

int
mkdir_parent(const char *path, mode_t mode, char *err, size_t errlen)
{
	char	*dir, *slash;
	int	 rc = 0;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		rc = mkdir_p(dir, mode, err, errlen);
	}
	free(dir);
	return rc;
}

char *
path_join(const char *a, const char *b)
{
	size_t	alen;

	if (a == NULL || *a == '\0')
		return xstrdup(b);
	if (b == NULL || *b == '\0')
		return xstrdup(a);
	alen = strlen(a);
	while (alen > 1 && a[alen - 1] == '/')
		alen--;
	while (*b == '/')
		b++;
	return xasprintf("%.*s/%s", (int)alen, a, b);
}

int
time_check_clock(time_t t, char *err, size_t errlen)
{
	if (t < 0 || t > TIME_STORED_MAX)
		return errf(err, errlen, "this host's clock (Unix time %lld) lies outside the "
		    "years 1970 to 9999 that backup IDs and manifests hold: set the clock",
		    (long long)t);
	return 0;
}

void
time_to_id(time_t t, char buf[17])
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/*
 * Parses s in format (whole string) as UTC, and accepts it only when
 * formatting the time again gives s back: strptime alone takes "2026-1-5"
 * and "2026-02-30".
 */
static int
strict_utc(const char *s, const char *format, size_t len, time_t *t)
{
	struct tm	 tm;
	const char	*end;
	char		 back[32];
	time_t		 v;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != len || (end = strptime(s, format, &tm)) == NULL || *end != '\0')
		return -1;
	if (tm.tm_year < 70 || tm.tm_year > 8099)
		return -1;
	v = timegm(&tm);
	gmtime_r(&v, &tm);
	if (strftime(back, sizeof(back), format, &tm) != len || strcmp(back, s) != 0)
		return -1;
	*t = v;
	return 0;
}

int
id_to_time(const char *id, time_t *t)
{
	return strict_utc(id, "%Y%m%dT%H%M%SZ", 16, t);
}

int
rfc3339_to_time(const char *s, time_t *t)
{
	return strict_utc(s, "%Y-%m-%dT%H:%M:%SZ", 20, t);
}

void
time_to_rfc3339(time_t t, char buf[21])
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *in, size_t len, unsigned char *out)
{
	size_t	i;
	int	hi, lo;

	for (i = 0; i < len; i++) {
		if ((hi = hex_value((unsigned char)in[2 * i])) == -1 ||
		    (lo = hex_value((unsigned char)in[2 * i + 1])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void
format_bytes(uint64_t n, char buf[16])
{
	static const char	*units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double			 v = (double)n;
	int			 u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, 16, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, 16, "%.1f %s", v, units[u]);
}

char **
words_split(const char *s, size_t *np)
{
	char	**words = xcalloc(1, sizeof(*words));
	size_t	  n = 0, len;

	while (s != NULL && *s != '\0') {
		s += strspn(s, " \t");
		if ((len = strcspn(s, " \t")) == 0)
			break;
		words = xreallocarray(words, n + 2, sizeof(*words));
		words[n++] = xstrndup(s, len);
		s += len;
	}
	words[n] = NULL;
	if (np != NULL)
		*np = n;
	return words;
}

void
words_free(char **words)
{
	size_t	i;

	if (words == NULL)
		return;
	for (i = 0; words[i] != NULL; i++)
		free(words[i]);
	free(words);
}

long
peak_rss_kib(void)
{
	char	 line[128];
	long	 kib = -1;
	FILE	*f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

char *
str_quote(const char *s, char quote)
{
	char	*q, *p;

	q = p = xmalloc(2 * strlen(s) + 3);
	*p++ = quote;
	for (; *s != '\0'; s++) {
		if (*s == quote || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = quote;
	*p = '\0';
	return q;
}

int64_t
monotonic_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
monotonic_seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
dir_unlink_files(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		*path;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = path_join(dir, de->d_name);
		unlink(path);
		free(path);
	}
	closedir(d);
}

void
be32_put(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void
be64_put(unsigned char *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

uint32_t
be32_get(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t
be64_get(const unsigned char *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

uint16_t
le16_get(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t
le32_get(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint64_t
le64_get(const unsigned char *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}
