/*-------------------------------------------------------------------------
 *
 * codes.c
 *	  Compact vector codes for indexes: encode a float32 vector as float32,
 *	  float16, sq8 or binary, and rank codes against a float32 query
 *	  (asymmetric distances: the query is never quantized, except for
 *	  binary, whose query is its own sign bits).
 *
 * NOTES
 *	  Layouts (no alignment is assumed; headers are read with memcpy):
 *
 *		float32	dim floats
 *		float16	dim IEEE halves (saturated to +/-65504, so never Inf)
 *		sq8		float offset, float scale, float |decoded|^2, dim bytes;
 *				x[i] ~= offset + code[i] * scale with the per-vector
 *				minimum as offset and (max - min) / 255 as scale
 *		binary	ceil(dim / 8) bytes, bit i (most significant bit first,
 *				like the bit type) set when x[i] > 0
 *
 *	  SQ8 keeps float32 parameters (unlike rv_sq8_encode's halves, which
 *	  save 6 bytes but refuse ranges beyond float16): an index must be able
 *	  to encode the vectors tables hold; only a range max - min beyond
 *	  FLT_MAX is refused.  The stored squared norm of
 *	  the decoded vector turns every metric into one dot product with the
 *	  query, sum(q * code), since
 *
 *		q . x^ = offset * sum(q) + scale * sum(q[i] * code[i])
 *		|q - x^|^2 = |q|^2 - 2 q . x^ + |x^|^2
 *
 *	  and sum(q), |q|^2 are computed once per query.  That dot product has
 *	  an AVX2 version (codes_avx2.c) chosen whenever the active distance
 *	  kernels are SIMD ones (RV_KERNELS=scalar also forces scalar here).
 *
 *	  Distances come back on the scale of the index support functions:
 *	  squared L2, negative inner product, 1 - cosine, L1.  Binary codes
 *	  rank every metric by the Hamming distance between the sign bits of
 *	  query and code: only an ordering for re-ranking, not an estimate.
 *
 *	  Query state lives in caller-provided workspace, so ranking allocates
 *	  nothing.
 *
 *	  No PostgreSQL headers: linked into the Check unit tests as well.
 *
 * IDENTIFICATION
 *	  src/quant/codes.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "quant/quant.h"
#include "distance/distance.h"
#include "simd/isa.h"

/*
 * The sq8 header, in the order of the layout above.  Codes are not aligned,
 * so it is always copied in and out whole with memcpy.
 */
typedef struct Sq8Header
{
	float		offset;
	float		scale;
	float		norm2;			/* |decoded|^2 */
} Sq8Header;

#define SQ8_HEADER	sizeof(Sq8Header)
_Static_assert(sizeof(Sq8Header) == 3 * sizeof(float), "sq8 header is three packed floats");

/* Bytes of a binary code: one bit a dimension, rounded up. */
static inline size_t
binary_bytes(int dim)
{
	return ((size_t) dim + 7) / 8;
}

/*
 * Float16 and binary queries are encoded as a code of their own kind, in
 * the caller's workspace; the other kinds read the float query itself.
 */
static inline bool
query_is_encoded(RvCodeKind kind)
{
	return kind == RV_CODE_FLOAT16 || kind == RV_CODE_BINARY;
}

/* Reference dot product of a float query with byte codes. */
float
rv_sq8_dot_scalar(const float *q, const uint8_t *c, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += q[i] * (float) c[i];
	return s;
}

/*
 * Size in bytes of one code of the given kind, or 0 for an unknown kind.
 */
size_t
rv_code_size(RvCodeKind kind, int dim)
{
	switch (kind)
	{
		case RV_CODE_FLOAT32:
			return (size_t) dim * sizeof(float);
		case RV_CODE_FLOAT16:
			return (size_t) dim * sizeof(rv_half);
		case RV_CODE_SQ8:
			return SQ8_HEADER + (size_t) dim;
		case RV_CODE_BINARY:
			return binary_bytes(dim);
	}
	return 0;
}

