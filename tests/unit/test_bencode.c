#include <stdlib.h>

#include "bencode.h"
#include "t.h"

static int
dec(const char *s, struct bt_err *e)
{
	struct bt_bdoc d;
	long long r = bt_bdecode(&d, s, strlen(s), 0, e);

	bt_bdoc_free(&d);
	return r < 0 ? -1 : 0;
}

int
main(void)
{
	struct bt_err e;

	T_OK(dec("i42e", &e) == 0, "decodes an integer");
	T_OK(dec("i03e", &e) < 0, "rejects a leading zero in an integer");
	T_STREQ(e.msg, "leading zero in integer", "names the leading zero");
	return t_done();
}
