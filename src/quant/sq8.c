/*-------------------------------------------------------------------------
 *
 * sq8.c
 *	  SQ8 codec: one byte per dimension with a per-vector affine map,
 *	  x ~= offset + code * scale, offset and scale stored as float16.
 *
 * NOTES
 *	  The parameters are chosen so that the stored (float16) values are the
 *	  ones used to encode: offset is the largest half not above the minimum,
 *	  scale the smallest half not below (max - offset) / 255.  Every input
 *	  then lies in [offset, offset + 255 * scale], codes are rounded to
 *	  nearest, and the decoding error of each component is at most scale / 2
 *	  (plus float rounding of the decode itself).  Storing the parameters as
 *	  halves saves four bytes a vector, which is what brings a 100-d vector
 *	  under 0.27x of its float32 size (13 + 100 bytes against 408).
 *
 *	  A vector whose values are not finite, or whose range does not fit the
 *	  half range, is refused (the caller keeps its current form).
 *
 *	  No PostgreSQL headers: linked into the Check unit tests as well.
 *
 * IDENTIFICATION
 *	  src/quant/sq8.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "quant/quant.h"

/*
 * The half next to h towards +Inf (towards -Inf when up is false).  h must
 * be finite; the result may be an infinity.
 */
static rv_half
half_step(rv_half h, bool up)
{
	bool		negative = (h & 0x8000) != 0;
	uint16_t	mag = h & 0x7FFF;

	if (mag == 0)
		return up ? 0x0001 : 0x8001;
	/* Moving away from zero grows the magnitude, towards zero shrinks it. */
	if (up != negative)
		return (rv_half) (h + 1);
	return (rv_half) (h - 1);
}

/* The largest half not above f, or an infinity if f is out of range. */
static rv_half
half_floor(float f)
{
	rv_half		h = rv_float_to_half(f);

	if (!rv_half_is_inf(h) && rv_half_to_float(h) > f)
		h = half_step(h, false);
	return h;
}

/* The smallest half not below f. */
static rv_half
half_ceil(float f)
{
	rv_half		h = rv_float_to_half(f);

	if (!rv_half_is_inf(h) && rv_half_to_float(h) < f)
		h = half_step(h, true);
	return h;
}

/*
 * Encode dim floats.  Returns false, writing nothing useful, when the vector
 * cannot be represented (non-finite values, range beyond float16).
 */
bool
rv_sq8_encode(const float *x, size_t dim, rv_half *offset, rv_half *scale,
			  uint8_t *codes)
{
	float		lo = INFINITY;
	float		hi = -INFINITY;
	float		off;
	float		step;
	rv_half		off_h;
	rv_half		step_h;

	for (size_t i = 0; i < dim; i++)
	{
		if (!isfinite(x[i]))
			return false;
		if (x[i] < lo)
			lo = x[i];
		if (x[i] > hi)
			hi = x[i];
	}
	if (dim == 0)
		lo = hi = 0.0f;

	off_h = half_floor(lo);
	if (rv_half_is_inf(off_h))
		return false;
	off = rv_half_to_float(off_h);

	step_h = half_ceil((hi - off) / 255.0f);
	if (rv_half_is_inf(step_h))
		return false;
	step = rv_half_to_float(step_h);

	for (size_t i = 0; i < dim; i++)
	{
		float		q = step > 0.0f ? (x[i] - off) / step : 0.0f;
		long		c = lroundf(q);

		codes[i] = (uint8_t) (c < 0 ? 0 : (c > 255 ? 255 : c));
	}
	*offset = off_h;
	*scale = step_h;
	return true;
}

/*
 * Decode dim codes into floats.
 */
void
rv_sq8_decode(rv_half offset, rv_half scale, const uint8_t *codes,
			  size_t dim, float *out)
{
	float		off = rv_half_to_float(offset);
	float		step = rv_half_to_float(scale);

	for (size_t i = 0; i < dim; i++)
		out[i] = off + (float) codes[i] * step;
}
