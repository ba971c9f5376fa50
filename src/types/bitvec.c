/*
 * bitvec.c — distance functions on PostgreSQL's bit type: hamming_distance
 * (operator <~>) and jaccard_distance (operator <%>), as pgvector defines them.
 *
 * bit stores its length in bits and pads the last byte with zeros, so the
 * kernels can run over whole bytes: padding bits agree in both inputs and
 * count in neither distance.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/varbit.h"

#include "distance/distance.h"
#include "types/types.h"

/* Both distances are defined only between bit strings of one length. */
static void
rv_bit_check_lengths(const VarBit *a, const VarBit *b)
{
	if (VARBITLEN(a) != VARBITLEN(b))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different bit lengths %u and %u",
						(uint32) VARBITLEN(a), (uint32) VARBITLEN(b))));
}

/*
 * Jaccard distance from the popcounts: 1 - |a & b| / |a | b|.  Two strings
 * with no bit set in common (including two all-zero strings) are at distance
 * 1, which keeps the function total.
 */
double
rv_jaccard_from_counts(uint64 ab, uint64 aa_plus_bb)
{
	if (ab == 0)
		return 1.0;
	return 1.0 - (double) ab / (double) (aa_plus_bb - ab);
}

PG_FUNCTION_INFO_V1(hamming_distance);
Datum
hamming_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);

	rv_bit_check_lengths(a, b);
	PG_RETURN_FLOAT8((double) rv_bit_hamming(VARBITS(a), VARBITS(b), VARBITBYTES(a)));
}

PG_FUNCTION_INFO_V1(jaccard_distance);
Datum
jaccard_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);
	uint64_t	ab;
	uint64_t	aa_plus_bb;

	rv_bit_check_lengths(a, b);
	rv_bit_jaccard(VARBITS(a), VARBITS(b), VARBITBYTES(a), &ab, &aa_plus_bb);
	PG_RETURN_FLOAT8(rv_jaccard_from_counts(ab, aa_plus_bb));
}
