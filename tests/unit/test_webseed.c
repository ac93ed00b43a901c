/* Web seed URLs (BEP 19): single-file and multi-file rules. */
#include <stdlib.h>
#include <string.h>

#include "metainfo.h"
#include "webseed.h"

#include "t.h"

static const char single[] = "d4:infod6:lengthi1e4:name11:my file.iso"
    "12:piece lengthi16384e6:pieces20:01234567890123456789ee";
static const char multi[] = "d4:infod5:filesld6:lengthi1e4:pathl3:a bee"
    "d6:lengthi1e4:pathl3:sub5:x y#zeee4:name4:se t"
    "12:piece lengthi16384e6:pieces20:01234567890123456789ee";

static int
load(struct bt_torrent *t, const char *s)
{
	struct bt_err e;
	char *p = malloc(strlen(s));

	if (p == NULL)
		return -1;
	memcpy(p, s, strlen(s));
	if (bt_torrent_parse(t, p, strlen(s), &e) < 0) {
		printf("# refused: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static void
url(const struct bt_torrent *t, const char *base, size_t k, const char *want,
    const char *what)
{
	char out[256];
	struct bt_err e;
	int r;

	r = bt_webseed_url(t, base, k, out, sizeof(out), &e);
	T_STREQ(r == 0 ? out : e.msg, want, "%s", what);
}

int
main(void)
{
	struct bt_torrent t;
	struct bt_err e;
	char small[24];

	T_OK(load(&t, single) == 0, "a single-file torrent parses");
	url(&t, "http://h/pub/file.iso", 0, "http://h/pub/file.iso",
	    "single file: the URL is the file itself");
	url(&t, "http://h/pub/", 0, "http://h/pub/my%20file.iso",
	    "single file: a URL ending in '/' gets the name, encoded");
	T_OK(bt_webseed_url(&t, "http://h/pub/", 0, small, sizeof(small),
	    &e) == -1 && strstr(e.msg, "BT_WEBSEED_MAX_URL") != NULL,
	    "a URL longer than the room is refused: %s", e.msg);
	bt_torrent_free(&t);

	T_OK(load(&t, multi) == 0, "a multi-file torrent parses");
	url(&t, "http://h/pub", 0, "http://h/pub/se%20t/a%20b",
	    "multi-file: '/' added, then the name and the path, encoded");
	url(&t, "http://h/pub/", 1, "http://h/pub/se%20t/sub/x%20y%23z",
	    "multi-file: each component encoded, joined by '/'");
	bt_torrent_free(&t);
	return t_done();
}
