#include <stdint.h>
#include <stdlib.h>

#include "bencode.h"
#include "btlimits.h"
#include "json.h"
#include "t.h"

static char got[4096];

/* bencode text -> JSON text (into got), or the error message. */
static const char *
to_json(const char *s, size_t n)
{
	struct bt_bdoc d;
	struct bt_buf b = { 0 };
	struct bt_err e;

	if (bt_bdecode(&d, s, n, 0, &e) < 0) {
		snprintf(got, sizeof(got), "error: %s", e.msg);
	} else if (bt_json_bvalue(&b, &d, &d.node[0]) < 0) {
		snprintf(got, sizeof(got), "oom");
	} else {
		snprintf(got, sizeof(got), "%.*s", (int)b.len, b.p);
	}
	bt_bdoc_free(&d);
	bt_buf_free(&b);
	return got;
}

static const char *
bj(const char *s)
{
	return to_json(s, strlen(s));
}

/* JSON text -> bencode of every value, back to back, or the error. */
static const char *
to_benc_n(const char *s, size_t n, int *nval)
{
	struct bt_json_reader r;
	struct bt_buf b = { 0 };
	struct bt_err e;
	int rc, k = 0;

	bt_json_reader_mem(&r, s, n);
	while ((rc = bt_json_next(&r, &b, &e)) == 1)
		k++;
	if (rc < 0)
		snprintf(got, sizeof(got), "error %d: %s", e.status, e.msg);
	else
		snprintf(got, sizeof(got), "%.*s", (int)b.len, b.p ? b.p : "");
	if (nval != NULL)
		*nval = k;
	bt_buf_free(&b);
	bt_json_reader_free(&r);
	return got;
}

static const char *
jb(const char *s)
{
	return to_benc_n(s, strlen(s), NULL);
}

