-- Filter columns of multicolumn HNSW indexes (C in src/indexam/hnswfilter.c).
--
-- USING hnsw (embedding vector_l2_ops, category, score): columns after the
-- vector are filter columns, kept in every graph node; the scan evaluates
-- the quals the planner hands it on them without reading the table.  These
-- are the default operator classes of the filter types, for hnsw and
-- ruhnsw: btree's comparison operators under btree's strategy numbers
-- (1 <, 2 <=, 3 =, 4 >=, 5 >), in families that also hold the cross-type
-- operators between the integer types and between the float types.  No
-- support functions: a filter column is only compared.

-- hnsw ----------------------------------------------------------------

CREATE OPERATOR FAMILY integer_ops USING hnsw;

CREATE OPERATOR CLASS int2_ops
	DEFAULT FOR TYPE int2 USING hnsw FAMILY integer_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

CREATE OPERATOR CLASS int4_ops
	DEFAULT FOR TYPE int4 USING hnsw FAMILY integer_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

CREATE OPERATOR CLASS int8_ops
	DEFAULT FOR TYPE int8 USING hnsw FAMILY integer_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

ALTER OPERATOR FAMILY integer_ops USING hnsw ADD
	OPERATOR 1 < (int2, int4),
	OPERATOR 2 <= (int2, int4),
	OPERATOR 3 = (int2, int4),
	OPERATOR 4 >= (int2, int4),
	OPERATOR 5 > (int2, int4),
	OPERATOR 1 < (int2, int8),
	OPERATOR 2 <= (int2, int8),
	OPERATOR 3 = (int2, int8),
	OPERATOR 4 >= (int2, int8),
	OPERATOR 5 > (int2, int8),
	OPERATOR 1 < (int4, int2),
	OPERATOR 2 <= (int4, int2),
	OPERATOR 3 = (int4, int2),
	OPERATOR 4 >= (int4, int2),
	OPERATOR 5 > (int4, int2),
	OPERATOR 1 < (int4, int8),
	OPERATOR 2 <= (int4, int8),
	OPERATOR 3 = (int4, int8),
	OPERATOR 4 >= (int4, int8),
	OPERATOR 5 > (int4, int8),
	OPERATOR 1 < (int8, int2),
	OPERATOR 2 <= (int8, int2),
	OPERATOR 3 = (int8, int2),
	OPERATOR 4 >= (int8, int2),
	OPERATOR 5 > (int8, int2),
	OPERATOR 1 < (int8, int4),
	OPERATOR 2 <= (int8, int4),
	OPERATOR 3 = (int8, int4),
	OPERATOR 4 >= (int8, int4),
	OPERATOR 5 > (int8, int4);



CREATE OPERATOR FAMILY float_ops USING hnsw;

CREATE OPERATOR CLASS float4_ops
	DEFAULT FOR TYPE float4 USING hnsw FAMILY float_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

CREATE OPERATOR CLASS float8_ops
	DEFAULT FOR TYPE float8 USING hnsw FAMILY float_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

ALTER OPERATOR FAMILY float_ops USING hnsw ADD
	OPERATOR 1 < (float4, float8),
	OPERATOR 2 <= (float4, float8),
	OPERATOR 3 = (float4, float8),
	OPERATOR 4 >= (float4, float8),
	OPERATOR 5 > (float4, float8),
	OPERATOR 1 < (float8, float4),
	OPERATOR 2 <= (float8, float4),
	OPERATOR 3 = (float8, float4),
	OPERATOR 4 >= (float8, float4),
	OPERATOR 5 > (float8, float4);



CREATE OPERATOR FAMILY date_ops USING hnsw;

CREATE OPERATOR CLASS date_ops
	DEFAULT FOR TYPE date USING hnsw FAMILY date_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;



CREATE OPERATOR FAMILY timestamp_ops USING hnsw;

CREATE OPERATOR CLASS timestamp_ops
	DEFAULT FOR TYPE timestamp USING hnsw FAMILY timestamp_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;



CREATE OPERATOR FAMILY timestamptz_ops USING hnsw;

CREATE OPERATOR CLASS timestamptz_ops
	DEFAULT FOR TYPE timestamptz USING hnsw FAMILY timestamptz_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;



CREATE OPERATOR FAMILY bool_ops USING hnsw;

CREATE OPERATOR CLASS bool_ops
	DEFAULT FOR TYPE bool USING hnsw FAMILY bool_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;



