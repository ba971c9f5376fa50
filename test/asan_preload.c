/*-------------------------------------------------------------------------
 *
 * asan_preload.c
 *	  Preloaded after libasan into the uninstrumented PostgreSQL binaries by
 *	  test/asan.sh; defines swift_demangle, which keeps ASan's start-up
 *	  from deadlocking them.
 *
 * NOTES
 *	  With libasan preloaded, ASan initializes at the first malloc, which in
 *	  postgres and psql happens inside a library constructor (p11-kit's,
 *	  loaded through libldap and gnutls).  Initializing, ASan looks up
 *	  swift_demangle with dlsym and clears the failure with dlerror, and
 *	  dlerror translates its message through gettext; run inside that
 *	  constructor, this leaves glibc's gettext lock (_nl_state_lock) with a
 *	  reader that never leaves, and the program's own bindtextdomain waits
 *	  forever (glibc 2.36, gcc 12 and clang 14 runtimes alike).  When the
 *	  symbol exists, dlsym succeeds and dlerror has nothing to translate.
 *
 *	  ASan calls it while symbolizing a report, for every frame: returning
 *	  NULL means "not a Swift name", and ASan demangles it as C++.
 *
 * IDENTIFICATION
 *	  test/asan_preload.c
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>
#include <stdint.h>

char	   *swift_demangle(const char *name, size_t len, char *out, size_t *outlen,
						   uint32_t flags);

char *
swift_demangle(const char *name, size_t len, char *out, size_t *outlen, uint32_t flags)
{
	return NULL;
}
