/*
 * cypher_lex.h — tokens of the Cypher lexer (pure C, used by cypher_parse.c).
 *
 * The lexer turns the whole query into an array of tokens before parsing, so
 * the parser can look ahead freely (patterns and parenthesised expressions
 * both start with '(').  Keywords are not tokens of their own: they are
 * identifiers the parser compares case-insensitively, so a keyword can still
 * name a property (n.count, {end: 1}).
 */
#ifndef RV_CYPHER_LEX_H
#define RV_CYPHER_LEX_H

#include "graph/cypher_ast.h"

typedef enum CyTokType
{
	CYT_EOF,
	CYT_IDENT,					/* plain identifier or keyword */
	CYT_QIDENT,					/* `quoted identifier` */
	CYT_STRING,
	CYT_INT,
	CYT_FLOAT,
	CYT_PARAM,					/* $name or $0 */
	CYT_LPAREN, CYT_RPAREN,
	CYT_LBRACKET, CYT_RBRACKET,
	CYT_LBRACE, CYT_RBRACE,
	CYT_COMMA, CYT_DOT, CYT_DOTDOT, CYT_COLON, CYT_SEMICOLON, CYT_PIPE,
	CYT_EQ, CYT_NE, CYT_LT, CYT_LE, CYT_GT, CYT_GE,
	CYT_PLUS, CYT_MINUS, CYT_STAR, CYT_SLASH, CYT_PERCENT, CYT_CARET,
	CYT_PLUSEQ, CYT_REGEQ
} CyTokType;

typedef struct CyToken
{
	CyTokType	type;
	int			start;			/* byte offset */
	int			len;			/* bytes in the source */
	uint64_t	uval;			/* CYT_INT: magnitude, at most 2^63 */
	double		fval;			/* CYT_FLOAT */
	const char *str;			/* IDENT/QIDENT/STRING/PARAM: NUL-terminated value */
} CyToken;

typedef struct CyTokens
{
	int			n;
	CyToken    *tok;			/* n tokens, the last one CYT_EOF */
} CyTokens;

/*
 * Tokenises text[0..len).  Returns false and fills err (offset, token,
 * message; the caller computes line and column) on a lexical error.
 */
extern bool cy_lex(const char *text, size_t len, CyAllocFn alloc, void *ctx,
				   CyTokens *out, CyParseError *err);

#endif							/* RV_CYPHER_LEX_H */
