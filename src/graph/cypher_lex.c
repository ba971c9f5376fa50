/*
 * cypher_lex.c — Cypher lexer: query text to an array of tokens (pure C).
 *
 * NOTES
 *	The input is a byte range, not a C string: it may hold NUL bytes (the
 *	fuzzer sends them), which are errors like any other stray character.
 *	Nothing here reads past text + len.
 *
 *	Strings take '...' or "..." with the openCypher escapes (\\ \' \" \b \f
 *	\n \r \t, \u with four hex digits, \U with eight); the value is stored
 *	unescaped as UTF-8.
 *	A NUL character cannot be stored in PostgreSQL text or jsonb, so \u0000
 *	is refused here rather than later.  Identifiers are ASCII letters, digits
 *	and '_' plus any byte >= 0x80 (so non-ASCII letters work), or anything
 *	between backticks with `` for a backtick.
 *
 *	Integer literals keep their magnitude (up to 2^63, so that
 *	-9223372036854775808 can be folded by the parser); floats go through
 *	strtod, which is locale-independent for '.' in the server (LC_NUMERIC is
 *	always "C" there) and in the tests.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/cypher_lex.h"

typedef struct LexState
{
	const char *text;
	size_t		len;
	size_t		pos;
	CyAllocFn	alloc;
	void	   *ctx;
	CyTokens   *out;
	int			cap;
	CyParseError *err;
} LexState;

#define LEX_NUMBER_MAX 400

static bool
IsIdentStart(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool
IsIdentChar(unsigned char c)
{
	return IsIdentStart(c) || (c >= '0' && c <= '9');
}

static bool
IsDigit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Copies the token text at [start, start+n) into the error, escaping bytes
 * that are not printable ASCII or valid UTF-8 so the message stays valid.
 */
static void
SetErrorToken(CyParseError *err, const char *text, size_t len, size_t start, size_t n)
{
	size_t		o = 0;
	size_t		i = start;
	size_t		stop = start + n;

	if (stop > len)
		stop = len;
	while (i < stop && o + 8 < CY_ERROR_TOKEN_LEN)
	{
		unsigned char c = (unsigned char) text[i];
		int			clen = 0;

		if (c >= 0x20 && c < 0x7f)
			clen = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			clen = 2;
		else if (c >= 0xe0 && c <= 0xef)
			clen = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			clen = 4;
		if (clen > 1)
		{
			/* accept only well-formed continuation bytes */
			if (i + clen > stop)
				clen = 0;
			for (int k = 1; k < clen; k++)
				if (((unsigned char) text[i + k] & 0xc0) != 0x80)
					clen = 0;
		}
		if (clen == 0)
		{
			o += snprintf(err->token + o, CY_ERROR_TOKEN_LEN - o, "\\x%02x", c);
			i++;
			continue;
		}
		memcpy(err->token + o, text + i, clen);
		o += clen;
		i += clen;
	}
	err->token[o] = '\0';
}

static bool
LexFail(LexState *ls, CyErrorCode code, size_t start, size_t n, const char *msg)
{
	ls->err->code = code;
	ls->err->offset = (int) start;
	ls->err->at_end = false;
	SetErrorToken(ls->err, ls->text, ls->len, start, n);
	snprintf(ls->err->message, CY_ERROR_MESSAGE_LEN, "%s", msg);
	return false;
}

static bool
LexNoMem(LexState *ls)
{
	ls->err->code = CY_ERR_NOMEM;
	ls->err->offset = (int) ls->pos;
	ls->err->token[0] = '\0';
	snprintf(ls->err->message, CY_ERROR_MESSAGE_LEN, "out of memory");
	return false;
}

/* Appends a token; returns it, or NULL when out of memory. */
static CyToken *
PushToken(LexState *ls, CyTokType type, size_t start, size_t n)
{
	CyToken    *t;

	if (ls->out->n == ls->cap)
	{
		int			ncap = ls->cap ? ls->cap * 2 : 64;
		CyToken    *grown = ls->alloc(ls->ctx, sizeof(CyToken) * (size_t) ncap);

		if (grown == NULL)
			return NULL;
		if (ls->out->n > 0)
			memcpy(grown, ls->out->tok, sizeof(CyToken) * (size_t) ls->out->n);
		ls->out->tok = grown;
		ls->cap = ncap;
	}
	t = &ls->out->tok[ls->out->n++];
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->start = (int) start;
	t->len = (int) n;
	return t;
}