int
main(void)
{
	char *deep;
	int nval, i;

	/* Writer. */
	T_STREQ(bj("i0e"), "0", "zero");
	T_STREQ(bj("i-42e"), "-42", "a negative integer");
	T_STREQ(bj("i9223372036854775807e"), "9223372036854775807",
	    "INT64_MAX exact");
	T_STREQ(bj("i-9223372036854775808e"), "-9223372036854775808",
	    "INT64_MIN exact");
	T_STREQ(bj("0:"), "\"\"", "the empty string");
	T_STREQ(bj("7:a\"b\\c/d"), "\"a\\\"b\\\\c/d\"",
	    "quote and backslash escaped, slash not");
	T_STREQ(to_json("4:\x00\x1f\n\x7f", 6),
	    "\"\\u0000\\u001f\\u000a\\u007f\"",
	    "control characters and DEL as \\u00xx");
	T_STREQ(bj("5:\xc2\x9b\xe2\x80\xae"), "\"\\u009b\\u202e\"",
	    "C1 and bidi controls as \\uXXXX");
	T_STREQ(bj("5:\xc3\xa9t\xc3\xa9"), "\"\xc3\xa9t\xc3\xa9\"",
	    "UTF-8 passes through");
	T_STREQ(to_json("2:\xff\x00", 4), "\"hex:ff00\"",
	    "invalid UTF-8 as hex:");
	T_STREQ(bj("2:\xc0\xaf"), "\"hex:c0af\"", "an overlong form as hex:");
	T_STREQ(bj("3:\xed\xa0\x80"), "\"hex:eda080\"", "a surrogate as hex:");
	T_STREQ(bj("4:hex:"), "\"hex:6865783a\"",
	    "a string starting hex: as hex:");
	T_STREQ(bj("3:hex"), "\"hex\"", "\"hex\" alone is text");
	T_STREQ(bj("5:HEX:a"), "\"HEX:a\"", "the prefix is case-sensitive");
	T_STREQ(bj("le"), "[]", "empty list");
	T_STREQ(bj("de"), "{}", "empty dict");
	T_STREQ(bj("li1eli2eleedee"), "[1,[2,[]],{}]", "nested lists");
	T_STREQ(bj("d1:bi1e1:ad1:xlee1:c0:e"), "{\"b\":1,\"a\":{\"x\":[]},"
	    "\"c\":\"\"}", "dict keys in input order, nested");
	T_STREQ(bj("d2:\xff\xffi1ee"), "{\"hex:ffff\":1}", "a non-UTF-8 key");
	memset(got, 0, sizeof(got));
	deep = malloc(2 * BT_BENCODE_MAX_DEPTH + 1);
	for (i = 0; i < BT_BENCODE_MAX_DEPTH; i++) {
		deep[i] = 'l';
		deep[BT_BENCODE_MAX_DEPTH + i] = 'e';
	}
	to_json(deep, 2 * BT_BENCODE_MAX_DEPTH);
	T_OK(strlen(got) == 2 * BT_BENCODE_MAX_DEPTH && got[0] == '[' &&
	    got[2 * BT_BENCODE_MAX_DEPTH - 1] == ']',
	    "the deepest value the decoder allows is written");
	free(deep);

	/* Reader. */
	T_STREQ(jb("0"), "i0e", "zero");
	T_STREQ(jb(" -42 "), "i-42e", "white space around a value");
	T_STREQ(jb("9223372036854775807"), "i9223372036854775807e",
	    "INT64_MAX exact");
	T_STREQ(jb("-9223372036854775808"), "i-9223372036854775808e",
	    "INT64_MIN exact");
	T_STREQ(jb("\"\""), "0:", "the empty string");
	T_STREQ(jb("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""),
	    "12:a\"b\\c/d\b\f\n\r\t", "every short escape");
	T_STREQ(jb("\"\\u00e9\\u20ac\""), "5:\xc3\xa9\xe2\x82\xac",
	    "\\u escapes become UTF-8");
	T_STREQ(jb("\"\\ud83d\\ude00\""), "4:\xf0\x9f\x98\x80",
	    "a surrogate pair becomes one 4-byte character");
	T_STREQ(to_benc_n("\"\\u0000\"", 8, NULL), "1:", "\\u0000 is a byte");
	T_STREQ(jb("\"hex:ff00\""), "2:\xff", "hex: decoded (NUL inside)");
	T_OK(got[2] == '\xff' && got[3] == '\0', "hex: gives both bytes");
	T_STREQ(jb("\"hex:\""), "0:", "hex: alone is the empty string");
	T_STREQ(jb("\"hex:4142\""), "2:AB", "hex: of text is accepted");
	T_STREQ(jb("[]"), "le", "empty array");
	T_STREQ(jb("{}"), "de", "empty object");
	T_STREQ(jb("{\"b\":1,\"a\":[\"x\",{}]}"), "d1:bi1e1:al1:xdeee",
	    "object key order is kept");
	T_STREQ(jb("{\"hex:ffff\":1}"), "d2:\xff\xffi1ee", "a hex: key");
	T_STREQ(to_benc_n("1 [2]\n{\"a\":3}\"x\"", 16, &nval),
	    "i1eli2eed1:ai3ee1:x", "values back to back");
	T_OK(nval == 4, "four values counted");
	T_STREQ(to_benc_n("  \n ", 4, &nval), "", "only white space");
	T_OK(nval == 0, "no value in white space");

	/* Refusals. */
	T_STREQ(jb("1.5"), "error 65: line 1, column 1: number with a fraction "
	    "or exponent has no bencode form (bencode has only integers)",
	    "a float");
	T_STREQ(jb("[1e3]"), "error 65: line 1, column 2: number with a "
	    "fraction or exponent has no bencode form (bencode has only "
	    "integers)", "an exponent");
	T_STREQ(jb("true"), "error 65: line 1, column 1: true has no bencode "
	    "form", "true");
	T_STREQ(jb("[false]"), "error 65: line 1, column 2: false has no "
	    "bencode form", "false");
	T_STREQ(jb("\n\n  null"), "error 65: line 3, column 3: null has no "
	    "bencode form", "null, line and column");
	T_STREQ(jb("9223372036854775808"), "error 65: line 1, column 1: "
	    "integer out of the 64-bit range", "INT64_MAX + 1");
	T_STREQ(jb("-9223372036854775809"), "error 65: line 1, column 1: "
	    "integer out of the 64-bit range", "INT64_MIN - 1");
	T_STREQ(jb("-0"), "error 65: line 1, column 1: -0 has no bencode form",
	    "-0");
	T_STREQ(jb("012"), "error 65: line 1, column 1: leading zero in a "
	    "number", "a leading zero");
	T_STREQ(jb("-"), "error 65: line 1, column 1: invalid number",
	    "a lone minus");
	T_STREQ(jb("\"hex:abc\""), "error 65: line 1, column 1: \"hex:\" "
	    "string with an odd number of digits or a non-hex digit",
	    "hex: with an odd count");
	T_STREQ(jb("\"hex:zz\""), "error 65: line 1, column 1: \"hex:\" "
	    "string with an odd number of digits or a non-hex digit",
	    "hex: with a non-hex digit");
	T_STREQ(jb("\"\\ud800\""), "error 65: line 1, column 2: lone high "
	    "surrogate \\ud800 has no UTF-8 form", "a lone high surrogate");
	T_STREQ(jb("\"\\udc00\""), "error 65: line 1, column 2: lone low "
	    "surrogate \\udc00 has no UTF-8 form", "a lone low surrogate");
	T_STREQ(jb("\"\\x\""), "error 65: line 1, column 2: invalid escape "
	    "'\\x'", "an unknown escape");
	T_STREQ(jb("\"\\u12g4\""), "error 65: line 1, column 6: invalid \\u "
	    "escape", "a bad \\u escape");
	T_STREQ(jb("\"a\tb\""), "error 65: line 1, column 3: control "
	    "character 0x09 in a string (must be escaped)", "a raw tab");
	T_STREQ(jb("\"\xff\""), "error 65: line 1, column 1: string is not "
	    "valid UTF-8", "raw invalid UTF-8");
	T_STREQ(jb("\"abc"), "error 65: line 1, column 5: unexpected end of "
	    "input in a string", "an unterminated string");
	T_STREQ(jb("[1,2"), "error 65: line 1, column 5: unexpected end of "
	    "input inside an array", "an unterminated array");
	T_STREQ(jb("{\"a\":"), "error 65: line 1, column 6: unexpected end of "
	    "input inside an object", "an object cut after a colon");
	T_STREQ(jb("[1,]"), "error 65: line 1, column 4: unexpected "
	    "character ']'", "a trailing comma");
	T_STREQ(jb("[1 2]"), "error 65: line 1, column 4: unexpected "
	    "character '2' (expected ',' or ']')", "a missing comma");
	T_STREQ(jb("{1:2}"), "error 65: line 1, column 2: object key is not "
	    "a string", "a number as a key");
	T_STREQ(jb("{\"a\" 1}"), "error 65: line 1, column 6: unexpected "
	    "character '1' (expected ':' after an object key)",
	    "a missing colon");
	T_STREQ(jb("nul"), "error 65: line 1, column 1: invalid literal (not "
	    "JSON)", "a bad literal");
	T_STREQ(jb("[1] x"), "error 65: line 1, column 5: unexpected "
	    "character 'x'", "garbage after a value");

	deep = malloc(100000);
	memset(deep, '[', 100000);
	T_STREQ(to_benc_n(deep, 100000, NULL), "error 65: line 1, column 101: "
	    "nesting deeper than 100 (limit BT_JSON_MAX_DEPTH)",
	    "100000 open brackets hit the depth limit");
	free(deep);
	return t_done();
}
