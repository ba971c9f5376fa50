-- Hamming and Jaccard distances on bit, their operators, and their errors.

-- Hamming: the number of differing bits, whatever the length (the kernels
-- work on whole bytes and words; padding bits never count).
SELECT hamming_distance(B'1011', B'1011') AS same,
       hamming_distance(B'1011', B'0100') AS all_differ,
       B'10110' <~> B'00111' AS via_operator;
SELECT hamming_distance(repeat('1', 1000)::bit(1000), repeat('0', 1000)::bit(1000)) AS thousand,
       hamming_distance(repeat('10', 333)::bit(666) || B'1', repeat('01', 333)::bit(666) || B'1') AS odd_tail;
SELECT hamming_distance(B'', B'') AS empty;

-- Jaccard: 1 - |a & b| / |a | b|; no common set bit means distance 1.
SELECT jaccard_distance(B'1100', B'1100') AS same,
       jaccard_distance(B'1100', B'1000') AS half,
       jaccard_distance(B'1110', B'0111') AS two_of_four,
       jaccard_distance(B'1100', B'0011') AS disjoint,
       jaccard_distance(B'0000', B'0000') AS both_zero,
       B'1010' <%> B'1000' AS via_operator;
SELECT round(jaccard_distance(repeat('1', 640)::bit(640), (repeat('1', 320) || repeat('0', 320))::bit(640))::numeric, 6) AS long_half;

-- The operators commute, as their definitions say.
SELECT o.oprname, c.oprname AS commutator
  FROM pg_operator o JOIN pg_operator c ON c.oid = o.oprcom
 WHERE o.oprname IN ('<~>', '<%>') ORDER BY 1;

-- Ordering by Hamming distance.
CREATE TABLE codes (id int, code bit(8));
INSERT INTO codes VALUES (1, B'00000000'), (2, B'11111111'), (3, B'00001111'), (4, B'00000001');
SELECT id, code <~> B'00000011' AS d FROM codes ORDER BY d, id;
DROP TABLE codes;

-- Errors: lengths must agree.
SELECT hamming_distance(B'101', B'10');
SELECT jaccard_distance(B'1111', B'000');
SELECT B'1' <~> B'10';
