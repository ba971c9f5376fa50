-- sparsevec: the binary format (send and receive) and the checks made on
-- received data.  Received values reach sparsevec_recv through binary COPY:
-- sv_copy_in() wraps one field in a COPY file, writes it with printf (octal
-- escapes, so any byte can be sent) and reports the outcome.  sv_wire()
-- builds a field from its parts in network byte order.

CREATE FUNCTION sv_wire(dim int, nnz int, unused int, idx int[], vals real[])
RETURNS bytea LANGUAGE sql AS $$
	SELECT int4send(dim) || int4send(nnz) || int4send(unused)
		|| coalesce((SELECT string_agg(int4send(i), '' ORDER BY o)
					 FROM unnest(idx) WITH ORDINALITY AS u(i, o)), '')
		|| coalesce((SELECT string_agg(float4send(v), '' ORDER BY o)
					 FROM unnest(vals) WITH ORDINALITY AS u(v, o)), '')
$$;

CREATE FUNCTION sv_copy_in(tbl text, field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	file bytea;
	esc text;
	st text; msg text;
BEGIN
	-- signature, flags, no header extension; one tuple of one field; trailer
	file := '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0)
		|| int2send(1::int2)
		|| CASE WHEN field IS NULL THEN int4send(-1)
				ELSE int4send(length(field)) || field END
		|| int2send((-1)::int2);
	SELECT string_agg('\' || (b >> 6) || ((b >> 3) & 7) || (b & 7), '' ORDER BY i)
		INTO esc
		FROM (SELECT i, get_byte(file, i) AS b
			  FROM generate_series(0, length(file) - 1) i) s;
	EXECUTE format('COPY %I FROM PROGRAM %L WITH (FORMAT binary)',
				   tbl, 'printf ''' || esc || '''');
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN st || ' ' || msg;
END $$;

-- send: dim, nnz, unused, 0-based indexes, then values, all big-endian
SELECT sparsevec_send('{1:1.5,3:-2}/5');
SELECT sparsevec_send('{}/1000000000');
SELECT sparsevec_send('{1:1}/1') = sv_wire(1, 1, 0, '{0}', '{1}');

-- A received field round trips exactly
CREATE TABLE sv_bin (v sparsevec);
SELECT sv_copy_in('sv_bin', sv_wire(5, 2, 0, '{0,2}', '{1.5,-2}'));
SELECT sv_copy_in('sv_bin', sv_wire(1000000000, 1, 0, '{999999999}', '{1e-45}'));
SELECT sv_copy_in('sv_bin', sv_wire(3, 0, 0, '{}', '{}'));
SELECT sv_copy_in('sv_bin', NULL);
SELECT sv_copy_in('sv_bin', sparsevec_send('{2:0.1,7:3.4028235e38,8:-1.1754944e-38}/8'));
SELECT v FROM sv_bin;
DELETE FROM sv_bin;

-- Header: the dimension, then the element count, then the unused field
SELECT sv_copy_in('sv_bin', sv_wire(0, 0, 0, '{}', '{}'));
SELECT sv_copy_in('sv_bin', sv_wire(-5, 0, 0, '{}', '{}'));
SELECT sv_copy_in('sv_bin', sv_wire(1000000001, 0, 0, '{}', '{}'));
SELECT sv_copy_in('sv_bin', sv_wire(0, -1, 0, '{}', '{}'));     -- dim first
SELECT sv_copy_in('sv_bin', sv_wire(5, -1, 0, '{}', '{}'));
SELECT sv_copy_in('sv_bin', sv_wire(50000, 16001, 0, '{}', '{}'));
SELECT sv_copy_in('sv_bin', sv_wire(2, 3, 0, '{0,1,2}', '{1,1,1}'));
SELECT sv_copy_in('sv_bin', sv_wire(2, 16001, 0, '{}', '{}'));  -- limit before dim
SELECT sv_copy_in('sv_bin', sv_wire(5, 0, 7, '{}', '{}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 0, -1, '{}', '{}'));

-- The column's modifier: after the counts, before the unused field
CREATE TABLE sv_bin5 (v sparsevec(5));
SELECT sv_copy_in('sv_bin5', sv_wire(5, 1, 0, '{4}', '{2}'));
SELECT sv_copy_in('sv_bin5', sv_wire(4, 1, 0, '{3}', '{2}'));
SELECT sv_copy_in('sv_bin5', sv_wire(4, 5, 0, '{}', '{}'));
SELECT sv_copy_in('sv_bin5', sv_wire(4, 0, 9, '{}', '{}'));
SELECT * FROM sv_bin5;
DROP TABLE sv_bin5;

-- Indexes: each is checked as it is read (bounds, then order, then repeats)
SELECT sv_copy_in('sv_bin', sv_wire(5, 1, 0, '{-1}', '{1}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 1, 0, '{5}', '{1}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 2, 0, '{3,1}', '{1,1}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 2, 0, '{3,3}', '{1,1}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 2, 0, '{3,9}', '{1,1}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 3, 0, '{3,1,9}', '{1,1,1}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 2, 0, '{2,2}', '{nan,0}'));  -- indexes first
SELECT sv_copy_in('sv_bin', sv_wire(5, 2, 0, '{7}', '{}'));         -- before running out

-- Values: NaN, then infinity, then zero
SELECT sv_copy_in('sv_bin', sv_wire(5, 1, 0, '{0}', '{nan}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 1, 0, '{0}', '{inf}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 1, 0, '{0}', '{-inf}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 1, 0, '{0}', '{0}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 1, 0, '{0}', '{-0}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 2, 0, '{0,1}', '{0,nan}'));  -- in order

-- Length: too short or too long a field
SELECT sv_copy_in('sv_bin', '\x0000000500000001'::bytea);
SELECT sv_copy_in('sv_bin', sv_wire(5, 1, 0, '{0}', '{}'));
SELECT sv_copy_in('sv_bin', sv_wire(5, 1, 0, '{0}', '{1}') || '\x00'::bytea);
SELECT count(*) FROM sv_bin;

-- COPY out and back in, in binary
INSERT INTO sv_bin VALUES ('{1:1,3:3}/3'), ('{}/3'), ('{2:-0.5}/2'), (NULL);
CREATE TABLE sv_bin2 (v sparsevec);
SELECT sv_copy_in('sv_bin2', sparsevec_send(v)) FROM sv_bin WHERE v IS NOT NULL;
SELECT v FROM sv_bin2 ORDER BY v;
SELECT count(*) FROM sv_bin a JOIN sv_bin2 b ON a.v = b.v;

DROP TABLE sv_bin, sv_bin2;
DROP FUNCTION sv_copy_in(text, bytea);
DROP FUNCTION sv_wire(int, int, int, int[], real[]);