CREATE OPERATOR FAMILY oid_ops USING hnsw;

CREATE OPERATOR CLASS oid_ops
	DEFAULT FOR TYPE oid USING hnsw FAMILY oid_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;



-- ruhnsw --------------------------------------------------------------

CREATE OPERATOR FAMILY integer_ops USING ruhnsw;

CREATE OPERATOR CLASS int2_ops
	DEFAULT FOR TYPE int2 USING ruhnsw FAMILY integer_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

CREATE OPERATOR CLASS int4_ops
	DEFAULT FOR TYPE int4 USING ruhnsw FAMILY integer_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

CREATE OPERATOR CLASS int8_ops
	DEFAULT FOR TYPE int8 USING ruhnsw FAMILY integer_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

ALTER OPERATOR FAMILY integer_ops USING ruhnsw ADD
	OPERATOR 1 < (int2, int4),
	OPERATOR 2 <= (int2, int4),
	OPERATOR 3 = (int2, int4),
	OPERATOR 4 >= (int2, int4),
	OPERATOR 5 > (int2, int4),
	OPERATOR 1 < (int2, int8),
	OPERATOR 2 <= (int2, int8),
	OPERATOR 3 = (int2, int8),
	OPERATOR 4 >= (int2, int8),
	OPERATOR 5 > (int2, int8),
	OPERATOR 1 < (int4, int2),
	OPERATOR 2 <= (int4, int2),
	OPERATOR 3 = (int4, int2),
	OPERATOR 4 >= (int4, int2),
	OPERATOR 5 > (int4, int2),
	OPERATOR 1 < (int4, int8),
	OPERATOR 2 <= (int4, int8),
	OPERATOR 3 = (int4, int8),
	OPERATOR 4 >= (int4, int8),
	OPERATOR 5 > (int4, int8),
	OPERATOR 1 < (int8, int2),
	OPERATOR 2 <= (int8, int2),
	OPERATOR 3 = (int8, int2),
	OPERATOR 4 >= (int8, int2),
	OPERATOR 5 > (int8, int2),
	OPERATOR 1 < (int8, int4),
	OPERATOR 2 <= (int8, int4),
	OPERATOR 3 = (int8, int4),
	OPERATOR 4 >= (int8, int4),
	OPERATOR 5 > (int8, int4);



CREATE OPERATOR FAMILY float_ops USING ruhnsw;

CREATE OPERATOR CLASS float4_ops
	DEFAULT FOR TYPE float4 USING ruhnsw FAMILY float_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

CREATE OPERATOR CLASS float8_ops
	DEFAULT FOR TYPE float8 USING ruhnsw FAMILY float_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

ALTER OPERATOR FAMILY float_ops USING ruhnsw ADD
	OPERATOR 1 < (float4, float8),
	OPERATOR 2 <= (float4, float8),
	OPERATOR 3 = (float4, float8),
	OPERATOR 4 >= (float4, float8),
	OPERATOR 5 > (float4, float8),
	OPERATOR 1 < (float8, float4),
	OPERATOR 2 <= (float8, float4),
	OPERATOR 3 = (float8, float4),
	OPERATOR 4 >= (float8, float4),
	OPERATOR 5 > (float8, float4);



CREATE OPERATOR FAMILY date_ops USING ruhnsw;

CREATE OPERATOR CLASS date_ops
	DEFAULT FOR TYPE date USING ruhnsw FAMILY date_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;



CREATE OPERATOR FAMILY timestamp_ops USING ruhnsw;

CREATE OPERATOR CLASS timestamp_ops
	DEFAULT FOR TYPE timestamp USING ruhnsw FAMILY timestamp_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;



CREATE OPERATOR FAMILY timestamptz_ops USING ruhnsw;

CREATE OPERATOR CLASS timestamptz_ops
	DEFAULT FOR TYPE timestamptz USING ruhnsw FAMILY timestamptz_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;



CREATE OPERATOR FAMILY bool_ops USING ruhnsw;

CREATE OPERATOR CLASS bool_ops
	DEFAULT FOR TYPE bool USING ruhnsw FAMILY bool_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;



CREATE OPERATOR FAMILY oid_ops USING ruhnsw;

CREATE OPERATOR CLASS oid_ops
	DEFAULT FOR TYPE oid USING ruhnsw FAMILY oid_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;
