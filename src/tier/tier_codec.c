/*-------------------------------------------------------------------------
 *
 * tier_codec.c
 *	  Encode a float32 vector datum into a colder tier and decode any tier
 *	  back to float32; the decoder behind DatumGetVector for encoded forms,
 *	  which types.h reaches through rv_vector_decode_hook (installed by
 *	  RvTierInstallDecodeHook at _PG_init), so the type layer never calls
 *	  into this directory.
 *
 * NOTES
 *	  Datum layouts are in tier.h.  Encoding returns NULL when the form
 *	  cannot hold the vector (values beyond the float16 range, a codebook of
 *	  another dimension, or a lossy form when only lossless moves are
 *	  allowed); the caller then keeps the vector as it is.  Decoding
 *	  validates sizes and codes before touching memory, so a corrupted datum
 *	  is an ERRCODE_DATA_CORRUPTED error rather than a wild read.
 *
 *	  The codec arithmetic lives in the pure-C files src/quant/float16.c,
 *	  sq8.c and pq.c; this file only lays out datums and finds codebooks.
 *
 *	  Memory: results are palloc'd in the caller's context.
 *
 * IDENTIFICATION
 *	  src/tier/tier_codec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "access/xact.h"

#include "tier/tier.h"

static const char *const tier_names[RV_TIER_COUNT] = {
	"float32", "float16", "sq8", "pq"
};

/* Name of a tier tag ("unknown" for anything else). */
const char *
RvTierName(int tier)
{
	if (tier < 0 || tier >= RV_TIER_COUNT)
		return "unknown";
	return tier_names[tier];
}

/* Tag of a tier name, or -1. */
int
RvTierFromName(const char *name)
{
	for (int i = 0; i < RV_TIER_COUNT; i++)
		if (strcmp(name, tier_names[i]) == 0)
			return i;
	return -1;
}

/*
 * Tier of an encoding tag (the "unused" field), or -1 for a tag that no
 * format of this version uses.
 */
int
RvTierOfTag(int16 tag)
{
	int			format = (uint16) tag & 0xFF;
	int			high = (uint16) tag >> 8;

	if (format == RV_FORMAT_PQ_SHORT)
		return RV_TIER_PQ;
	if (high != 0 || format >= RV_TIER_COUNT)
		return -1;
	return format;
}

static inline bool
IsPqShort(const Vector *v)
{
	return ((uint16) v->unused & 0xFF) == RV_FORMAT_PQ_SHORT;
}

/*
 * Dimensions of a vector in any format (the short PQ form keeps them in its
 * codebook); 0 if that codebook does not exist.
 */
int
RvEncodedDim(const Vector *v)
{
	RvCodebook	cb;

	if (!IsPqShort(v))
		return v->dim;
	cb = RvCodebookGet((uint16) v->dim, true);
	return cb ? cb->dim : 0;
}

/*
 * Whether a vector datum, in whatever varlena form it is stored, carries
 * an encoding tag; *tier gets its tier (-1: an unknown tag).  Inline forms are read in place;
 * compressed or out-of-line ones are fetched (rare: vectors of ruvector_heap
 * tables are kept inline).
 */
bool
RvDatumIsEncoded(Datum value, int *tier)
{
	struct varlena *p = (struct varlena *) DatumGetPointer(value);
	int16		tag;

	if (VARATT_IS_EXTENDED(p) && !VARATT_IS_SHORT(p))
	{
		struct varlena *full = detoast_attr(p);

		tag = VARSIZE(full) >= RV_VECTOR_HDRSZ ? ((Vector *) full)->unused : 0;
		if (full != p)
			pfree(full);
	}
	else
	{
		if (VARSIZE_ANY_EXHDR(p) < RV_VECTOR_HDRSZ - VARHDRSZ)
			tag = 0;
		else
			memcpy(&tag, VARDATA_ANY(p) + sizeof(int16), sizeof(int16));
	}
	*tier = RvTierOfTag(tag);
	return tag != 0;
}

