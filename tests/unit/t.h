/*
 * A tiny TAP producer for the C unit tests: each check prints "ok N - what"
 * or "not ok N - what", and t_done() prints the plan and returns the exit
 * status. tests/run counts the lines.
 */
#ifndef BT_T_H
#define BT_T_H

#include <stdio.h>
#include <string.h>

static int t_n, t_failed;

#define T_OK(cond, ...) do {						\
	int t_k_ = (cond) ? 1 : 0;					\
	printf("%sok %d - ", t_k_ ? "" : "not ", ++t_n);		\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!t_k_) {							\
		t_failed++;						\
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__,	\
		    #cond);						\
	}								\
} while (0)

/* Two C strings equal; shows both when not. */
#define T_STREQ(got, want, ...) do {					\
	const char *t_g_ = (got), *t_w_ = (want);			\
	int t_c_ = t_g_ != NULL && t_w_ != NULL &&			\
	    strcmp(t_g_, t_w_) == 0;					\
	T_OK(t_c_, __VA_ARGS__);					\
	if (!t_c_)							\
		printf("#   got  '%s'\n#   want '%s'\n",		\
		    t_g_ ? t_g_ : "(null)", t_w_ ? t_w_ : "(null)");	\
} while (0)

static inline int
t_done(void)
{
	printf("1..%d\n", t_n);
	return t_failed ? 1 : 0;
}

#endif
