/*-------------------------------------------------------------------------
 *
 * rvb_json.c
 *	  A small streaming JSON writer for the results file.
 *
 * NOTES
 *	  Values are written as they come; the writer only tracks, per nesting
 *	  level, whether a comma is due.  A key is given inside objects and NULL
 *	  inside arrays.  Non-finite numbers (a run that failed, a recall that
 *	  does not apply) become null, since JSON has no NaN.  Output is indented
 *	  so the file can be read and diffed by hand.
 *
 *-------------------------------------------------------------------------
 */
#include "rvb.h"

#include <inttypes.h>
#include <math.h>

void
rvb_json_init(RvbJson *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = false;
}

static void
put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				fputs("\\\"", f);
				break;
			case '\\':
				fputs("\\\\", f);
				break;
			case '\n':
				fputs("\\n", f);
				break;
			case '\r':
				fputs("\\r", f);
				break;
			case '\t':
				fputs("\\t", f);
				break;
			default:
				if (*p < 0x20)
					fprintf(f, "\\u%04x", *p);
				else
					fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* comma, newline, indent and key before a value */
static void
begin_value(RvbJson *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	if (j->depth > 0)
	{
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	if (key != NULL)
	{
		put_string(j->f, key);
		fputs(": ", j->f);
	}
	j->need_comma[j->depth] = true;
}

static void
open_level(RvbJson *j, const char *key, char c)
{
	begin_value(j, key);
	fputc(c, j->f);
	j->depth++;
	j->need_comma[j->depth] = false;
}

static void
close_level(RvbJson *j, char c)
{
	bool		had_items = j->need_comma[j->depth];

	j->depth--;
	if (had_items)
	{
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(c, j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

void
rvb_json_object(RvbJson *j, const char *key)
{
	open_level(j, key, '{');
}

void
rvb_json_array(RvbJson *j, const char *key)
{
	open_level(j, key, '[');
}

void
rvb_json_end_object(RvbJson *j)
{
	close_level(j, '}');
}

void
rvb_json_end_array(RvbJson *j)
{
	close_level(j, ']');
}

void
rvb_json_str(RvbJson *j, const char *key, const char *val)
{
	begin_value(j, key);
	if (val == NULL)
		fputs("null", j->f);
	else
		put_string(j->f, val);
}

void
rvb_json_int(RvbJson *j, const char *key, int64_t val)
{
	begin_value(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void
rvb_json_num(RvbJson *j, const char *key, double val)
{
	begin_value(j, key);
	if (!isfinite(val))
		fputs("null", j->f);
	else if (val == floor(val) && fabs(val) < 1e15)
		fprintf(j->f, "%.0f", val);
	else
		fprintf(j->f, "%.6g", val);
}

void
rvb_json_bool(RvbJson *j, const char *key, bool val)
{
	begin_value(j, key);
	fputs(val ? "true" : "false", j->f);
}

void
rvb_json_null(RvbJson *j, const char *key)
{
	begin_value(j, key);
	fputs("null", j->f);
}
