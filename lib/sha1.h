/* SHA-1, and SHA-256 for BEP 52: the only place that includes OpenSSL. */
#ifndef BT_SHA1_H
#define BT_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define BT_SHA1_LEN 20
#define BT_SHA256_LEN 32

struct bt_sha1 {
	void *ctx;		/* EVP_MD_CTX */
};

void bt_sha1(const void *p, size_t n, uint8_t out[BT_SHA1_LEN]);
int bt_sha1_init(struct bt_sha1 *s);
void bt_sha1_update(struct bt_sha1 *s, const void *p, size_t n);
void bt_sha1_final(struct bt_sha1 *s, uint8_t out[BT_SHA1_LEN]);

void bt_sha256(const void *p, size_t n, uint8_t out[BT_SHA256_LEN]);

#endif
