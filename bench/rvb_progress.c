/*-------------------------------------------------------------------------
 *
 * rvb_progress.c
 *	  Wall clock, step timing and a progress bar on the terminal.
 *
 * NOTES
 *	  The bar is drawn on stderr, and only when stderr is a terminal (or the
 *	  user asked for it), so logs and CI output stay clean; it is redrawn at
 *	  most ten times a second.  Each finished step prints one summary line on
 *	  stderr unless --quiet; the tables go to stdout.
 *
 *	  Steps are run one at a time by the main thread, so the bar state needs
 *	  no lock; worker threads only report through counters the main thread
 *	  reads.
 *
 *-------------------------------------------------------------------------
 */
#include "rvb.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int	progress_mode = 0;
static bool verbose = true;

double
rvb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
rvb_progress_mode(int mode)
{
	progress_mode = mode;
}

bool
rvb_progress_enabled(void)
{
	if (progress_mode != 0)
		return progress_mode > 0;
	return isatty(STDERR_FILENO);
}

void
rvb_set_verbose(bool on)
{
	verbose = on;
}

/* rvb_log prints one line on stderr unless --quiet */
void
rvb_log(const char *fmt,...)
{
	va_list		ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
rvb_progress_begin(RvbProgress *p, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(p->label, sizeof(p->label), fmt, ap);
	va_end(ap);
	p->start = rvb_now();
	p->last_draw = 0;
	p->drawn = false;
	rvb_progress_update(p, 0.0, NULL);
}

/*
 * rvb_progress_update redraws the bar: label, bar, percent, elapsed time and
 * an estimate of the time left once a tenth of the work is done.  frac < 0
 * means the step cannot tell (a phase without counters): only time is shown.
 */
void
rvb_progress_update(RvbProgress *p, double frac, const char *detail)
{
	double		now = rvb_now();
	double		el = now - p->start;
	char		bar[31];
	int			fill;

	if (!rvb_progress_enabled() || (p->drawn && now - p->last_draw < 0.1))
		return;
	p->last_draw = now;
	p->drawn = true;
	if (frac > 1)
		frac = 1;
	fill = frac < 0 ? 0 : (int) (frac * 30);
	memset(bar, '#', fill);
	memset(bar + fill, frac < 0 ? '?' : '.', 30 - fill);
	bar[30] = '\0';
	if (frac >= 0.1 && frac < 1)
		fprintf(stderr, "\r\033[K%-34.34s [%s] %5.1f%% %6.1fs eta %5.0fs %s",
				p->label, bar, frac * 100, el, el / frac - el,
				detail ? detail : "");
	else if (frac >= 0)
		fprintf(stderr, "\r\033[K%-34.34s [%s] %5.1f%% %6.1fs %s",
				p->label, bar, frac * 100, el, detail ? detail : "");
	else
		fprintf(stderr, "\r\033[K%-34.34s [%s] %6.1fs %s",
				p->label, bar, el, detail ? detail : "");
	fflush(stderr);
}

/* rvb_progress_end clears the bar, logs the summary, returns seconds taken */
double
rvb_progress_end(RvbProgress *p, const char *summary)
{
	double		el = rvb_now() - p->start;

	if (p->drawn)
		fprintf(stderr, "\r\033[K");
	if (summary != NULL)
		rvb_log("%-34s %8.2fs  %s", p->label, el, summary);
	return el;
}