/* Encode as sq8; false for non-finite input. */
static bool
encode_sq8(const float *x, int dim, uint8_t *code)
{
	float		lo = INFINITY;
	float		hi = -INFINITY;
	float		scale;
	float		inv;
	float		norm2 = 0.0f;
	uint8_t    *c = code + SQ8_HEADER;

	for (int i = 0; i < dim; i++)
	{
		if (!isfinite(x[i]))
			return false;
		lo = fminf(lo, x[i]);
		hi = fmaxf(hi, x[i]);
	}
	if (dim == 0)
		lo = hi = 0.0f;
	/* Refuse ranges wider than FLT_MAX: decoding would overflow. */
	if (!isfinite(hi - lo))
		return false;
	scale = (hi - lo) / 255.0f;
	inv = scale > 0.0f ? 1.0f / scale : 0.0f;
	for (int i = 0; i < dim; i++)
	{
		float		v = rintf((x[i] - lo) * inv);
		float		d;

		if (!(v >= 0.0f))
			v = 0.0f;
		else if (v > 255.0f)
			v = 255.0f;
		c[i] = (uint8_t) v;
		d = lo + v * scale;
		norm2 += d * d;
	}
	memcpy(code, &(Sq8Header) {lo, scale, norm2}, sizeof(Sq8Header));
	return true;
}

/*
 * Encode as float16, saturating at +/-RV_HALF_MAX (never infinity).  In
 * blocks through rv_float_to_half_n (F16C where available, the same bits as
 * the scalar conversion): a float16 HNSW build encodes a query for most
 * neighbour-selection distances.
 */
static void
encode_f16(const float *x, int dim, rv_half *h)
{
	float		block[64];

	for (int i = 0; i < dim; i += 64)
	{
		int			n = dim - i < 64 ? dim - i : 64;

		for (int j = 0; j < n; j++)
		{
			float		v = x[i + j];

			if (v > RV_HALF_MAX)
				v = RV_HALF_MAX;
			else if (v < -RV_HALF_MAX)
				v = -RV_HALF_MAX;
			block[j] = v;
		}
		rv_float_to_half_n(block, h + i, (size_t) n);
	}
}

/* Encode as binary: bit i (most significant first) set when x[i] > 0. */
static void
encode_binary(const float *x, int dim, uint8_t *b)
{
	memset(b, 0, binary_bytes(dim));
	for (int i = 0; i < dim; i++)
		if (x[i] > 0.0f)
			b[i / 8] |= (uint8_t) (0x80 >> (i % 8));
}

/*
 * Encode dim floats into code (rv_code_size(kind, dim) bytes).  Returns
 * false only for sq8 input that is not finite or whose range (max - min)
 * exceeds FLT_MAX, or an unknown kind; float16 saturates, binary takes the
 * signs.
 */
bool
rv_code_encode(RvCodeKind kind, const float *x, int dim, void *code)
{
	switch (kind)
	{
		case RV_CODE_FLOAT32:
			memcpy(code, x, (size_t) dim * sizeof(float));
			return true;
		case RV_CODE_FLOAT16:
			encode_f16(x, dim, (rv_half *) code);
			return true;
		case RV_CODE_SQ8:
			return encode_sq8(x, dim, (uint8_t *) code);
		case RV_CODE_BINARY:
			encode_binary(x, dim, (uint8_t *) code);
			return true;
	}
	return false;
}

/*
 * Decode a code into dim floats: the value the code stands for (binary:
 * +1 for a set bit, -1 otherwise).
 */
void
rv_code_decode(RvCodeKind kind, const void *code, int dim, float *out)
{
	switch (kind)
	{
		case RV_CODE_FLOAT32:
			memcpy(out, code, (size_t) dim * sizeof(float));
			break;
		case RV_CODE_FLOAT16:
			{
				rv_half		h[64];

				/* Copy through an aligned buffer: code may be unaligned. */
				for (int i = 0; i < dim; i += 64)
				{
					int			n = dim - i < 64 ? dim - i : 64;

					memcpy(h, (const rv_half *) code + i, n * sizeof(rv_half));
					rv_half_to_float_n(h, out + i, n);
				}
				break;
			}
		case RV_CODE_SQ8:
			{
				const uint8_t *c = (const uint8_t *) code;
				Sq8Header	h;

				memcpy(&h, c, sizeof(h));
				for (int i = 0; i < dim; i++)
					out[i] = h.offset + (float) c[SQ8_HEADER + i] * h.scale;
				break;
			}
		case RV_CODE_BINARY:
			{
				const uint8_t *b = (const uint8_t *) code;

				for (int i = 0; i < dim; i++)
					out[i] = (b[i / 8] & (0x80 >> (i % 8))) ? 1.0f : -1.0f;
				break;
			}
	}
}

