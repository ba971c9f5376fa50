/*
 * unit.h — the Check suites of the pure-C modules, run by run_unit.
 *
 * Each test_*.c file defines one suite constructor; run_unit.c lists them.
 * Tolerances are stated where floating point results are compared.
 */
#ifndef RV_UNIT_H
#define RV_UNIT_H

#include <check.h>

Suite	   *kernels_suite(void);
Suite	   *kernels_batch_suite(void);
Suite	   *float16_suite(void);
Suite	   *dense_parse_suite(void);
Suite	   *sparse_parse_suite(void);
Suite	   *cypher_suite(void);
Suite	   *sq8_pq_suite(void);
Suite	   *codes_suite(void);
Suite	   *integrity_suite(void);
Suite	   *audit_suite(void);
Suite	   *gnn_suite(void);

#endif
