#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int
bt_read_file(const char *path, long long max, const char *limit,
    char **bufp, size_t *lenp, struct bt_err *e)
{
	int fd, isstdin = strcmp(path, "-") == 0;
	size_t cap = 65536, len = 0;
	char *buf;

	fd = isstdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bt_errf(e, BT_EX_NOINPUT, -1, "%s", strerror(errno));
	if (!isstdin) {
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			if (st.st_size > max) {
				close(fd);
				return bt_errf(e, BT_EX_DATAERR, -1,
				    "file larger than %lld bytes%s%s%s", max,
				    limit ? " (limit " : "", limit ? limit : "",
				    limit ? ")" : "");
			}
			/* Room for the NUL and for read(2) to see EOF. */
			cap = (size_t)st.st_size + 2;
		} else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(fd);
			return bt_errf(e, BT_EX_NOINPUT, -1,
			    "is a directory");
		}
	}
	if ((buf = malloc(cap)) == NULL) {
		if (!isstdin)
			close(fd);
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *p;

			cap *= 2;
			if ((p = realloc(buf, cap)) == NULL) {
				free(buf);
				if (!isstdin)
					close(fd);
				return bt_errf(e, BT_EX_SOFTWARE, -1,
				    "out of memory");
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			free(buf);
			if (!isstdin)
				close(fd);
			return bt_errf(e, BT_EX_IOERR, -1, "read: %s",
			    strerror(err));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if ((long long)len > max) {
			free(buf);
			if (!isstdin)
				close(fd);
			return bt_errf(e, BT_EX_DATAERR, -1,
			    "input larger than %lld bytes%s%s%s", max,
			    limit ? " (limit " : "", limit ? limit : "",
			    limit ? ")" : "");
		}
	}
	if (!isstdin)
		close(fd);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

int
bt_strtonum(const char *s, long long min, long long max, long long *out,
    struct bt_err *e)
{
	char *end;
	long long v;

	errno = 0;
	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return bt_errf(e, BT_EX_USAGE, -1, "'%s': not a number",
		    s ? s : "");
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return bt_errf(e, BT_EX_USAGE, -1, "'%s': not a number", s);
	if (errno == ERANGE || v < min || v > max)
		return bt_errf(e, BT_EX_USAGE, -1,
		    "'%s': out of range %lld to %lld", s, min, max);
	*out = v;
	return 0;
}

void
bt_hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
bt_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
bt_peer_vlog(void (*on_log)(void *, int, const char *), void *arg,
    int level, const char *name, const char *fmt, va_list ap)
{
	char msg[768];
	int n;

	if (on_log == NULL)
		return;
	n = snprintf(msg, sizeof(msg), "%s: ", name);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	on_log(arg, level, msg);
}

long long
bt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
bt_unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
	size_t i;

	if (slen != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		int hi = bt_hexval((unsigned char)s[2 * i]);
		int lo = bt_hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int
bt_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t l;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_seq(p + i, n - i, &cp)) == 0)
			return 0;
		i += l;
	}
	return 1;
}

char *
bt_escape(const char *s, size_t n, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;

	if (outsz == 0)
		return out;
	while (i < n) {
		uint32_t cp = 0;
		size_t l = p[i] < 0x80 ? 1 : utf8_seq(p + i, n - i, &cp);
		int bidi = l > 1 && ((cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
		    cp == 0x200f || cp == 0x061c);

		if (l == 1 && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			if (o + 2 > outsz)
				break;
			out[o++] = (char)p[i];
		} else if (l > 1 && !bidi && (cp < 0x80 || cp >= 0xa0)) {
			if (o + l + 1 > outsz)
				break;
			memcpy(out + o, p + i, l);
			o += l;
		} else {
			size_t k, m = l ? l : 1;

			if (o + 4 * m + 1 > outsz)
				break;
			for (k = 0; k < m; k++) {
				snprintf(out + o, 5, "\\x%02x", p[i + k]);
				o += 4;
			}
			l = m;
		}
		i += l;
	}
	out[o] = '\0';
	return out;
}