/* A zeroed datum of size bytes with the header of an encoded vector. */
static Vector *
NewEncoded(Size size, int dim, int tier)
{
	Vector	   *v = (Vector *) palloc0(size);

	SET_VARSIZE(v, size);
	v->dim = (int16) dim;
	v->unused = (int16) tier;
	return v;
}

static Vector *
EncodeF16(const Vector *hot, bool lossless_only)
{
	Vector	   *v = NewEncoded(RV_F16_SIZE(hot->dim), hot->dim, RV_TIER_FLOAT16);
	rv_half    *h = (rv_half *) v->x;

	rv_float_to_half_n(hot->x, h, hot->dim);
	for (int i = 0; i < hot->dim; i++)
	{
		/* Out of the half range becomes Inf: never a valid move. */
		if (rv_half_is_inf(h[i]) ||
			(lossless_only && rv_half_to_float(h[i]) != hot->x[i]))
		{
			pfree(v);
			return NULL;
		}
	}
	return v;
}

static Vector *
EncodeSq8(const Vector *hot)
{
	Vector	   *v = NewEncoded(RV_SQ8_SIZE(hot->dim), hot->dim, RV_TIER_SQ8);
	RvSq8Payload *p = (RvSq8Payload *) v->x;

	if (!rv_sq8_encode(hot->x, hot->dim, &p->offset, &p->scale, p->codes))
	{
		pfree(v);
		return NULL;
	}
	return v;
}

/* Log step of a codebook's norm scale (codes 1-255 span the range). */
static double
NormStep(RvCodebook cb)
{
	return (log(cb->norm_hi) - log(cb->norm_lo)) / 254.0;
}

/* Code of a norm on the codebook's scale (tier.h), or -1 if outside. */
static int
NormCode(RvCodebook cb, double norm)
{
	double		pos;

	if (norm == 0)
		return 0;
	if (cb->norm_lo <= 0 || !(cb->norm_hi > cb->norm_lo) || !isfinite(norm))
		return -1;
	pos = floor((log(norm) - log(cb->norm_lo)) / NormStep(cb) + 0.5);
	return pos >= 0 && pos <= 254 ? 1 + (int) pos : -1;
}

static double
NormOfCode(RvCodebook cb, int code)
{
	return code == 0 ? 0.0 : exp(log(cb->norm_lo) + (code - 1) * NormStep(cb));
}

/*
 * PQ of the direction, rotated by the codebook's rotation if it has one,
 * coded for the best cosine (pq.c).  The short form is written when the
 * codebook id and the norm fit it, else the long form with the norm as a
 * half; a norm beyond the half range too is refused.  A zero vector is
 * all-zero codes with norm 0.
 */
static Vector *
EncodePq(const Vector *hot, RvCodebook cb)
{
	Vector	   *v;
	uint8	   *codes;
	double		norm = 0.0;
	int			ncode;

	if (cb == NULL || cb->dim != hot->dim)
		return NULL;
	for (int i = 0; i < hot->dim; i++)
		norm += (double) hot->x[i] * hot->x[i];
	norm = sqrt(norm);

	ncode = cb->id <= RV_PQ_SHORT_MAX_ID ? NormCode(cb, norm) : -1;
	if (ncode >= 0)
	{
		v = NewEncoded(RV_PQ_SHORT_SIZE(cb->m), (int) cb->id,
					   RV_FORMAT_PQ_SHORT | (ncode << 8));
		codes = (uint8 *) v->x;
	}
	else
	{
		RvPqPayload *p;

		if (norm > RV_HALF_MAX)
			return NULL;
		v = NewEncoded(RV_PQ_SIZE(cb->m), hot->dim, RV_TIER_PQ);
		p = (RvPqPayload *) v->x;
		p->codebook = cb->id;
		p->norm = rv_float_to_half((float) norm);
		codes = p->codes;
	}

	if (norm > 0)
	{
		float	   *dir = palloc(sizeof(float) * hot->dim * 2);
		float	   *rot = dir + hot->dim;

		for (int i = 0; i < hot->dim; i++)
			dir[i] = (float) (hot->x[i] / norm);
		if (cb->rotation)
			rv_pq_rotate(cb->rotation, cb->dim, dir, rot);
		rv_pq_encode_direction(cb->centroids, cb->dim, cb->m, cb->k,
							   cb->rotation ? rot : dir, codes);
		pfree(dir);
	}
	return v;
}

