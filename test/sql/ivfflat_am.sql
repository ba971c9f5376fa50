-- IVFFlat: the access methods, their operator classes, options, settings
-- and the errors of CREATE INDEX.

-- Both names use one handler.
SELECT amname, amhandler, amtype FROM pg_am
WHERE amname IN ('ivfflat', 'ruivfflat') ORDER BY amname;

-- The operator classes of each, with their type, operator and default flag.
SELECT am.amname, opc.opcname, opc.opcintype::regtype, opc.opcdefault,
       (SELECT amop.amopopr::regoperator FROM pg_amop amop
        WHERE amop.amopfamily = opc.opcfamily) AS operator
FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
WHERE am.amname IN ('ivfflat', 'ruivfflat')
ORDER BY am.amname, opc.opcname;

-- Support functions by number, for each operator class of ivfflat.
SELECT opc.opcname, amp.amprocnum, amp.amproc::regprocedure
FROM pg_opclass opc
JOIN pg_am am ON am.oid = opc.opcmethod
JOIN pg_amproc amp ON amp.amprocfamily = opc.opcfamily
WHERE am.amname = 'ivfflat'
ORDER BY opc.opcname, amp.amprocnum;

-- The same support functions for ruivfflat.
SELECT count(*) AS differences FROM (
  (SELECT opc.opcname, amp.amprocnum, amp.amproc FROM pg_opclass opc
   JOIN pg_am am ON am.oid = opc.opcmethod
   JOIN pg_amproc amp ON amp.amprocfamily = opc.opcfamily WHERE am.amname = 'ivfflat'
   EXCEPT
   SELECT opc.opcname, amp.amprocnum, amp.amproc FROM pg_opclass opc
   JOIN pg_am am ON am.oid = opc.opcmethod
   JOIN pg_amproc amp ON amp.amprocfamily = opc.opcfamily WHERE am.amname = 'ruivfflat')
  UNION ALL
  (SELECT opc.opcname, amp.amprocnum, amp.amproc FROM pg_opclass opc
   JOIN pg_am am ON am.oid = opc.opcmethod
   JOIN pg_amproc amp ON amp.amprocfamily = opc.opcfamily WHERE am.amname = 'ruivfflat'
   EXCEPT
   SELECT opc.opcname, amp.amprocnum, amp.amproc FROM pg_opclass opc
   JOIN pg_am am ON am.oid = opc.opcmethod
   JOIN pg_amproc amp ON amp.amprocfamily = opc.opcfamily WHERE am.amname = 'ivfflat')
) d;

-- Index properties: ordered by operator only, no unique, no multicolumn.
CREATE TABLE ivf_am (id int, v vector(3));
CREATE INDEX ivf_am_idx ON ivf_am USING ivfflat (v) WITH (lists = 1);
SELECT p, pg_index_has_property('ivf_am_idx', p)
FROM unnest(ARRAY['clusterable', 'index_scan', 'bitmap_scan', 'backward_scan']) p;
SELECT p, pg_indexam_has_property(am.oid, p)
FROM pg_am am, unnest(ARRAY['can_order', 'can_unique', 'can_multi_col', 'can_exclude', 'can_include']) p
WHERE am.amname = 'ruivfflat';
CREATE INDEX ON ivf_am USING ivfflat (id, v);
CREATE UNIQUE INDEX ON ivf_am USING ivfflat (v);
DROP TABLE ivf_am;

-- The lists option: default 100, range 1 .. 32768.
CREATE TABLE ivf_opt (v vector(2));
CREATE INDEX ivf_opt_default ON ivf_opt USING ivfflat (v);
CREATE INDEX ivf_opt_min ON ivf_opt USING ruivfflat (v) WITH (lists = 1);
SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'ivf_opt_%' ORDER BY relname;
CREATE INDEX ON ivf_opt USING ivfflat (v) WITH (lists = 0);
CREATE INDEX ON ivf_opt USING ruivfflat (v) WITH (lists = 32769);
CREATE INDEX ON ivf_opt USING ivfflat (v) WITH (lists = 'many');
CREATE INDEX ON ivf_opt USING ivfflat (v) WITH (probes = 3);
-- Changing the option needs a REINDEX to take effect; 32768 is accepted.
ALTER INDEX ivf_opt_min SET (lists = 32768);
SELECT reloptions FROM pg_class WHERE relname = 'ivf_opt_min';
ALTER INDEX ivf_opt_min SET (lists = 32769);
DROP TABLE ivf_opt;

