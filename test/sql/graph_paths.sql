-- Variable-length relationships, named paths, shortestPath and
-- allShortestPaths.  The first graph is the one Apache AGE's own regression
-- test uses for variable-length edges; the path counts it documents (400,
-- 2, 7092, 2922, ...) are what openCypher's relationship-uniqueness rule
-- gives, and must come out the same here.

SELECT ruvector_create_graph('gp');
SELECT * FROM ruvector_cypher('gp', $$
CREATE (b:begin)-[:edge {name: 'main edge', number: 1, dangerous: {type: "all", level: "all"}}]->
       (u1:middle)-[:edge {name: 'main edge', number: 2, dangerous: {type: "all", level: "all"}, packages: [2,4,6]}]->
       (u2:middle)-[:edge {name: 'main edge', number: 3, dangerous: {type: "all", level: "all"}}]->
       (u3:middle)-[:edge {name: 'main edge', number: 4, dangerous: {type: "all", level: "all"}}]->(e:end),
       (u1)-[:self_loop {name: 'self loop', number: 1, dangerous: {type: "all", level: "all"}}]->(u1),
       (e)-[:self_loop {name: 'self loop', number: 2, dangerous: {type: "all", level: "all"}}]->(e),
       (b)-[:alternate_edge {name: 'alternate edge', number: 1, packages: [2,4,6], dangerous: {type: "poisons", level: "all"}}]->(u1),
       (u2)-[:alternate_edge {name: 'alternate edge', number: 2, packages: [2,4,6], dangerous: {type: "poisons", level: "all"}}]->(u3),
       (u3)-[:alternate_edge {name: 'alternate edge', number: 3, packages: [2,4,6], dangerous: {type: "poisons", level: "all"}}]->(e),
       (u2)-[:bypass_edge {name: 'bypass edge', number: 1, packages: [1,3,5,7]}]->(e),
       (e)-[:alternate_edge {name: 'backup edge', number: 1, packages: [1,3,5,7]}]->(u3),
       (u3)-[:alternate_edge {name: 'backup edge', number: 2, packages: [1,3,5,7]}]->(u2),
       (u2)-[:bypass_edge {name: 'bypass edge', number: 2, packages: [1,3,5,7], dangerous: {type: "poisons", level: "all"}}]->(b)
$$);