/*
 * Encode a plain float32 vector into tier, or NULL if that form cannot hold
 * it (see NOTES).  lossless_only restricts to forms that decode to the same
 * bits.
 */
Vector *
RvTierEncode(const Vector *hot, int tier, RvCodebook cb, bool lossless_only)
{
	Assert(hot->unused == 0);

	switch (tier)
	{
		case RV_TIER_FLOAT16:
			return EncodeF16(hot, lossless_only);
		case RV_TIER_SQ8:
			return lossless_only ? NULL : EncodeSq8(hot);
		case RV_TIER_PQ:
			return lossless_only ? NULL : EncodePq(hot, cb);
		default:
			return NULL;
	}
}

/* Raise the error for a datum whose layout does not match its tag. */
static void
pg_attribute_noreturn()
CorruptDatum(const Vector *v, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("encoded vector is corrupted: %s", problem),
			 errdetail("Encoding format %d (%s), dimension field %d, %u bytes.",
					   (uint16) v->unused & 0xFF, RvTierName(RvTierOfTag(v->unused)),
					   v->dim, (unsigned) VARSIZE(v))));
}

/* Codes at or beyond the codebook's k. */
static const char *
CheckPqCodes(RvCodebook cb, const uint8 *codes)
{
	for (int j = 0; j < cb->m; j++)
		if (codes[j] >= cb->k)
			return "pq code beyond the codebook";
	return NULL;
}

/* The short PQ form (tier.h). */
static const char *
CheckPqShort(const Vector *v, Size size)
{
	int			id = (uint16) v->dim;
	RvCodebook	cb;

	if (id < 1 || id > RV_PQ_SHORT_MAX_ID)
		return "pq codebook id out of range";
	cb = RvCodebookGet(id, true);
	if (cb == NULL)
		return "pq codebook does not exist";
	if (size != RV_PQ_SHORT_SIZE(cb->m))
		return "pq datum does not match its codebook";
	if (((uint16) v->unused >> 8) != 0 && cb->norm_lo <= 0)
		return "pq norm code but the codebook has no norm range";
	return CheckPqCodes(cb, (const uint8 *) v->x);
}

/*
 * Check an encoded datum (4-byte header, size bytes) against its tag
 * without decoding it; returns a description of the first problem, or NULL.
 * PQ datums are checked against their codebook, which must exist.
 */
const char *
RvTierCheckEncoded(const Vector *v, Size size)
{
	if (size < RV_VECTOR_HDRSZ)
		return "shorter than a vector header";
	if (RvTierOfTag(v->unused) < 0)
		return "unknown encoding tag";
	if (IsPqShort(v))
		return CheckPqShort(v, size);
	if (v->dim < 1 || v->dim > VECTOR_MAX_DIM)
		return "dimension out of range";

	switch (v->unused)
	{
		case RV_TIER_FLOAT32:
			return size == VECTOR_SIZE(v->dim) ? NULL : "float32 size does not match dimension";
		case RV_TIER_FLOAT16:
			return size == RV_F16_SIZE(v->dim) ? NULL : "float16 size does not match dimension";
		case RV_TIER_SQ8:
			return size == RV_SQ8_SIZE(v->dim) ? NULL : "sq8 size does not match dimension";
		case RV_TIER_PQ:
			{
				const RvPqPayload *p = (const RvPqPayload *) v->x;
				RvCodebook	cb;

				if (size < RV_PQ_SIZE(0))
					return "pq datum shorter than its header";
				cb = RvCodebookGet(p->codebook, true);
				if (cb == NULL)
					return "pq codebook does not exist";
				if (cb->dim != v->dim || size != RV_PQ_SIZE(cb->m))
					return "pq datum does not match its codebook";
				return CheckPqCodes(cb, p->codes);
			}
	}
	return "unknown encoding tag";
}

