-- vector: text and binary I/O, the type modifier and casts.
-- Errors are shown through vec_try(), which reports the SQLSTATE, message,
-- detail and hint, since those are what clients match on.

CREATE FUNCTION vec_try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hnt text;
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	RETURN st || ' ' || msg
		|| CASE WHEN det <> '' THEN ' | detail: ' || det ELSE '' END
		|| CASE WHEN hnt <> '' THEN ' | hint: ' || hnt ELSE '' END;
END $$;

-- Text input: accepted forms
SELECT '[1,2,3]'::vector;
SELECT '  [ 1 ,2 ,  3 ]  '::vector;
SELECT (E'\t[\n1,\r2\f,' || chr(11) || E'3]\n')::vector;  -- all six blanks
SELECT '[-0,+0.5,.25,1.,1e3,1E-3,0x1p4]'::vector;
SELECT '[1.5e38,-3.4028235e38,1e-45,-1.4e-45]'::vector;
SELECT '[1e-46,-1e-46]'::vector;          -- underflow reads as (signed) zero
SELECT '[0.1,0.2,0.3]'::vector;            -- shortest round-trip output
SELECT '[3.14159265358979]'::vector;       -- rounded to float
SELECT '[123456789]'::vector, '[1e20]'::vector, '[0.0001]'::vector;

-- Text input: every error, first problem from the left wins
SELECT vec_try($$SELECT ''::vector$$);
SELECT vec_try($$SELECT '1,2,3'::vector$$);
SELECT vec_try($$SELECT '  (1,2)'::vector$$);
SELECT vec_try($$SELECT '[]'::vector$$);
SELECT vec_try($$SELECT '[  ]'::vector$$);
SELECT vec_try($$SELECT '[]junk'::vector$$);
SELECT vec_try($$SELECT '['::vector$$);
SELECT vec_try($$SELECT '[1,2'::vector$$);
SELECT vec_try($$SELECT '[1,]'::vector$$);
SELECT vec_try($$SELECT '[,1]'::vector$$);
SELECT vec_try($$SELECT '[1,,2]'::vector$$);
SELECT vec_try($$SELECT '[1 2]'::vector$$);
SELECT vec_try($$SELECT '[1;2]'::vector$$);
SELECT vec_try($$SELECT '[abc]'::vector$$);
SELECT vec_try($$SELECT '[1,2]3'::vector$$);
SELECT vec_try($$SELECT '[1,2] ]'::vector$$);
SELECT vec_try($$SELECT '[NaN]'::vector$$);
SELECT vec_try($$SELECT '[1,-nan]'::vector$$);
SELECT vec_try($$SELECT '[inf]'::vector$$);
SELECT vec_try($$SELECT '[1,-Infinity]'::vector$$);
SELECT vec_try($$SELECT '[4e38]'::vector$$);
SELECT vec_try($$SELECT '[1, -1e39 ,2]'::vector$$);
SELECT vec_try($$SELECT '[1e39,NaN]'::vector$$);
SELECT vec_try($$SELECT '[NaN,1e39]'::vector$$);
SELECT vec_try($$SELECT '[NaN,1]x'::vector$$);
SELECT vec_try($$SELECT '[1,2]x'::vector(3)$$);

-- Dimension limit: 16000 elements are fine, 16001 are not, and the limit is
-- checked before the next element is read
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector);
SELECT vec_try($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector$$);
SELECT vec_try($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ',')::vector$$);
SELECT vec_try($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ',x')::vector$$);
SELECT split_part(vec_try($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[15999]), ',') || ',')::vector$$), ':', 1);

-- Output round-trips exactly
SELECT v::text::vector = v AS same, v
FROM (VALUES ('[0.1,1e-45,3.4028235e38,-2.5e-10,16777217]'::vector),
             ('[1.0000001,0.33333334,100000,1234567.9]')) AS t(v);