/*
 * Workspace bytes rv_code_query_init needs for a query of this kind.
 */
size_t
rv_code_query_workspace(RvCodeKind kind, int dim)
{
	return query_is_encoded(kind) ? rv_code_size(kind, dim) : 0;
}

/*
 * Prepare query x (dim floats, kept by reference: it must outlive q) for
 * ranking codes of one kind by one metric.  workspace holds
 * rv_code_query_workspace(kind, dim) bytes and must outlive q too.
 */
void
rv_code_query_init(RvCodeQuery *q, RvCodeKind kind, RvCodeMetric metric,
				   const float *x, int dim, void *workspace)
{
	double		sum = 0.0;
	double		norm2 = 0.0;

	q->kind = kind;
	q->metric = metric;
	q->dim = dim;
	q->x = x;
	q->aux = workspace;
	for (int i = 0; i < dim; i++)
	{
		sum += x[i];
		norm2 += (double) x[i] * x[i];
	}
	q->sum = (float) sum;
	q->norm2 = (float) norm2;
	q->norm = (float) sqrt(norm2);
	q->sq8dot = rv_simd_level != RV_SIMD_SCALAR ? rv_sq8_dot_avx2 : rv_sq8_dot_scalar;
	if (query_is_encoded(kind))
		rv_code_encode(kind, x, dim, workspace);
}

/* 1 - cosine from its parts; 1 when either side is zero. */
static inline float
cosine_distance(float dot, float norm2a, float norm2b)
{
	float		denom = sqrtf(norm2a) * sqrtf(norm2b);
	float		sim;

	if (!(denom > 0.0f))
		return 1.0f;
	sim = dot / denom;
	if (sim > 1.0f)
		sim = 1.0f;
	else if (sim < -1.0f)
		sim = -1.0f;
	return 1.0f - sim;
}

static float
distance_float32(const RvCodeQuery *q, const float *c)
{
	float		dot;
	float		na;
	float		nb;

	switch (q->metric)
	{
		case RV_CODE_L2SQ:
			return rv_f32_l2sq(q->x, c, q->dim);
		case RV_CODE_NEGDOT:
			return -rv_f32_dot(q->x, c, q->dim);
		case RV_CODE_L1:
			return rv_f32_l1(q->x, c, q->dim);
		case RV_CODE_COSINE:
			rv_f32_cos(q->x, c, q->dim, &dot, &na, &nb);
			return cosine_distance(dot, na, nb);
	}
	return 0.0f;
}

/* float16 codes against the query rounded to float16 (kept in aux). */
static float
distance_float16(const RvCodeQuery *q, const rv_half *c)
{
	const rv_half *qh = (const rv_half *) q->aux;
	float		dot;
	float		na;
	float		nb;

	switch (q->metric)
	{
		case RV_CODE_L2SQ:
			return rv_f16_l2sq(qh, c, q->dim);
		case RV_CODE_NEGDOT:
			return -rv_f16_dot(qh, c, q->dim);
		case RV_CODE_L1:
			return rv_f16_l1(qh, c, q->dim);
		case RV_CODE_COSINE:
			rv_f16_cos(qh, c, q->dim, &dot, &na, &nb);
			return cosine_distance(dot, na, nb);
	}
	return 0.0f;
}

static float
distance_sq8(const RvCodeQuery *q, const uint8_t *code)
{
	const uint8_t *c = code + SQ8_HEADER;
	Sq8Header	h;
	float		dot;

	memcpy(&h, code, sizeof(h));
	if (q->metric == RV_CODE_L1)
	{
		float		s = 0.0f;

		for (int i = 0; i < q->dim; i++)
			s += fabsf(q->x[i] - (h.offset + (float) c[i] * h.scale));
		return s;
	}

	dot = h.offset * q->sum + h.scale * q->sq8dot(q->x, c, q->dim);
	switch (q->metric)
	{
		case RV_CODE_L2SQ:
			{
				float		d = q->norm2 - 2.0f * dot + h.norm2;

				return d > 0.0f ? d : 0.0f;
			}
		case RV_CODE_NEGDOT:
			return -dot;
		case RV_CODE_COSINE:
			return cosine_distance(dot, q->norm2, h.norm2);
		case RV_CODE_L1:
			break;
	}
	return 0.0f;
}

