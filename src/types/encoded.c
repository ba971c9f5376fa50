/*-------------------------------------------------------------------------
 *
 * encoded.c
 *	  What the type layer does with a vector or halfvec datum whose tag
 *	  ("unused") is not zero: the vector decoder hook and the refusal of
 *	  encoded halfvecs, both reached from DatumGetVector / DatumGetHalfVector
 *	  (types.h).
 *
 * NOTES
 *	  Encoded forms belong to the ruvector_heap table AM and its codecs
 *	  (src/tier/).  The type layer does not call into them: it only holds
 *	  the function pointer rv_vector_decode_hook, which the codecs fill at
 *	  _PG_init (RvTierInstallDecodeHook).  _PG_init runs before any
 *	  function of the library, so the hook is always set when a datum can
 *	  reach it.
 *
 *	  No locks, no shared state.
 *
 * IDENTIFICATION
 *	  src/types/encoded.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "types/types.h"

/* Decoder of encoded vector datums, installed at _PG_init (types.h). */
rv_vector_decode_hook_type rv_vector_decode_hook = NULL;

/*
 * halfvec values are never encoded by ruvector; a non-zero tag is refused.
 */
HalfVector *
rv_halfvec_refuse_encoded(HalfVector *v)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("halfvec value has an unsupported encoding (tag %d)", v->unused),
			 errhint("halfvec columns are stored unencoded; this value was not written by ruvector.")));
	pg_unreachable();
}