/*
 * Appends a token of text[start, end) whose value is the string str (NULL:
 * out of memory) and moves past it.
 */
static bool
PushStringToken(LexState *ls, CyTokType type, size_t start, size_t end, char *str)
{
	CyToken    *t = str != NULL ? PushToken(ls, type, start, end - start) : NULL;

	if (t == NULL)
		return LexNoMem(ls);
	t->str = str;
	ls->pos = end;
	return true;
}

/* Appends code point cp as UTF-8 to buf; returns the new length. */
static size_t
PutUtf8(char *buf, size_t o, uint32_t cp)
{
	if (cp < 0x80)
		buf[o++] = (char) cp;
	else if (cp < 0x800)
	{
		buf[o++] = (char) (0xc0 | (cp >> 6));
		buf[o++] = (char) (0x80 | (cp & 0x3f));
	}
	else if (cp < 0x10000)
	{
		buf[o++] = (char) (0xe0 | (cp >> 12));
		buf[o++] = (char) (0x80 | ((cp >> 6) & 0x3f));
		buf[o++] = (char) (0x80 | (cp & 0x3f));
	}
	else
	{
		buf[o++] = (char) (0xf0 | (cp >> 18));
		buf[o++] = (char) (0x80 | ((cp >> 12) & 0x3f));
		buf[o++] = (char) (0x80 | ((cp >> 6) & 0x3f));
		buf[o++] = (char) (0x80 | (cp & 0x3f));
	}
	return o;
}

/* Reads ndigits hex digits at p; returns false if any is not hex. */
static bool
ReadHex(const char *p, int ndigits, uint32_t *value)
{
	uint32_t	v = 0;

	for (int i = 0; i < ndigits; i++)
	{
		char		c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t) (c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t) (c - 'A' + 10);
		else
			return false;
	}
	*value = v;
	return true;
}

/*
 * Decodes one escape at text[*pos] (just after the backslash) into buf.
 * Returns false (error filled) on a bad escape.
 */
