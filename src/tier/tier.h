/*-------------------------------------------------------------------------
 *
 * tier.h
 *	  Tiered vector storage: the encoded forms of a vector datum, their
 *	  codecs and PQ codebooks - codecs only.  The table AM that stores
 *	  them owns the rest: tier policies, per-block access tracking and the
 *	  tier-move WAL live in src/tableam/ (tableam.h, rvheap_wal.h).  No
 *	  file here includes a table-AM header.
 *
 * NOTES
 *	  An encoded vector keeps pgvector's header (varlena length, int16 dim,
 *	  int16 unused) and tags its encoding in "unused", which is zero in a
 *	  plain float32 vector:
 *
 *		tag 0  float32	x[dim]							(hot, the plain form)
 *		tag 1  float16	rv_half x[dim]					(warm)
 *		tag 2  sq8		rv_half offset, rv_half scale,	(cool)
 *						uint8 codes[dim]
 *		tag 3  pq		uint32 codebook id, rv_half norm,	(cold, long form)
 *						uint8 codes[m]
 *		tag 4 | n << 8	pq, short form: the "dim" field holds the
 *						codebook id, the tag's high byte n the norm
 *						(1-255 on the codebook's log scale, 0 = zero
 *						vector); then uint8 codes[m]
 *
 *	  A PQ datum names its codebook by a database-wide id (a row of the
 *	  extension table ruvector_codebooks); the codebook's dim and m must
 *	  match the datum.  Codebooks are immutable once committed, so caching
 *	  them by id in backend memory needs no invalidation.  PQ quantizes the
 *	  direction (the vector divided by its norm) and keeps the norm apart:
 *	  centroids are then not spent on magnitude, which raised cosine
 *	  recall@10 on glove-100 at m = 50 from 0.903 to 0.915.
 *
 *	  The short form exists so that "8x smaller" holds for the stored value,
 *	  not just for the codes: it carries 5 bytes besides its m codes (a
 *	  1-byte varlena header on disk, the codebook id, the tag and norm)
 *	  against 11 for the long form, so 100 dimensions (408 bytes as
 *	  float32) take 46 codes at 51 bytes.  It is used whenever the codebook
 *	  id fits 15 bits and the norm is within the codebook's norm range
 *	  (the column's norms at training, widened 1.5x each way), whose 254
 *	  log steps keep the norm within 0.5% for a 10x range; otherwise the
 *	  long form is written.  Both forms decode the same way.
 *
 *	  zstd was measured as a lossless tier and does not pay for per-vector
 *	  compression of float32 embeddings (glove-100: 0.0% saved, cohere-768:
 *	  6.5% at level 3), so the only lossless move is float16 for vectors
 *	  whose every component is exactly a half.
 *
 * IDENTIFICATION
 *	  src/tier/tier.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_TIER_H
#define RV_TIER_H

#include "postgres.h"

#include "utils/rel.h"

#include "types/types.h"

/* Encodings, warmest first; the order is the order of coldness. */
#define RV_TIER_FLOAT32		0
#define RV_TIER_FLOAT16		1
#define RV_TIER_SQ8			2
#define RV_TIER_PQ			3
#define RV_TIER_COUNT		4

/*
 * Formats (the low byte of the tag): one per tier, plus the short form of
 * PQ.  The high byte is zero except in the short PQ form.
 */
#define RV_FORMAT_PQ_SHORT	4

/* Payload of an SQ8 datum, after the Vector header. */
typedef struct RvSq8Payload
{
	rv_half		offset;
	rv_half		scale;
	uint8		codes[FLEXIBLE_ARRAY_MEMBER];
} RvSq8Payload;

/* Payload of a PQ datum, after the Vector header. */
typedef struct RvPqPayload
{
	uint32		codebook;
	rv_half		norm;
	uint8		codes[FLEXIBLE_ARRAY_MEMBER];
} RvPqPayload;

#define RV_VECTOR_HDRSZ			offsetof(Vector, x)
#define RV_F16_SIZE(dim)		(RV_VECTOR_HDRSZ + sizeof(rv_half) * (Size) (dim))
#define RV_SQ8_SIZE(dim)		(RV_VECTOR_HDRSZ + offsetof(RvSq8Payload, codes) + (Size) (dim))
#define RV_PQ_SIZE(m)			(RV_VECTOR_HDRSZ + offsetof(RvPqPayload, codes) + (Size) (m))
#define RV_PQ_SHORT_SIZE(m)		(RV_VECTOR_HDRSZ + (Size) (m))
#define RV_PQ_SHORT_MAX_ID		32767

/* PQ limits */
#define RV_PQ_MIN_K				2
#define RV_PQ_DEFAULT_K			256
#define RV_PQ_MAX_K				256
#define RV_PQ_MIN_SAMPLE		256
#define RV_PQ_DEFAULT_SAMPLE	20000
#define RV_PQ_MAX_SAMPLE		1000000
#define RV_PQ_ITERATIONS		25
#define RV_PQ_ROTATE_MAX_DIM	256 /* decoding costs dim^2 with a rotation */
#define RV_PQ_NORM_MARGIN		1.5 /* norm range beyond the sample's */

/* A trained PQ codebook (k * dim floats, layout in quant/pq.c). */
typedef struct RvCodebookData
{
	uint32		id;
	Oid			relid;
	int			version;
	int			dim;
	int			m;
	int			k;
	float	   *centroids;
	float	   *rotation;		/* dim x dim, or NULL: none (pq.c) */
	float		norm_lo;		/* norm range of the short form; 0: no */
	float		norm_hi;		/* short form */
} RvCodebookData;

typedef RvCodebookData *RvCodebook;

/* tier_codec.c */
extern const char *RvTierName(int tier);
extern int	RvTierFromName(const char *name);
extern int	RvTierOfTag(int16 tag);
extern int	RvEncodedDim(const Vector *v);
extern bool RvDatumIsEncoded(Datum value, int *tier);
extern Vector *RvTierEncode(const Vector *hot, int tier, RvCodebook cb,
							bool lossless_only);
extern Vector *RvTierDecode(const Vector *enc);
extern const char *RvTierCheckEncoded(const Vector *v, Size size);

/* tier_codebook.c */
extern RvCodebook RvCodebookGet(uint32 id, bool missing_ok);
extern RvCodebook RvCodebookLatest(Relation rel, const char *attname, int dim,
								   int m, int k);
extern uint32 RvCodebookTrain(Relation rel, AttrNumber attnum, int m, int k,
							  int sample);

/* Install rv_vector_decode_hook (types.h): decoding of encoded datums. */
extern void RvTierInstallDecodeHook(void);

#endif							/* RV_TIER_H */