SELECT 'begin -[*]-> end' AS pattern, * FROM ruvector_cypher('gp', 'MATCH (u:begin)-[*]->(v:end) RETURN count(*)');
SELECT 'begin -[*0..]-> end' AS pattern, * FROM ruvector_cypher('gp', 'MATCH (u:begin)-[*0..]->(v:end) RETURN count(*)');
SELECT 'begin -[*1..200]-> end' AS pattern, * FROM ruvector_cypher('gp', 'MATCH (u:begin)-[*1..200]->(v:end) RETURN count(*)');
SELECT 'begin <-[*]- end' AS pattern, * FROM ruvector_cypher('gp', 'MATCH (u:begin)<-[*]-(v:end) RETURN count(*)');
SELECT 'begin -[*]- end' AS pattern, * FROM ruvector_cypher('gp', 'MATCH (u:begin)-[*]-(v:end) RETURN count(*)');
SELECT 'begin -[:edge*]- end' AS pattern, * FROM ruvector_cypher('gp', 'MATCH (u:begin)-[:edge*]-(v:end) RETURN count(*)');
SELECT 'begin -[* {name}]- end' AS pattern, * FROM ruvector_cypher('gp', 'MATCH (u:begin)-[* {name: "main edge"}]-(v:end) RETURN count(*)');
SELECT '<-[*4..4 {name}]-' AS pattern, * FROM ruvector_cypher('gp', 'MATCH ()<-[*4..4 {name: "main edge"}]-() RETURN count(*)');
SELECT '-[*]->' AS pattern, * FROM ruvector_cypher('gp', 'MATCH ()-[*]->() RETURN count(*)');
SELECT 'begin -[*3..3]-> end' AS pattern, * FROM ruvector_cypher('gp', 'MATCH (u:begin)-[*3..3]->(v:end) RETURN count(*)');
SELECT 'begin -[*3..3]- end' AS pattern, * FROM ruvector_cypher('gp', 'MATCH (u:begin)-[*3..3]-(v:end) RETURN count(*)');
-- the relationships of a variable-length match, in path order
SELECT * FROM ruvector_cypher('gp', 'MATCH (u:begin)<-[e*]-(v:end) RETURN [r IN e | r.name + '' '' + toString(r.number)] AS rels ORDER BY size(e)');
-- a variable-length part followed by a fixed one: no relationship twice
SELECT * FROM ruvector_cypher('gp', 'MATCH p = (:begin)<-[*1..1]-()-[]-() RETURN count(p)');
-- zero hops: the start node itself
SELECT * FROM ruvector_cypher('gp', 'MATCH (u:begin)-[e*0..1]->(v) RETURN size(e) AS hops, labels(v) AS v ORDER BY hops, v');
SELECT * FROM ruvector_cypher('gp', 'MATCH p = (u:begin)-[*0..0]->(v) RETURN length(p), labels(v)');
-- walked from the constrained end: the same rows either way
SELECT * FROM ruvector_cypher('gp', 'MATCH (a)-[:edge*2]->(b:end) RETURN labels(a)');
SELECT * FROM ruvector_cypher('gp', 'MATCH (b:end)<-[:edge*2]-(a) RETURN labels(a)');
SELECT * FROM ruvector_cypher('gp', 'MATCH p = (a)-[:edge*1..2]->(b:end) RETURN [x IN nodes(p) | labels(x)[0]] AS nodes, [r IN relationships(p) | r.number] AS rels ORDER BY length(p)');
-- a named path: nodes and relationships alternate, as AGE prints them
SELECT jsonb_array_length(r->'p') AS elements,
	jsonb_path_query_array(r->'p', '$[*].label') AS labels
	FROM ruvector_cypher('gp', 'MATCH p = (:begin)-[:edge]->()-[:edge*2]->(x) RETURN p') r;

-- shortest paths on a small road network
SELECT ruvector_create_graph('roads');
SELECT * FROM ruvector_cypher('roads', $$
	CREATE (a:Town {name: 'A'}), (b:Town {name: 'B'}), (c:Town {name: 'C'}),
	       (d:Town {name: 'D'}), (e:Town {name: 'E'}), (f:Town {name: 'F'}),
	       (a)-[:ROAD]->(b), (b)-[:ROAD]->(c), (c)-[:ROAD]->(d),
	       (a)-[:ROAD]->(e), (e)-[:ROAD]->(d), (d)-[:FERRY]->(f), (f)-[:ROAD]->(a)
$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH p = shortestPath((a:Town {name: 'A'})-[*]->(d:Town {name: 'D'})) RETURN [n IN nodes(p) | n.name] AS route, length(p)$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH p = allShortestPaths((a:Town {name: 'A'})-[*]-(d:Town {name: 'D'})) RETURN [n IN nodes(p) | n.name] AS route ORDER BY route$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH p = shortestPath((a:Town {name: 'D'})-[*]->(b:Town {name: 'A'})) RETURN [n IN nodes(p) | n.name] AS route$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH p = shortestPath((a:Town {name: 'D'})-[:ROAD*]->(b:Town {name: 'A'})) RETURN p$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH p = shortestPath((a:Town {name: 'A'})-[*..1]->(d:Town {name: 'D'})) RETURN p$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH p = shortestPath((a:Town {name: 'A'})<-[*]-(d:Town {name: 'D'})) RETURN [n IN nodes(p) | n.name] AS route$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH p = shortestPath((a:Town {name: 'A'})-[*0..]->(b:Town {name: 'A'})) RETURN length(p)$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH p = shortestPath((a:Town {name: 'A'})-[*]->(b:Town {name: 'A'})) RETURN [n IN nodes(p) | n.name] AS cycle$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH (a:Town {name: 'A'}), (t:Town) WHERE t.name <> 'A' MATCH p = shortestPath((a)-[r*]->(t)) RETURN t.name, length(p), [x IN r | type(x)] AS via ORDER BY t.name$$);
SELECT jsonb_path_query_array(r->'p', '$[*].label') AS labels
	FROM ruvector_cypher('roads', $$MATCH p = shortestPath((:Town {name: 'C'})-[*]->(:Town {name: 'F'})) RETURN p$$) r;