-- Type modifier
SELECT '[1,2,3]'::vector(3);
SELECT vec_try($$SELECT '[1,2,3]'::vector(2)$$);
SELECT vec_try($$SELECT '[1,2,3]'::vector(4)$$);
SELECT vec_try($$SELECT '[1]'::vector(0)$$);
SELECT vec_try($$SELECT '[1]'::vector(-1)$$);
SELECT vec_try($$SELECT '[1]'::vector(16001)$$);
SELECT vec_try($$SELECT '[1]'::vector(3, 2)$$);
SELECT vec_try($$SELECT '[1]'::vector('a')$$);
SELECT vec_try($$SELECT '[1]'::vector(16000)$$);  -- the modifier itself is fine
CREATE TABLE vec_io (id int, v vector(3));
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'vec_io'::regclass AND attname = 'v';
SELECT format_type('vector'::regtype, NULL);
INSERT INTO vec_io VALUES (1, '[1,2,3]'), (2, '[-1.5,0,1e-3]'), (3, NULL);
SELECT vec_try($$INSERT INTO vec_io VALUES (9, '[1,2]')$$);
SELECT vec_try($$UPDATE vec_io SET v = '[1,2,3,4]' WHERE id = 1$$);
SELECT vec_try($$INSERT INTO vec_io VALUES (9, ARRAY[1,2,3,4])$$);
SELECT unnest('{"[1,2,3]","[4,5,6]"}'::vector[]);
SELECT vec_try($$SELECT '{"[1,2,3]"}'::vector(2)[]$$);
-- vector -> vector(n) is the implicit length-coercion cast
SELECT '[1,2]'::vector::vector(2);
SELECT vec_try($$SELECT '[1,2]'::vector::vector(3)$$);
SELECT vector('[1,2]'::vector, 2, false), vector('[1,2]'::vector, -1, true);

