-- Batched reads ahead (src/io): the method in use and the setting that
-- chooses it.  auto takes io_uring where the kernel allows it, else
-- prefetch with the reason; the others are forced.
SELECT ruvector_io_method() = 'io_uring'
	OR ruvector_io_method() LIKE 'prefetch (io\_uring unavailable: %)' AS auto_is_io_uring_or_says_why;
SHOW ruvector.io_method;
SET ruvector.io_method = io_uring;
SELECT ruvector_io_method() = 'io_uring'
	OR ruvector_io_method() LIKE 'prefetch (io\_uring unavailable: %)' AS asked_is_io_uring_or_says_why;
SET ruvector.io_method = prefetch;
SELECT ruvector_io_method();
SET ruvector.io_method = off;
SELECT ruvector_io_method();
SET ruvector.io_method = sometimes;
RESET ruvector.io_method;

-- who may ask: ruvector_user, not PUBLIC
CREATE ROLE rv_io_nobody;
CREATE ROLE rv_io_user IN ROLE ruvector_user;
SET ROLE rv_io_nobody;
SELECT ruvector_io_method();
SET ROLE rv_io_user;
SELECT ruvector_io_method() IS NOT NULL AS user_may_ask;
RESET ROLE;
DROP ROLE rv_io_nobody;
DROP ROLE rv_io_user;
