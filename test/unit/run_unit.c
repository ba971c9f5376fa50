/*
 * run_unit.c — runs every Check suite of the pure-C modules and exits non-zero
 * if any test failed.  Check prints its own summary line per suite.
 */
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner    *sr = srunner_create(kernels_suite());
	int			failed;

	srunner_add_suite(sr, kernels_batch_suite());
	srunner_add_suite(sr, float16_suite());
	srunner_add_suite(sr, dense_parse_suite());
	srunner_add_suite(sr, sparse_parse_suite());
	srunner_add_suite(sr, cypher_suite());
	srunner_add_suite(sr, sq8_pq_suite());
	srunner_add_suite(sr, codes_suite());
	srunner_add_suite(sr, integrity_suite());
	srunner_add_suite(sr, audit_suite());
	srunner_add_suite(sr, gnn_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