/*
 * Bounds of one code's decoding error: *err >= |x - decode(code)| (L2 norm
 * of the difference to the vector that was encoded) and *norm =
 * |decode(code)|.  float32 is exact (0); float16 rounds each component to
 * nearest, so its error is at most 2^-11 of the half's magnitude, or half
 * the subnormal spacing 2^-25, unless the component saturated at +/-65504
 * (then the error is unbounded: INFINITY); sq8 rounds each component to the
 * nearest step, at most scale / 2 (plus float32 rounding of offset + code *
 * scale); binary keeps only signs: INFINITY.  The margins (1.001, 1e-5) are
 * for the float arithmetic of the bound itself.
 */
void
rv_code_error(RvCodeKind kind, const void *code, int dim, float *err, float *norm)
{
	double		e2 = 0.0;
	double		n2 = 0.0;

	switch (kind)
	{
		case RV_CODE_FLOAT32:
			{
				const float *f = (const float *) code;

				for (int i = 0; i < dim; i++)
				{
					float		v;

					memcpy(&v, f + i, sizeof(float));
					n2 += (double) v * v;
				}
				*err = 0.0f;
				*norm = (float) sqrt(n2);
				return;
			}
		case RV_CODE_FLOAT16:
			{
				const rv_half *h = (const rv_half *) code;

				for (int i = 0; i < dim; i++)
				{
					rv_half		b;
					double		v;
					double		e;

					memcpy(&b, h + i, sizeof(rv_half));
					v = fabs((double) rv_half_to_float(b));
					if (v >= 65504.0 || isnan(v))
					{
						*err = INFINITY;
						*norm = INFINITY;
						return;
					}
					e = v * (1.0 / 2048.0) * 1.001 + 2.9802322387695312e-08;
					e2 += e * e;
					n2 += v * v;
				}
				*err = (float) (sqrt(e2) * 1.001);
				*norm = (float) sqrt(n2);
				return;
			}
		case RV_CODE_SQ8:
			{
				Sq8Header	h;
				double		n;

				memcpy(&h, code, sizeof(h));
				n = sqrt(h.norm2 > 0.0f ? (double) h.norm2 : 0.0);
				*err = (float) ((sqrt((double) dim) * fabs((double) h.scale) / 2.0) * 1.001
								+ 1e-5 * (n + sqrt((double) dim) * fabs((double) h.offset)));
				*norm = (float) n;
				if (!isfinite(*err) || !isfinite(*norm))
					*err = INFINITY;
				return;
			}
		case RV_CODE_BINARY:
			break;
	}
	*err = INFINITY;
	*norm = INFINITY;
}

/*
 * Distance between two float16 codes, as rv_code_query_init on a's
 * decoding and rv_code_distance to b would give (decoding a float16 and
 * rounding it back is exact, so the query is a's bits), without the
 * decoding.  Returns false for the other kinds: call those the long way.
 */
bool
rv_code_distance_codes(RvCodeKind kind, RvCodeMetric metric, const void *a, const void *b,
					   int dim, float *out)
{
	RvCodeQuery q;

	if (kind != RV_CODE_FLOAT16)
		return false;
	memset(&q, 0, sizeof(q));
	q.kind = kind;
	q.metric = metric;
	q.dim = dim;
	q.aux = (void *) a;
	*out = distance_float16(&q, (const rv_half *) b);
	return true;
}

/*
 * Distance from the prepared query to one code.
 */
float
rv_code_distance(const RvCodeQuery *q, const void *code)
{
	switch (q->kind)
	{
		case RV_CODE_FLOAT32:
			return distance_float32(q, (const float *) code);
		case RV_CODE_FLOAT16:
			return distance_float16(q, (const rv_half *) code);
		case RV_CODE_SQ8:
			return distance_sq8(q, (const uint8_t *) code);
		case RV_CODE_BINARY:
			return (float) rv_bit_hamming((const uint8_t *) q->aux,
										  (const uint8_t *) code,
										  binary_bytes(q->dim));
	}
	return 0.0f;
}
