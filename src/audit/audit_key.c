/*-------------------------------------------------------------------------
 *
 * audit_key.c
 *	  The cluster's audit signing key: an Ed25519 seed in
 *	  $PGDATA/pg_ruvector/audit_ed25519.key (mode 0600), generated on first
 *	  use, never stored in a table; and ruvector_audit_public_key().
 *
 * NOTES
 *	  The file is created whole or not at all: the key is written to a
 *	  private temporary file, fsync'd, then link()ed to its final name, which
 *	  fails if another backend got there first (then that backend's key is
 *	  read and ours forgotten).  A rename would silently replace a key that
 *	  may already have signed events.  The key is read from the file on each
 *	  use (a few dozen bytes per audited call) and wiped from memory by the
 *	  caller, so no backend keeps it longer than one signature.
 *
 *	  A base backup copies pg_ruvector/ with the rest of the data directory,
 *	  so a standby verifies the chain with the same public key.  A standby
 *	  never generates a key (it cannot sign: it does not append).
 *
 * IDENTIFICATION
 *	  src/audit/audit_key.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "access/xlog.h"
#include "common/file_perm.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"

#include "audit/audit_int.h"

PG_FUNCTION_INFO_V1(ruvector_audit_public_key);

/* Read the key file; false if it does not exist.  Errors if it is damaged. */
static bool
KeyRead(uint8 seed[RV_AUDIT_SEED_BYTES])
{
	char		text[RV_AUDIT_KEYFILE_LEN + 1];
	int			fd = RvAuditOpenForRead(RV_AUDIT_KEY_FILE, "key");
	ssize_t		n;
	bool		ok;
	struct stat st;

	if (fd < 0)
		return false;
	/* others than the server's OS user could sign as the cluster */
	if (fstat(fd, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		ereport(WARNING,
				(errmsg("audit key file \"%s\" has mode %04o; it should be 0600",
						RV_AUDIT_KEY_FILE, (unsigned int) (st.st_mode & 07777)),
				 errhint("Run chmod 0600 on it, and consider the key exposed if others could read it.")));
	n = read(fd, text, sizeof(text));
	CloseTransientFile(fd);
	ok = n > 0 && rv_audit_keyfile_parse(text, (size_t) n, seed);
	sodium_memzero(text, sizeof(text));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("audit key file \"%s\" is damaged", RV_AUDIT_KEY_FILE),
				 errhint("Restore it from a backup of the data directory.")));
	return true;
}

/* Create the key file from a fresh seed unless it exists (see NOTES). */
static void
KeyCreate(void)
{
	char		tmp[MAXPGPATH];
	char		text[RV_AUDIT_KEYFILE_LEN];
	uint8		seed[RV_AUDIT_SEED_BYTES];
	int			fd;

	if (MakePGDirectory(RV_AUDIT_DIR) < 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", RV_AUDIT_DIR)));
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", RV_AUDIT_KEY_FILE, MyProcPid);
	fd = RvAuditCreateFile(tmp, O_TRUNC, "file");
	rv_audit_random_seed(seed);
	rv_audit_keyfile_format(seed, text);
	sodium_memzero(seed, sizeof(seed));
	if (write(fd, text, sizeof(text)) != sizeof(text) || pg_fsync(fd) != 0)
	{
		sodium_memzero(text, sizeof(text));
		CloseTransientFile(fd);
		unlink(tmp);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp)));
	}
	sodium_memzero(text, sizeof(text));
	CloseTransientFile(fd);
	/* link() refuses to replace a key another backend has just made */
	if (link(tmp, RV_AUDIT_KEY_FILE) != 0 && errno != EEXIST)
	{
		int			save = errno;

		unlink(tmp);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create audit key file \"%s\": %m", RV_AUDIT_KEY_FILE)));
	}
	unlink(tmp);
	fsync_fname(RV_AUDIT_DIR, true);
	ereport(LOG,
			(errmsg("ruvector: audit signing key ready in \"%s\"", RV_AUDIT_KEY_FILE)));
}

/*
 * RvAuditKeyLoad fills pk (and sk if not NULL) from the key file, creating
 * the file first if create is set and it is missing.  Returns false if there
 * is no key (and create is not set).  The caller wipes sk after use.
 */
bool
RvAuditKeyLoad(bool create, uint8 pk[RV_AUDIT_PK_BYTES], uint8 sk[RV_AUDIT_SK_BYTES])
{
	uint8		seed[RV_AUDIT_SEED_BYTES];
	uint8		sk_local[RV_AUDIT_SK_BYTES];

	RvAuditCryptoInit();
	if (!KeyRead(seed))
	{
		if (!create)
			return false;
		KeyCreate();
		if (!KeyRead(seed))
			elog(ERROR, "audit key file \"%s\" vanished after it was created",
				 RV_AUDIT_KEY_FILE);
	}
	rv_audit_keypair_from_seed(seed, pk, sk != NULL ? sk : sk_local);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk_local, sizeof(sk_local));
	return true;
}

/* The error for a chain that exists without the key that signed it. */
void
RvAuditKeyMissing(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_FILE),
			 errmsg("audit key file \"%s\" does not exist in the data directory",
					RV_AUDIT_KEY_FILE),
			 errhint("Copy it (mode 0600) from the primary's data directory; "
					 "a base backup taken after the key was created includes it.")));
}

/*
 * ruvector_audit_public_key() returns the 32-byte Ed25519 public key that
 * verifies the chain, creating the key pair on a primary that has none.
 */
Datum
ruvector_audit_public_key(PG_FUNCTION_ARGS)
{
	uint8		pk[RV_AUDIT_PK_BYTES];
	bytea	   *result;

	if (!RvAuditKeyLoad(!RecoveryInProgress(), pk, NULL))
		RvAuditKeyMissing();
	result = (bytea *) palloc(VARHDRSZ + RV_AUDIT_PK_BYTES);
	SET_VARSIZE(result, VARHDRSZ + RV_AUDIT_PK_BYTES);
	memcpy(VARDATA(result), pk, RV_AUDIT_PK_BYTES);
	PG_RETURN_BYTEA_P(result);
}
