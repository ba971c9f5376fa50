/*-------------------------------------------------------------------------
 *
 * igstate.c
 *	  The normal / stress / critical state machine of one integrity scope,
 *	  fed one lambda sample at a time.
 *
 * NOTES
 *	  Hysteresis has three parts, so that a signal hovering around a
 *	  threshold does not flap: degradation needs consecutive samples below
 *	  the threshold (one sample back above resets the count); recovery
 *	  needs every sample for a whole hold time above the threshold plus an
 *	  offset (a band no noisy signal near the threshold crosses both ways);
 *	  and no transition comes within the cooldown of the previous one.
 *	  Time is passed in by the caller (seconds, any origin), so tests can
 *	  replay sequences without sleeping.
 *
 * IDENTIFICATION
 *	  src/integrity/igstate.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "integrity/igalgo.h"

void
rv_ig_params_default(RvIgParams *p)
{
	p->stress_ratio = 0.5;
	p->critical_ratio = 0.25;
	p->stress_abs = -1;
	p->critical_abs = -1;
	p->degrade_samples = 3;
	p->critical_samples = 2;
	p->restore_offset = 0.1;
	p->restore_hold = 60;
	p->cooldown = 30;
}

void
rv_ig_machine_init(RvIgMachine *m)
{
	m->state = RV_IG_NORMAL;
	m->below = 0;
	m->aboveStress = -1;
	m->aboveCritical = -1;
	m->lastTransition = -1;
}

/* The threshold under which a scope leaves state s (stress: to critical) */
double
rv_ig_threshold(const RvIgParams *p, double baseline, RvIgState s)
{
	if (s == RV_IG_NORMAL)
		return p->stress_abs >= 0 ? p->stress_abs : p->stress_ratio * baseline;
	return p->critical_abs >= 0 ? p->critical_abs : p->critical_ratio * baseline;
}

const char *
rv_ig_state_name(RvIgState s)
{
	switch (s)
	{
		case RV_IG_NORMAL:
			return "normal";
		case RV_IG_STRESS:
			return "stress";
		case RV_IG_CRITICAL:
			return "critical";
	}
	return "unknown";
}

/*
 * Enter state to.  The allowed edges: normal -> stress, stress -> critical
 * or normal, critical -> stress or normal; never normal -> critical at once
 * (degradation goes through stress, with its own count of samples).
 */
static void
ig_move(RvIgMachine *m, RvIgState to, double now)
{
	IG_ASSERT(to != m->state);
	IG_ASSERT(!(m->state == RV_IG_NORMAL && to == RV_IG_CRITICAL));
	IG_ASSERT(m->lastTransition < 0 || now >= m->lastTransition);
	m->state = to;
	m->below = 0;
	m->aboveStress = -1;
	m->aboveCritical = -1;
	m->lastTransition = now;
}

/* Start or continue (or break) a run of samples at or above level */
static bool
ig_held(double *since, double lambda, double level, double now, double hold)
{
	if (!(lambda >= level))
	{
		*since = -1;
		return false;
	}
	if (*since < 0)
		*since = now;
	return now - *since >= hold;
}

RvIgState
rv_ig_step(RvIgMachine *m, const RvIgParams *p, double baseline, double lambda, double now)
{
	double		ts = rv_ig_threshold(p, baseline, RV_IG_NORMAL);
	double		tc = rv_ig_threshold(p, baseline, RV_IG_STRESS);
	bool		cooled = m->lastTransition < 0 || now - m->lastTransition >= p->cooldown;
	bool		heldNormal;
	bool		heldStress;
	RvIgState	before = m->state;

	IG_ASSERT(m->state >= RV_IG_NORMAL && m->state <= RV_IG_CRITICAL);
	IG_ASSERT(p->degrade_samples >= 1 && p->critical_samples >= 1);
	IG_ASSERT(p->restore_offset >= 0 && p->restore_hold >= 0 && p->cooldown >= 0);
	/* the critical threshold is not above the stress one (ratios, as policies check) */
	IG_ASSERT(p->stress_abs >= 0 || p->critical_abs >= 0 || p->critical_ratio <= p->stress_ratio);
	if (isnan(lambda))
		return m->state;

	switch (m->state)
	{
		case RV_IG_NORMAL:
			m->below = lambda < ts ? m->below + 1 : 0;
			if (m->below >= p->degrade_samples && cooled)
				ig_move(m, RV_IG_STRESS, now);
			break;

		case RV_IG_STRESS:
			m->below = lambda < tc ? m->below + 1 : 0;
			heldNormal = ig_held(&m->aboveStress, lambda, ts * (1 + p->restore_offset),
								 now, p->restore_hold);
			if (m->below >= p->critical_samples && cooled)
				ig_move(m, RV_IG_CRITICAL, now);
			else if (heldNormal && cooled)
				ig_move(m, RV_IG_NORMAL, now);
			break;

		case RV_IG_CRITICAL:
			heldNormal = ig_held(&m->aboveStress, lambda, ts * (1 + p->restore_offset),
								 now, p->restore_hold);
			heldStress = ig_held(&m->aboveCritical, lambda, tc * (1 + p->restore_offset),
								 now, p->restore_hold);
			if (heldNormal && cooled)
				ig_move(m, RV_IG_NORMAL, now);
			else if (heldStress && cooled)
				ig_move(m, RV_IG_STRESS, now);
			break;
	}
	/* no transition within the cooldown; a transition starts every count afresh */
	IG_ASSERT(m->state == before || cooled);
	IG_ASSERT(m->state == before || (m->below == 0 && m->aboveStress < 0 &&
									 m->aboveCritical < 0 && m->lastTransition == now));
	IG_ASSERT(m->below >= 0);
	(void) before;
	return m->state;
}