SELECT * FROM ruvector_cypher('roads', $$MATCH p = shortestPath((a:Town {name: 'A'})-[:ROAD]->(d:Town {name: 'D'})) RETURN p$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH p = shortestPath((a:Town {name: 'A'})-[*2..5]->(d:Town {name: 'D'})) RETURN p$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH (a:Town {name: 'A'})-[*2]->(x) RETURN x.name ORDER BY x.name$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH (a:Town {name: 'A'})-[*1..3]->(x) RETURN DISTINCT x.name ORDER BY x.name$$);
SELECT * FROM ruvector_cypher('roads', $$MATCH (x)-[*1..2]->(d:Town {name: 'D'}) RETURN x.name, count(*) ORDER BY x.name$$);

-- a cycle back to the start never walks one relationship twice: undirected,
-- a triangle (not [e, e] through one neighbour), two parallel relationships,
-- a self-loop; both directions of a cycle for allShortestPaths; no cycle
-- through a node with a single relationship
SELECT ruvector_create_graph('cyc');
SELECT * FROM ruvector_cypher('cyc', $$
	CREATE (a:N {n: 'a'})-[:R]->(b:N {n: 'b'}), (b)-[:R]->(c:N {n: 'c'}), (c)-[:R]->(a),
	       (c)-[:R]->(d:N {n: 'd'}), (d)-[:R]->(e:N {n: 'e'}), (e)-[:R]->(d),
	       (f:N {n: 'f'})-[:R]->(f), (g:N {n: 'g'})-[:R]->(h:N {n: 'h'})
$$);
SELECT * FROM ruvector_cypher('cyc', $$MATCH (a:N {n: 'a'}) MATCH p = shortestPath((a)-[*]-(a)) RETURN [x IN nodes(p) | x.n] AS cycle$$);
SELECT * FROM ruvector_cypher('cyc', $$MATCH (a:N {n: 'a'}) MATCH p = allShortestPaths((a)-[*]-(a)) RETURN [x IN nodes(p) | x.n] AS cycle ORDER BY cycle$$);
SELECT r->'cycle' AS cycle, (r->'r0') <> (r->'r1') AS two_relationships
	FROM ruvector_cypher('cyc', $$MATCH (d:N {n: 'd'}) MATCH p = allShortestPaths((d)-[*]-(d)) RETURN [x IN nodes(p) | x.n] AS cycle, id(relationships(p)[0]) AS r0, id(relationships(p)[1]) AS r1$$) r;
SELECT * FROM ruvector_cypher('cyc', $$MATCH (f:N {n: 'f'}) MATCH p = allShortestPaths((f)-[*]-(f)) RETURN [x IN nodes(p) | x.n] AS cycle$$);
SELECT * FROM ruvector_cypher('cyc', $$MATCH (g:N {n: 'g'}) MATCH p = shortestPath((g)-[*]-(g)) RETURN p$$);
SELECT * FROM ruvector_cypher('cyc', $$MATCH (a:N {n: 'a'}) MATCH p = shortestPath((a)-[*..2]-(a)) RETURN p$$);
SELECT * FROM ruvector_cypher('cyc', $$MATCH (c:N {n: 'c'}) MATCH p = shortestPath((c)-[*]-(c)) RETURN [x IN nodes(p) | x.n] AS cycle$$);
SELECT ruvector_drop_graph('cyc');

SELECT ruvector_drop_graph('roads');
SELECT ruvector_drop_graph('gp');
