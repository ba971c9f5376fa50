-- The same graph as load_ruvector.sql, in Apache AGE: rows written straight
-- into AGE's label tables (AGE's CSV loader would store every property as a
-- string), with the indexes AGE's documentation recommends: a btree on each
-- label table's id (without it every join to a node is a sequential scan or
-- a hash join over the whole label), btrees on the relationships' start_id
-- and end_id, a GIN index for property maps (used by the containment form
-- AGE gives `{id: x}` while age.enable_containment is on, its default) and
-- the expression btree on the `id` property that AGE's indexing guide
-- recommends for `WHERE p.id = x` (AGE 1.5 translates that to
-- agtype_access_operator(properties, '"id"')).  psql -v n=100000
\set ON_ERROR_STOP 1
LOAD 'age';
SET search_path = ag_catalog, "$user", public;
SELECT drop_graph('social', true) FROM ag_graph WHERE name = 'social';
SELECT create_graph('social');
SELECT create_vlabel('social', 'Person');
SELECT create_elabel('social', 'KNOWS');
SELECT _label_id('social', 'Person') AS pl, _label_id('social', 'KNOWS') AS kl \gset
INSERT INTO social."Person" (id, properties)
SELECT _graphid(:pl, i),
	jsonb_build_object('id', i, 'name', 'p' || i, 'age', 18 + i % 60,
		'embedding', (SELECT jsonb_agg(round(((abs(hashint8(i * 16 + d)) % 10000) / 10000.0)::numeric, 4) ORDER BY d)
					  FROM generate_series(1, 16) d))::text::agtype
FROM generate_series(1, :n) i;
INSERT INTO social."KNOWS" (id, start_id, end_id, properties)
SELECT _graphid(:kl, row_number() OVER ()), _graphid(:pl, s), _graphid(:pl, t),
	('{"w": ' || k || '}')::agtype
FROM (SELECT s, k,
		CASE WHEN k <= 8 THEN 1 + (s + k * k * 37) % :n
			 ELSE 1 + abs(hashint8(s * 100 + k)) % :n END AS t
	  FROM generate_series(1, :n) s, generate_series(1, 10) k) x;
SELECT setval('social."Person_id_seq"', :n + 1);
CREATE UNIQUE INDEX ON social."Person" (id);
CREATE INDEX ON social."Person" USING gin (properties);
CREATE INDEX person_id_prop ON social."Person"
	USING btree (agtype_access_operator(VARIADIC ARRAY[properties, '"id"'::agtype]));
CREATE INDEX ON social."KNOWS" (start_id);
CREATE INDEX ON social."KNOWS" (end_id);
VACUUM ANALYZE social."Person";
VACUUM ANALYZE social."KNOWS";
SELECT count(*) AS nodes FROM social."Person";
SELECT count(*) AS edges FROM social."KNOWS";