static bool
LexEscape(LexState *ls, size_t *pos, char *buf, size_t *o)
{
	size_t		esc = *pos - 1;
	char		c;
	uint32_t	cp;
	int			nd;

	if (*pos >= ls->len)
		return LexFail(ls, CY_ERR_SYNTAX, esc, 1, "unterminated string literal");
	c = ls->text[*pos];
	(*pos)++;
	switch (c)
	{
		case '\\': buf[(*o)++] = '\\'; return true;
		case '\'': buf[(*o)++] = '\''; return true;
		case '"': buf[(*o)++] = '"'; return true;
		case 'b': buf[(*o)++] = '\b'; return true;
		case 'f': buf[(*o)++] = '\f'; return true;
		case 'n': buf[(*o)++] = '\n'; return true;
		case 'r': buf[(*o)++] = '\r'; return true;
		case 't': buf[(*o)++] = '\t'; return true;
		case 'u': nd = 4; break;
		case 'U': nd = 8; break;
		default:
			return LexFail(ls, CY_ERR_SYNTAX, esc, 2, "invalid escape sequence in string literal");
	}
	if (*pos + nd > ls->len || !ReadHex(ls->text + *pos, nd, &cp))
		return LexFail(ls, CY_ERR_SYNTAX, esc, 2, "invalid Unicode escape in string literal");
	*pos += nd;
	if (cp >= 0xd800 && cp <= 0xdbff && nd == 4)
	{
		uint32_t	lo;

		/* a high surrogate must be followed by \u and a low surrogate */
		if (*pos + 6 > ls->len || ls->text[*pos] != '\\' || ls->text[*pos + 1] != 'u' ||
			!ReadHex(ls->text + *pos + 2, 4, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return LexFail(ls, CY_ERR_SYNTAX, esc, 6, "invalid Unicode surrogate pair in string literal");
		*pos += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return LexFail(ls, CY_ERR_SYNTAX, esc, 2 + nd,
					   cp == 0 ? "string literal cannot contain the NUL character" :
					   "invalid Unicode code point in string literal");
	*o = PutUtf8(buf, *o, cp);
	return true;
}

/* A '...' or "..." literal starting at ls->pos. */
static bool
LexString(LexState *ls)
{
	size_t		start = ls->pos;
	char		quote = ls->text[start];
	size_t		pos = start + 1;
	size_t		o = 0;
	char	   *buf;

	/* the value is never longer than the source */
	buf = ls->alloc(ls->ctx, ls->len - start + 1);
	if (buf == NULL)
		return LexNoMem(ls);
	for (;;)
	{
		char		c;

		if (pos >= ls->len)
			return LexFail(ls, CY_ERR_SYNTAX, start, 1, "unterminated string literal");
		c = ls->text[pos++];
		if (c == quote)
			break;
		if (c == '\0')
			return LexFail(ls, CY_ERR_SYNTAX, pos - 1, 1,
						   "string literal cannot contain the NUL character");
		if (c == '\\')
		{
			if (!LexEscape(ls, &pos, buf, &o))
				return false;
			continue;
		}
		buf[o++] = c;
	}
	buf[o] = '\0';
	return PushStringToken(ls, CYT_STRING, start, pos, buf);
}

/* A `quoted identifier` (type CYT_QIDENT) or $`quoted parameter`. */
static bool
LexQuotedIdent(LexState *ls, size_t tokstart, CyTokType type)
{
	size_t		start = ls->pos;
	size_t		pos = start + 1;
	size_t		o = 0;
	char	   *buf = ls->alloc(ls->ctx, ls->len - start + 1);

	if (buf == NULL)
		return LexNoMem(ls);
	for (;;)
	{
		char		c;

		if (pos >= ls->len)
			return LexFail(ls, CY_ERR_SYNTAX, start, 1, "unterminated quoted identifier");
		c = ls->text[pos++];
		if (c == '`')
		{
			if (pos < ls->len && ls->text[pos] == '`')
			{
				buf[o++] = '`';
				pos++;
				continue;
			}
			break;
		}
		if (c == '\0')
			return LexFail(ls, CY_ERR_SYNTAX, pos - 1, 1,
						   "quoted identifier cannot contain the NUL character");
		buf[o++] = c;
	}
	if (o == 0)
		return LexFail(ls, CY_ERR_SYNTAX, start, pos - start, "zero-length quoted identifier");
	buf[o] = '\0';
	return PushStringToken(ls, type, tokstart, pos, buf);
}

/* Copies text[start, end) into a new NUL-terminated string. */
static char *
CopyText(LexState *ls, size_t start, size_t end)
{
	char	   *s = ls->alloc(ls->ctx, end - start + 1);

	if (s != NULL)
		memcpy(s, ls->text + start, end - start);
	return s;
}

/* An identifier, or a $parameter when dollar is set. */
static bool
LexIdent(LexState *ls, bool dollar)
{
	size_t		start = ls->pos;
	size_t		pos = start + (dollar ? 1 : 0);
	size_t		namestart = pos;

	if (dollar)
	{
		if (pos < ls->len && ls->text[pos] == '`')
		{
			ls->pos = pos;
			return LexQuotedIdent(ls, start, CYT_PARAM);
		}
		if (pos >= ls->len || !IsIdentChar((unsigned char) ls->text[pos]))
			return LexFail(ls, CY_ERR_SYNTAX, start, 1, "expected a parameter name after '$'");
	}
	while (pos < ls->len && IsIdentChar((unsigned char) ls->text[pos]))
		pos++;
	return PushStringToken(ls, dollar ? CYT_PARAM : CYT_IDENT, start, pos,
						   CopyText(ls, namestart, pos));
}

/* Integer magnitude in base 8, 10 or 16; CY_ERR_RANGE beyond 2^63. */
static bool
LexInteger(LexState *ls, size_t start, size_t digits, size_t end, int base)
{
	uint64_t	v = 0;
	CyToken    *t;

	if (digits == end)
		return LexFail(ls, CY_ERR_SYNTAX, start, end - start, "invalid integer literal");
	for (size_t i = digits; i < end; i++)
	{
		uint32_t	d;
		char		c = ls->text[i];

		if (c >= '0' && c <= '9')
			d = (uint32_t) (c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t) (c - 'a' + 10);
		else
			d = (uint32_t) (c - 'A' + 10);
		if (d >= (uint32_t) base)
			return LexFail(ls, CY_ERR_SYNTAX, start, end - start, "invalid integer literal");
		if (v > (UINT64_C(1) << 63) / (uint64_t) base ||
			v * (uint64_t) base + d > (UINT64_C(1) << 63))
			return LexFail(ls, CY_ERR_RANGE, start, end - start, "integer literal out of range");
		v = v * (uint64_t) base + d;
	}
	t = PushToken(ls, CYT_INT, start, end - start);
	if (t == NULL)
		return LexNoMem(ls);
	t->uval = v;
	ls->pos = end;
	return true;
}

/* Scans the end of a decimal number and whether it is a float. */
static size_t
ScanDecimal(LexState *ls, size_t pos, bool *isfloat)
{
	while (pos < ls->len && IsDigit((unsigned char) ls->text[pos]))
		pos++;
	/* "1..3" is a range, not "1." followed by ".3" */
	if (pos + 1 < ls->len && ls->text[pos] == '.' && IsDigit((unsigned char) ls->text[pos + 1]))
	{
		*isfloat = true;
		pos++;
		while (pos < ls->len && IsDigit((unsigned char) ls->text[pos]))
			pos++;
	}
	if (pos < ls->len && (ls->text[pos] == 'e' || ls->text[pos] == 'E'))
	{
		size_t		e = pos + 1;

		if (e < ls->len && (ls->text[e] == '+' || ls->text[e] == '-'))
			e++;
		if (e < ls->len && IsDigit((unsigned char) ls->text[e]))
		{
			*isfloat = true;
			pos = e;
			while (pos < ls->len && IsDigit((unsigned char) ls->text[pos]))
				pos++;
		}
	}
	return pos;
}

static bool
LexNumber(LexState *ls)
{
	size_t		start = ls->pos;
	size_t		pos = start;
	bool		isfloat = false;
	char		buf[LEX_NUMBER_MAX + 1];
	char	   *endp;
	double		d;
	CyToken    *t;

	if (ls->text[pos] == '0' && pos + 1 < ls->len &&
		(ls->text[pos + 1] == 'x' || ls->text[pos + 1] == 'X' ||
		 ls->text[pos + 1] == 'o' || ls->text[pos + 1] == 'O'))
	{
		int			base = (ls->text[pos + 1] == 'x' || ls->text[pos + 1] == 'X') ? 16 : 8;

		pos += 2;
		while (pos < ls->len && IsIdentChar((unsigned char) ls->text[pos]))
			pos++;
		return LexInteger(ls, start, start + 2, pos, base);
	}
	pos = ScanDecimal(ls, pos, &isfloat);
	if (pos < ls->len && IsIdentStart((unsigned char) ls->text[pos]))
	{
		while (pos < ls->len && IsIdentChar((unsigned char) ls->text[pos]))
			pos++;
		return LexFail(ls, CY_ERR_SYNTAX, start, pos - start, "invalid numeric literal");
	}
	if (!isfloat)
		return LexInteger(ls, start, start, pos, 10);
	if (pos - start > LEX_NUMBER_MAX)
		return LexFail(ls, CY_ERR_SYNTAX, start, pos - start, "numeric literal is too long");
	memcpy(buf, ls->text + start, pos - start);
	buf[pos - start] = '\0';
	errno = 0;
	d = strtod(buf, &endp);
	if (!isfinite(d))
		return LexFail(ls, CY_ERR_RANGE, start, pos - start, "float literal out of range");
	t = PushToken(ls, CYT_FLOAT, start, pos - start);
	if (t == NULL || (t->str = CopyText(ls, start, pos)) == NULL)
		return LexNoMem(ls);
	t->fval = d;
	ls->pos = pos;
	return true;
}

/* Skips whitespace and comments; false on an unterminated block comment. */
static bool
SkipSpace(LexState *ls)
{
	while (ls->pos < ls->len)
	{
		char		c = ls->text[ls->pos];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
			ls->pos++;
		else if (c == '/' && ls->pos + 1 < ls->len && ls->text[ls->pos + 1] == '/')
		{
			while (ls->pos < ls->len && ls->text[ls->pos] != '\n')
				ls->pos++;
		}
		else if (c == '/' && ls->pos + 1 < ls->len && ls->text[ls->pos + 1] == '*')
		{
			size_t		start = ls->pos;

			ls->pos += 2;
			for (;;)
			{
				if (ls->pos + 1 >= ls->len)
					return LexFail(ls, CY_ERR_SYNTAX, start, 2, "unterminated comment");
				if (ls->text[ls->pos] == '*' && ls->text[ls->pos + 1] == '/')
					break;
				ls->pos++;
			}
			ls->pos += 2;
		}
		else
			break;
	}
	return true;
}

/* Operators and punctuation; n is the token's length in bytes. */
static CyTokType
OperatorAt(LexState *ls, int *n)
{
	char		c = ls->text[ls->pos];
	char		d = ls->pos + 1 < ls->len ? ls->text[ls->pos + 1] : '\0';

	*n = 2;
	if (c == '.' && d == '.')
		return CYT_DOTDOT;
	if (c == '<' && d == '>')
		return CYT_NE;
	if (c == '!' && d == '=')
		return CYT_NE;
	if (c == '<' && d == '=')
		return CYT_LE;
	if (c == '>' && d == '=')
		return CYT_GE;
	if (c == '+' && d == '=')
		return CYT_PLUSEQ;
	if (c == '=' && d == '~')
		return CYT_REGEQ;
	*n = 1;
	switch (c)
	{
		case '(': return CYT_LPAREN;
		case ')': return CYT_RPAREN;
		case '[': return CYT_LBRACKET;
		case ']': return CYT_RBRACKET;
		case '{': return CYT_LBRACE;
		case '}': return CYT_RBRACE;
		case ',': return CYT_COMMA;
		case '.': return CYT_DOT;
		case ':': return CYT_COLON;
		case ';': return CYT_SEMICOLON;
		case '|': return CYT_PIPE;
		case '=': return CYT_EQ;
		case '<': return CYT_LT;
		case '>': return CYT_GT;
		case '+': return CYT_PLUS;
		case '-': return CYT_MINUS;
		case '*': return CYT_STAR;
		case '/': return CYT_SLASH;
		case '%': return CYT_PERCENT;
		case '^': return CYT_CARET;
		default:
			*n = 0;
			return CYT_EOF;
	}
}

static bool
LexOne(LexState *ls)
{
	unsigned char c = (unsigned char) ls->text[ls->pos];
	int			n;
	CyTokType	type;

	if (c == '\'' || c == '"')
		return LexString(ls);
	if (c == '`')
		return LexQuotedIdent(ls, ls->pos, CYT_QIDENT);
	if (c == '$')
		return LexIdent(ls, true);
	if (IsIdentStart(c))
		return LexIdent(ls, false);
	if (IsDigit(c) || (c == '.' && ls->pos + 1 < ls->len &&
					   IsDigit((unsigned char) ls->text[ls->pos + 1])))
		return LexNumber(ls);
	type = OperatorAt(ls, &n);
	if (n == 0)
		return LexFail(ls, CY_ERR_SYNTAX, ls->pos, 1, "unexpected character");
	if (PushToken(ls, type, ls->pos, (size_t) n) == NULL)
		return LexNoMem(ls);
	ls->pos += n;
	return true;
}

bool
cy_lex(const char *text, size_t len, CyAllocFn alloc, void *ctx,
	   CyTokens *out, CyParseError *err)
{
	LexState	ls = {.text = text, .len = len, .alloc = alloc, .ctx = ctx,
					  .out = out, .err = err};

	out->n = 0;
	out->tok = NULL;
	if (len > (size_t) INT32_MAX / 2)
		return LexFail(&ls, CY_ERR_SYNTAX, 0, 0, "query is too long");
	for (;;)
	{
		if (!SkipSpace(&ls))
			return false;
		if (ls.pos >= len)
			break;
		if (!LexOne(&ls))
			return false;
	}
	if (PushToken(&ls, CYT_EOF, len, 0) == NULL)
		return LexNoMem(&ls);
	return true;
}
