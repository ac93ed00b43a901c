#include <stdio.h>
#include <string.h>

#include "err.h"

int
bt_verrf(struct bt_err *e, int status, long long off, const char *fmt,
    va_list ap)
{
	if (e == NULL)
		return -1;
	e->status = status;
	e->off = off;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return -1;
}

int
bt_errf(struct bt_err *e, int status, long long off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bt_verrf(e, status, off, fmt, ap);
	va_end(ap);
	return -1;
}

void
bt_err_prefix(struct bt_err *e, const char *fmt, ...)
{
	char pre[256], old[sizeof(e->msg)];
	va_list ap;
	size_t n;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	n = strlen(pre);
	if (n > sizeof(e->msg) - 3)
		n = sizeof(e->msg) - 3;
	memcpy(e->msg, pre, n);
	memcpy(e->msg + n, ": ", 2);
	n += 2;
	old[sizeof(old) - 1 - n] = '\0';
	memcpy(e->msg + n, old, strlen(old) + 1);
}

void
bt_err_clear(struct bt_err *e)
{
	if (e == NULL)
		return;
	e->status = 0;
	e->off = -1;
	e->msg[0] = '\0';
}