-- Binary I/O: the wire format is int16 dim, int16 unused (0), dim float4,
-- all big-endian
SELECT vector_send('[1,-2,0.5]');
SELECT vector_send('[1e-45]');
SELECT length(vector_send(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector));
-- COPY BINARY files reach the server through "printf" with octal escapes
-- (so any byte can be sent), which leaves no file behind: vec_copy_in()
-- wraps the given tuples in a file header and trailer and reports the
-- outcome as vec_try() does.
CREATE FUNCTION vec_copy_in(tbl text, tuples bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	file bytea := '\x5047434f50590aff0d0a00'::bytea     -- "PGCOPY\n\377\r\n\0"
		|| '\x0000000000000000'::bytea                 -- flags, extension length
		|| tuples
		|| '\xffff'::bytea;                            -- trailer
	esc text;
BEGIN
	SELECT string_agg('\' || (b >> 6) || ((b >> 3) & 7) || (b & 7), '' ORDER BY i)
		INTO esc
		FROM (SELECT i, get_byte(file, i) AS b
			  FROM generate_series(0, length(file) - 1) i) s;
	RETURN vec_try(format('COPY %I FROM PROGRAM %L WITH (FORMAT binary)',
						  tbl, 'printf ''' || esc || ''''));
END $$;
-- round trip: vec_io's rows as COPY TO writes them (vector_send for the
-- vector field), read back by COPY FROM
CREATE TABLE vec_io2 (id int, v vector(3));
SELECT vec_copy_in('vec_io2', string_agg(int2send(2::int2)
		|| int4send(4) || int4send(id)
		|| CASE WHEN v IS NULL THEN int4send(-1)
				ELSE int4send(length(vector_send(v))) || vector_send(v) END,
		'' ORDER BY id))
	FROM vec_io;
SELECT a.id, a.v, b.v, a.v = b.v AS same FROM vec_io a JOIN vec_io2 b USING (id) ORDER BY id;

-- vector_recv's checks, fed hand-made COPY BINARY files: a header, one row
-- with one field, and the trailer.
CREATE TABLE vec_recv (v vector);
CREATE TABLE vec_recv3 (v vector(3));
CREATE FUNCTION vec_recv_try(tbl text, field bytea) RETURNS text LANGUAGE sql AS $$
	SELECT vec_copy_in(tbl, '\x0001'::bytea || int4send(length(field)) || field)
$$;
SELECT vec_recv_try('vec_recv', vector_send('[1,2,3]'));
SELECT vec_recv_try('vec_recv', '\x0002000040400000bf800000');   -- [3,-1]
SELECT * FROM vec_recv;
SELECT vec_recv_try('vec_recv', '\x00000000');                   -- dim 0
SELECT vec_recv_try('vec_recv', '\x3e810000');                   -- dim 16001
SELECT vec_recv_try('vec_recv', '\xffff0000');                   -- dim 65535
SELECT vec_recv_try('vec_recv3', vector_send('[1,2]'));          -- typmod
SELECT vec_recv_try('vec_recv', '\x000100013f800000');           -- unused 1
SELECT vec_recv_try('vec_recv', '\x0000000100000000');           -- dim checked first
SELECT vec_recv_try('vec_recv', '\x000200007fc000003f800000');   -- NaN
SELECT vec_recv_try('vec_recv', '\x00020000ff8000007fc00000');   -- -Inf first
SELECT vec_recv_try('vec_recv', '\x000200003f800000');           -- too short
SELECT vec_recv_try('vec_recv', '\x000300007fc000003f800000');   -- NaN before it runs short
SELECT vec_recv_try('vec_recv', '\x000300003f8000007f8000007fc00000'); -- Inf, then NaN
SELECT vec_recv_try('vec_recv', '\x00013f800000');               -- no unused field
SELECT vec_recv_try('vec_recv', '\x000100003f80000000');         -- trailing byte
SELECT count(*) FROM vec_recv;

-- Casts from arrays (assignment) and to real[] (implicit)
SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.5,2.25]::numeric[]::vector;
SELECT ARRAY[1.5,2.25]::real[]::vector;
SELECT ARRAY[1.5,2.25]::float8[]::vector;
SELECT ARRAY[0.1]::float8[]::vector;                  -- rounded to float
SELECT '{1,2,3}'::int[]::vector(3);
SELECT '[1,2,3]'::vector::real[];
SELECT '[1.5,-0,1e-45]'::vector::real[];
SELECT array_dims('[1,2,3]'::vector::real[]);
SELECT '[1,2,3]'::vector::real[] @> ARRAY[2::real];   -- implicit cast in use
SELECT ARRAY[-2147483648,2147483647]::vector;         -- int4 widens to float
SELECT '[2,3]'::vector::real[]::vector;
SELECT vec_try($$SELECT '{1,2,3}'::int[]::vector(2)$$);
SELECT vec_try($$SELECT '{}'::real[]::vector$$);
SELECT vec_try($$SELECT '{{1,2},{3,4}}'::real[]::vector$$);
SELECT vec_try($$SELECT '{1,NULL}'::real[]::vector$$);
SELECT vec_try($$SELECT '{{1,NULL}}'::real[]::vector$$);
SELECT vec_try($$SELECT '{NaN}'::real[]::vector$$);
SELECT vec_try($$SELECT '{1,-Infinity}'::float8[]::vector$$);
SELECT vec_try($$SELECT '{1,4e38}'::float8[]::vector$$);   -- overflows float
SELECT '{1e-46}'::float8[]::vector;                         -- underflows to 0
SELECT vec_try($$SELECT '{1,NaN}'::numeric[]::vector$$);
SELECT vec_try($$SELECT '{1e39}'::numeric[]::vector$$);
SELECT vec_try($$SELECT '{NaN,1e39}'::numeric[]::vector$$); -- conversion before checks
SELECT vec_try($$SELECT '{1,2}'::int8[]::vector$$);         -- no such cast
-- other element types only reach the C function through a foreign declaration
CREATE FUNCTION vec_int8_array_to_vector(bigint[], integer, boolean) RETURNS vector
	AS '$libdir/ruvector', 'array_to_vector' LANGUAGE C STRICT;
SELECT vec_try($$SELECT vec_int8_array_to_vector('{1,2}', -1, false)$$);
SELECT vec_try($$SELECT vec_int8_array_to_vector('{}', -1, false)$$);  -- dims first
DROP FUNCTION vec_int8_array_to_vector(bigint[], integer, boolean);
SELECT vec_try($$SELECT array_agg(n)::vector FROM generate_series(1, 16001) n$$);
SELECT vector_dims(array_agg(n)::vector) FROM generate_series(1, 16000) n;
SELECT array_to_vector('{4,5}'::real[], 2, true), array_to_vector('{4,5}'::int[], -1, false);
-- an array with a lower bound other than 1 is still read in order
SELECT '[0:2]={7,8,9}'::int[]::vector;

-- Cast contexts are pgvector's
SELECT castsource::regtype, casttarget::regtype, castcontext, castmethod,
       castfunc::regprocedure
FROM pg_cast
WHERE (castsource = 'vector'::regtype OR casttarget = 'vector'::regtype)
  AND castsource::regtype::text NOT IN ('halfvec', 'sparsevec')
  AND casttarget::regtype::text NOT IN ('halfvec', 'sparsevec')
ORDER BY castsource::regtype::text, casttarget::regtype::text;

-- Storage and type properties
SELECT typlen, typbyval, typalign, typstorage, typcategory, typmodin, typmodout,
       typreceive, typsend
FROM pg_type WHERE typname = 'vector';
SELECT obj_description('vector'::regtype, 'pg_type');

DROP TABLE vec_io, vec_io2, vec_recv, vec_recv3;
DROP FUNCTION vec_recv_try(text, bytea);
DROP FUNCTION vec_copy_in(text, bytea);
DROP FUNCTION vec_try(text);
