/*
 * What an engine holds to serve, and reading it (lib/held.h).
 */
#include <stdlib.h>
#include <string.h>

#include "held.h"
#include "seed_int.h"
#include "util.h"
#include "wire.h"

int
bt_held_open(struct bt_held *h, const struct bt_torrent *t, const char *dir,
    int fdcache, size_t cache, struct bt_err *e)
{
	size_t nb = (t->npieces + 7) / 8 + 1;
	unsigned k;
	uint32_t i;

	memset(h, 0, sizeof(*h));
	h->t = t;
	if ((h->have = calloc(1, nb)) == NULL ||
	    (h->checked = calloc(1, nb)) == NULL)
		goto oom;
	if (dir != NULL) {
		if ((h->data = calloc(1, sizeof(*h->data))) == NULL)
			goto oom;
		if (bt_sdata_open(h->data, t, dir, fdcache, e) < 0) {
			free(h->data);
			h->data = NULL;
			bt_held_close(h);
			return -1;
		}
	}
	/* Whole pieces within the bytes given. */
	h->ncache = (unsigned)(cache / (size_t)t->piece_length);
	if (h->ncache > t->npieces)
		h->ncache = t->npieces;
	if (h->ncache == 0)
		return 0;
	h->cbuf = calloc(h->ncache, sizeof(*h->cbuf));
	h->cidx = malloc(h->ncache * sizeof(*h->cidx));
	h->cslot = malloc(((size_t)t->npieces + 1) * sizeof(*h->cslot));
	if (h->cbuf == NULL || h->cidx == NULL || h->cslot == NULL)
		goto oom;
	for (k = 0; k < h->ncache; k++)
		h->cidx[k] = UINT32_MAX;
	for (i = 0; i < t->npieces; i++)
		h->cslot[i] = -1;
	return 0;
oom:
	bt_held_close(h);
	return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
}

void
bt_held_close(struct bt_held *h)
{
	unsigned k;

	if (h->data != NULL) {
		bt_sdata_close(h->data);
		free(h->data);
	}
	if (h->cbuf != NULL)
		for (k = 0; k < h->ncache; k++)
			free(h->cbuf[k]);
	free(h->cbuf);
	free(h->cidx);
	free(h->cslot);
	free(h->have);
	free(h->checked);
	memset(h, 0, sizeof(*h));
}

void
bt_held_set(struct bt_held *h, uint32_t i, int checked)
{
	if (!bt_bit_get(h->have, i)) {
		bt_bit_set(h->have, i);
		h->n++;
	}
	if (checked)
		bt_bit_set(h->checked, i);
}

int
bt_held_keep(struct bt_held *h, uint32_t i, const uint8_t *buf, size_t len)
{
	int was = bt_bit_get(h->have, i);
	unsigned k;

	if (h->ncache > 0 && h->cslot[i] < 0) {
		k = h->cnext;
		if (h->cidx[k] != UINT32_MAX)
			h->cslot[h->cidx[k]] = -1;
		h->cidx[k] = UINT32_MAX;
		if (h->cbuf[k] == NULL)
			h->cbuf[k] = malloc((size_t)h->t->piece_length);
		/* Out of memory: held all the same, served from the
		   folder if it has it, else refused. */
		if (h->cbuf[k] != NULL) {
			memcpy(h->cbuf[k], buf, len);
			h->cidx[k] = i;
			h->cslot[i] = (int32_t)k;
			h->cnext = (k + 1) % h->ncache;
		}
	}
	bt_held_set(h, i, 0);
	return !was;
}

void
bt_held_drop(struct bt_held *h, uint32_t i)
{
	if (!bt_bit_get(h->have, i))
		return;
	bt_bit_clear(h->have, i);
	h->n--;
	if (h->ncache > 0 && h->cslot[i] >= 0) {
		h->cidx[h->cslot[i]] = UINT32_MAX;
		h->cslot[i] = -1;
	}
}

int
bt_held_check(struct bt_held *h, uint32_t i)
{
	int r;

	if (h->data == NULL)
		return BT_SDATA_MISSING;
	if ((r = bt_sdata_check(h->data, i)) == BT_SDATA_OK)
		bt_held_set(h, i, 1);
	return r;
}

int
bt_held_read(struct bt_held *h, uint32_t i, uint32_t begin, size_t len,
    uint8_t *out)
{
	int r;

	if (!bt_held_has(h, i))
		return BT_SDATA_MISSING;
	if (h->ncache > 0 && h->cslot[i] >= 0) {
		memcpy(out, h->cbuf[h->cslot[i]] + begin, len);
		return BT_SDATA_OK;
	}
	if (h->data == NULL)
		return BT_SDATA_MISSING;
	if (!bt_bit_get(h->checked, i)) {
		if ((r = bt_sdata_check(h->data, i)) != BT_SDATA_OK)
			return r;
		bt_bit_set(h->checked, i);
	}
	return bt_sdata_read(h->data, i, begin, len, out);
}
