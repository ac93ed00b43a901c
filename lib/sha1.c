#include <openssl/evp.h>
#include <openssl/sha.h>

#include "sha1.h"

void
bt_sha1(const void *p, size_t n, uint8_t out[BT_SHA1_LEN])
{
	SHA1(p, n, out);
}

void
bt_sha256(const void *p, size_t n, uint8_t out[BT_SHA256_LEN])
{
	SHA256(p, n, out);
}

int
bt_sha1_init(struct bt_sha1 *s)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha1(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		s->ctx = NULL;
		return -1;
	}
	s->ctx = c;
	return 0;
}

void
bt_sha1_update(struct bt_sha1 *s, const void *p, size_t n)
{
	EVP_DigestUpdate(s->ctx, p, n);
}

void
bt_sha1_final(struct bt_sha1 *s, uint8_t out[BT_SHA1_LEN])
{
	unsigned int n = BT_SHA1_LEN;

	EVP_DigestFinal_ex(s->ctx, out, &n);
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}