-- Settings: ranges, defaults, and the iterative scan modes.
SHOW ivfflat.probes;
SHOW ivfflat.iterative_scan;
SHOW ivfflat.max_probes;
SET ivfflat.probes = 32768;
SHOW ivfflat.probes;
SET ivfflat.probes = 0;
SET ivfflat.probes = 40000;
SET ivfflat.iterative_scan = relaxed_order;
SHOW ivfflat.iterative_scan;
SET ivfflat.iterative_scan = strict_order;
SET ivfflat.max_probes = 1;
SET ivfflat.max_probes = 0;
RESET ivfflat.probes;
RESET ivfflat.iterative_scan;
RESET ivfflat.max_probes;
SELECT name, setting, min_val, max_val, enumvals, context FROM pg_settings
WHERE name LIKE 'ivfflat.%' ORDER BY name;
-- The prefix is reserved: a misspelt setting is an error, not a new variable.
SET ivfflat.probe = 3;

-- Columns an index cannot take.
CREATE TABLE ivf_bad (v vector, h halfvec, b varbit(8), v1 vector(1),
                      big vector(2001), bigh halfvec(4001), bigb bit(64001),
                      okv vector(2000), okh halfvec(4000), okb bit(64000));
CREATE INDEX ON ivf_bad USING ivfflat (v);
CREATE INDEX ON ivf_bad USING ivfflat (h halfvec_l2_ops);
CREATE INDEX ON ivf_bad USING ivfflat (b bit_hamming_ops);
CREATE INDEX ON ivf_bad USING ivfflat (big);
CREATE INDEX ON ivf_bad USING ivfflat (bigh halfvec_l2_ops);
CREATE INDEX ON ivf_bad USING ivfflat (bigb bit_hamming_ops);
-- Spherical k-means needs two dimensions at least; L2 does not.
CREATE INDEX ON ivf_bad USING ivfflat (v1 vector_ip_ops);
CREATE INDEX ON ivf_bad USING ivfflat (v1 vector_cosine_ops);
CREATE INDEX ON ivf_bad USING ivfflat (v1 vector_l2_ops) WITH (lists = 1);
-- The largest columns are fine (no rows: random centers, and a notice).
CREATE INDEX ON ivf_bad USING ivfflat (okv) WITH (lists = 2);
CREATE INDEX ON ivf_bad USING ruivfflat (okh halfvec_ip_ops) WITH (lists = 2);
CREATE INDEX ON ivf_bad USING ivfflat (okb bit_hamming_ops) WITH (lists = 2);
-- No operator class for these.
CREATE INDEX ON ivf_bad USING ivfflat (b bit_jaccard_ops);
CREATE INDEX ON ivf_bad USING ivfflat (v vector_l1_ops);
DROP TABLE ivf_bad;

-- Samples, centers and k-means must fit in maintenance_work_mem: here 100
-- centers of 2000 dimensions take 0.8 MB, and the samples 8 kB a row.
CREATE TABLE ivf_mem (v vector(2000));
INSERT INTO ivf_mem SELECT array_fill(i::real, ARRAY[2000]) FROM generate_series(1, 300) i;
SET maintenance_work_mem = '2MB';
CREATE INDEX ON ivf_mem USING ivfflat (v);
SET maintenance_work_mem = '8MB';
CREATE INDEX ivf_mem_ok ON ivf_mem USING ivfflat (v);
RESET maintenance_work_mem;
DROP TABLE ivf_mem;

-- An index is only used for ORDER BY its distance, with a LIMIT or not.
CREATE TABLE ivf_plan (id int, v vector(3));
INSERT INTO ivf_plan SELECT i, ARRAY[i % 7, i % 11, i % 13] FROM generate_series(1, 2000) i;
CREATE INDEX ivf_plan_idx ON ivf_plan USING ivfflat (v) WITH (lists = 4);
ANALYZE ivf_plan;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_plan ORDER BY v <-> '[1,2,3]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_plan WHERE v <-> '[1,2,3]' < 1;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_plan ORDER BY v <#> '[1,2,3]' LIMIT 5;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_plan WHERE v = '[1,2,3]';
RESET enable_seqscan;
DROP TABLE ivf_plan;