/*
 * Decode PQ codes to dim floats of length norm: unrotate the concatenated
 * centroids, then rescale.  The concatenation is a direction of length
 * close to, not exactly, 1; rescaling to the stored norm gives the decoded
 * vector the original's length, so encoding it again gives the same codes.
 */
static void
DecodePq(RvCodebook cb, const uint8 *codes, double norm, float *out)
{
	double		len = 0.0;

	if (cb->rotation)
	{
		float	   *y = palloc(sizeof(float) * cb->dim);

		rv_pq_decode(cb->centroids, cb->dim, cb->m, cb->k, codes, y);
		rv_pq_unrotate(cb->rotation, cb->dim, y, out);
		pfree(y);
	}
	else
		rv_pq_decode(cb->centroids, cb->dim, cb->m, cb->k, codes, out);
	for (int i = 0; i < cb->dim; i++)
		len += (double) out[i] * out[i];
	len = sqrt(len);
	for (int i = 0; i < cb->dim; i++)
		out[i] = len > 0 ? (float) (out[i] * (norm / len)) : 0.0f;
}

/*
 * Decode any tier of a vector (4-byte header, in memory) to a new float32
 * vector.  A float32 vector is returned as is.
 */
Vector *
RvTierDecode(const Vector *enc)
{
	const char *problem;
	Vector	   *hot;

	if (enc->unused == 0)
		return (Vector *) enc;

	problem = RvTierCheckEncoded(enc, VARSIZE(enc));
	if (problem)
		CorruptDatum(enc, problem);

	if (IsPqShort(enc))
	{
		RvCodebook	cb = RvCodebookGet((uint16) enc->dim, false);

		hot = rv_vector_new(cb->dim);
		DecodePq(cb, (const uint8 *) enc->x,
				 NormOfCode(cb, (uint16) enc->unused >> 8), hot->x);
		return hot;
	}

	hot = rv_vector_new(enc->dim);
	switch (enc->unused)
	{
		case RV_TIER_FLOAT16:
			rv_half_to_float_n((const rv_half *) enc->x, hot->x, enc->dim);
			break;
		case RV_TIER_SQ8:
			{
				const RvSq8Payload *p = (const RvSq8Payload *) enc->x;

				rv_sq8_decode(p->offset, p->scale, p->codes, enc->dim, hot->x);
				break;
			}
		case RV_TIER_PQ:
			{
				const RvPqPayload *p = (const RvPqPayload *) enc->x;

				DecodePq(RvCodebookGet(p->codebook, false), p->codes,
						 rv_half_to_float(p->norm), hot->x);
				break;
			}
	}
	return hot;
}

/*
 * The second line of defence behind DatumGetVector (types.h): a vector
 * datum with a non-zero tag reached a function.  Decode it if this is a
 * known form, or refuse it clearly.  Installed as rv_vector_decode_hook.
 */
static Vector *
DecodeEncodedDatum(Vector *v)
{
	if (RvTierOfTag(v->unused) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("vector value has an unknown encoding (tag %d)", v->unused),
				 errhint("Encoded vectors only exist inside ruvector_heap tables; a value with this tag was not written by ruvector.")));
	if (RvTierOfTag(v->unused) == RV_TIER_PQ && !IsTransactionState())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot decode a PQ-encoded vector outside a transaction"),
				 errhint("Read the value through its ruvector_heap table, which decodes it.")));
	return RvTierDecode(v);
}

/* Let DatumGetVector (types.h) decode encoded datums; called at _PG_init. */
void
RvTierInstallDecodeHook(void)
{
	rv_vector_decode_hook = DecodeEncodedDatum;
}
