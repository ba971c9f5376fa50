/*-------------------------------------------------------------------------
 *
 * audit_spool.c
 *	  Detached audit events: the spool files that carry them past the
 *	  rollback of the transaction that recorded them, and the dynamic
 *	  background worker that appends them to the chain.
 *
 * NOTES
 *	  A detached event is written to
 *	  $PGDATA/pg_ruvector/audit_spool/<database oid>/<spool id>.ev: to a
 *	  temporary name first, fsync'd, then renamed durably (durable_rename
 *	  fsyncs the file and the directory), so a file with the final name is
 *	  always whole; its checksum (audit_codec.c) refuses one damaged later.
 *	  The spool id is the event's time in hex, the backend's pid and a
 *	  counter: names sort in the order the events happened.
 *
 *	  The recording backend then asks for a dynamic background worker
 *	  (RegisterDynamicBackgroundWorker needs no shared_preload_libraries)
 *	  and does not wait for it: it is usually about to raise an ERROR and
 *	  may hold locks the worker needs, the audit table's among them.  The
 *	  worker connects to the database, takes the append lock (waiting for
 *	  that backend's rollback if need be), appends every spooled event of
 *	  the database in name order, and commits; the files are removed after
 *	  the commit.  It repeats until the spool is empty.  One worker per
 *	  database drains at a time, holding the database's drain lock (an
 *	  advisory-type session lock); a backend that finds that lock taken
 *	  starts no worker, because the holder looks at the spool again after
 *	  releasing the lock, and the backend wrote its file before it looked
 *	  at the lock; nor while the worker it started last has not started
 *	  yet (it will list the spool later).  A worker that finds the spool
 *	  empty waits RV_AUDIT_DRAIN_LINGER_MS for more before it leaves.  So
 *	  a burst of rejected operations is served by one worker at a time,
 *	  not one per event.  Any append in the database drains the spool first the
 *	  same way, so when no worker slot is free the events still get in, in
 *	  order, with the next audited call.  A crash between the commit and
 *	  the removal leaves a file whose spool_id is already in the table: it
 *	  is skipped (spool_id is unique), never appended twice.
 *
 *	  Lock order: the drain lock (session), then the audit table's
 *	  ExclusiveLock (audit.c).  Backends only test the drain lock, never
 *	  wait for it.
 *
 * IDENTIFICATION
 *	  src/audit/audit_spool.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "postmaster/bgworker.h"
#include "storage/fd.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "audit/audit_int.h"

/* a spool file larger than this is not one of ours */
#define RV_AUDIT_SPOOL_MAX		(64 * 1024 * 1024)
/* the drain lock's advisory tag ("RVAU"; field4 3: not an SQL advisory lock) */
#define RV_AUDIT_DRAIN_LOCK_KEY		0x52564155
#define RV_AUDIT_DRAIN_LOCK_FIELD4	3
/* a worker gives up after this many transactions with files still there */
#define RV_AUDIT_DRAIN_ROUNDS		1000
/* how long a worker waits for more events once the spool is empty */
#define RV_AUDIT_DRAIN_LINGER_MS	200

PGDLLEXPORT void RvAuditDrainMain(Datum arg);

static void
MakeDir(const char *path)
{
	if (MakePGDirectory(path) == 0)
	{
		/* make the new directory's entry durable in its parent */
		char	   *parent = pstrdup(path);
		char	   *slash = strrchr(parent, '/');

		if (slash != NULL)
		{
			*slash = '\0';
			fsync_fname(parent, true);
		}
	}
	else if (errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", path)));
}

static char *
SpoolDir(Oid dbid)
{
	return psprintf("%s/%u", RV_AUDIT_SPOOL_DIR, dbid);
}

/*
 * RvAuditSpoolWrite makes rec (with its spool_id) durable as a spool file
 * of this database.
 */
void
RvAuditSpoolWrite(const RvAuditRecord *rec)
{
	char	   *dir = SpoolDir(MyDatabaseId);
	char	   *tmp = psprintf("%s/%s.tmp", dir, rec->spool_id);
	char	   *path = psprintf("%s/%s.ev", dir, rec->spool_id);
	size_t		len = rv_audit_spool_encode(rec, NULL, 0);
	uint8	   *buf = palloc(len);
	int			fd;

	rv_audit_spool_encode(rec, buf, len);
	MakeDir(RV_AUDIT_DIR);
	MakeDir(RV_AUDIT_SPOOL_DIR);
	MakeDir(dir);
	fd = RvAuditCreateFile(tmp, O_EXCL, "audit spool file");
	if (write(fd, buf, len) != (ssize_t) len || pg_fsync(fd) != 0)
	{
		int			save = errno;

		CloseTransientFile(fd);
		unlink(tmp);
		errno = save ? save : ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write audit spool file \"%s\": %m", tmp)));
	}
	CloseTransientFile(fd);
	durable_rename(tmp, path, ERROR);
}

static int
CompareNames(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/* The database's spool files (*.ev), sorted by name, i.e. by time. */
static List *
SpoolList(const char *dir)
{
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	List	   *names = NIL;

	if (d == NULL)
	{
		if (errno == ENOENT)
			return NIL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open directory \"%s\": %m", dir)));
	}
	while ((de = ReadDir(d, dir)) != NULL)
	{
		size_t		n = strlen(de->d_name);

		if (n > 3 && strcmp(de->d_name + n - 3, ".ev") == 0)
			names = lappend(names, pstrdup(de->d_name));
	}
	FreeDir(d);
	list_sort(names, CompareNames);
	return names;
}

/*
 * Open an audit file (the key, a spool file) for reading as a transient
 * file; -1 if it does not exist, an error if it cannot be opened.
 */
int
RvAuditOpenForRead(const char *path, const char *kind)
{
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);

	if (fd < 0 && errno != ENOENT)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open audit %s file \"%s\": %m", kind, path)));
	return fd;
}

/*
 * Create an audit file (flags: O_EXCL or O_TRUNC) for writing, readable by
 * the server's OS user only; an error naming it as "what" if that fails.
 */
int
RvAuditCreateFile(const char *path, int flags, const char *what)
{
	int			fd = OpenTransientFilePerm(path, O_WRONLY | O_CREAT | flags | PG_BINARY,
										   S_IRUSR | S_IWUSR);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create %s \"%s\": %m", what, path)));
	return fd;
}

/* Read a whole spool file into palloc'd memory; NULL if it is gone. */
static uint8 *
SpoolRead(const char *path, size_t *len)
{
	int			fd = RvAuditOpenForRead(path, "spool");
	struct stat st;
	uint8	   *buf;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || st.st_size > RV_AUDIT_SPOOL_MAX)
	{
		CloseTransientFile(fd);
		*len = 0;
		return palloc(1);		/* decoded as damaged */
	}
	buf = palloc(st.st_size + 1);
	*len = read(fd, buf, st.st_size) == st.st_size ? (size_t) st.st_size : 0;
	CloseTransientFile(fd);
	return buf;
}

/* true if an event with this spool_id is already in the chain */
static bool
SpoolIdAppended(const char *table, const char *spool_id)
{
	char	   *sql = psprintf("SELECT 1 FROM %s WHERE spool_id OPERATOR(pg_catalog.=) $1",
							   table);
	SPIPlanPtr	plan;
	Oid			type = TEXTOID;
	Datum		value = CStringGetTextDatum(spool_id);
	int			rc;
	bool		found;

	plan = SPI_prepare(sql, 1, &type);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for audit spool check");
	CommandCounterIncrement();
	rc = SPI_execute_snapshot(plan, &value, NULL, GetLatestSnapshot(), InvalidSnapshot,
							  true, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not look up audit spool id: %s", SPI_result_code_string(rc));
	found = SPI_processed > 0;
	SPI_freeplan(plan);
	return found;
}

/*
 * RvAuditSpoolDrainLocked appends this database's spooled events in order;
 * their files are removed when the transaction commits.  Same contract as
 * RvAuditAppendLocked.  A damaged file is renamed *.bad and reported.
 */
void
RvAuditSpoolDrainLocked(const char *table)
{
	char	   *dir = SpoolDir(MyDatabaseId);
	List	   *names = SpoolList(dir);
	ListCell   *lc;

	foreach(lc, names)
	{
		char	   *path = psprintf("%s/%s", dir, (char *) lfirst(lc));
		size_t		len;
		uint8	   *buf = SpoolRead(path, &len);
		RvAuditRecord rec;

		if (buf == NULL)
			continue;			/* drained and removed by another backend */
		if (!rv_audit_spool_decode(buf, len, &rec) || rec.spool_id == NULL)
		{
			char	   *bad = psprintf("%s.bad", path);

			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("audit spool file \"%s\" is damaged; renamed to \"%s\"", path, bad)));
			(void) durable_rename(path, bad, WARNING);
			continue;
		}
		if (!SpoolIdAppended(table, rec.spool_id))
			RvAuditAppendLocked(table, &rec);
		RvAuditAtCommitUnlink(path);
	}
}

/* true if database dbid has spooled events waiting */
static bool
SpoolPending(Oid dbid)
{
	char	   *dir = SpoolDir(dbid);
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	bool		found = false;

	if (d == NULL)
		return false;
	while (!found && (de = ReadDirExtended(d, dir, LOG)) != NULL)
	{
		size_t		n = strlen(de->d_name);

		found = n > 3 && strcmp(de->d_name + n - 3, ".ev") == 0;
	}
	FreeDir(d);
	return found;
}

/*
 * The drain lock of database dbid: held (as a session lock) by the one
 * worker draining its spool.  An advisory lock tag with a field4 no SQL
 * advisory function uses, so no user lock can collide with it.
 */
static void
DrainLockTag(LOCKTAG *tag, Oid dbid)
{
	SET_LOCKTAG_ADVISORY(*tag, dbid, RV_AUDIT_DRAIN_LOCK_KEY, 0, RV_AUDIT_DRAIN_LOCK_FIELD4);
}

static bool
DrainLockTry(Oid dbid)
{
	LOCKTAG		tag;

	DrainLockTag(&tag, dbid);
	return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

static void
DrainLockRelease(Oid dbid)
{
	LOCKTAG		tag;

	DrainLockTag(&tag, dbid);
	LockRelease(&tag, ExclusiveLock, true);
}

/*
 * RvAuditSpoolStartWorker asks for a worker that drains database dbid's
 * spool, unless one is draining it now (it looks again after it lets go of
 * the drain lock, so it will see the file just written).  Never waits for
 * the worker (see NOTES).
 */
void
RvAuditSpoolStartWorker(Oid dbid)
{
	static BackgroundWorkerHandle *last = NULL;
	static Oid	last_db = InvalidOid;
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;
	pid_t		pid;
	MemoryContext old;

	/* our last worker has not started yet: it will list the spool later */
	if (last != NULL && last_db == dbid &&
		GetBackgroundWorkerPid(last, &pid) == BGWH_NOT_YET_STARTED)
		return;
	if (!DrainLockTry(dbid))
		return;
	DrainLockRelease(dbid);

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "ruvector");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "RvAuditDrainMain");
	snprintf(w.bgw_name, BGW_MAXLEN, "ruvector audit spool drain");
	snprintf(w.bgw_type, BGW_MAXLEN, "ruvector audit spool drain");
	w.bgw_main_arg = ObjectIdGetDatum(dbid);
	w.bgw_notify_pid = 0;
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (RegisterDynamicBackgroundWorker(&w, &handle))
	{
		if (last != NULL)
			pfree(last);
		last = handle;
		last_db = dbid;
	}
	else
		ereport(LOG,
				(errmsg("ruvector: no background worker slot to append a detached audit event"),
				 errdetail("The event stays in \"%s/%u\" and is appended with the next "
						   "audit event of the database.", RV_AUDIT_SPOOL_DIR, dbid)));
	MemoryContextSwitchTo(old);
}

/*
 * Append what the spool holds now, in one transaction.  False if the
 * database has no audit table to append to.
 */
static bool
DrainOnce(void)
{
	bool		drained;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "ruvector: appending detached audit events");
	drained = RvAuditDrainNow();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return drained;
}

/*
 * RvAuditDrainMain is the worker's entry point.  It takes database dbid's
 * drain lock (or leaves at once: the holder will see our files), drains the
 * spool until it is empty, lets the lock go and looks once more, so an
 * event spooled by a backend that saw the lock held is never stranded.
 */
void
RvAuditDrainMain(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* before connecting: the sooner it is held, the fewer workers a burst starts */
	if (!DrainLockTry(dbid))
		proc_exit(0);
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	for (int round = 0; round < RV_AUDIT_DRAIN_ROUNDS; round++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!DrainOnce())
		{
			ereport(LOG,
					(errmsg("ruvector: detached audit events of database %u wait in \"%s/%u\": "
							"the database has no audit table", dbid, RV_AUDIT_SPOOL_DIR, dbid)));
			proc_exit(0);
		}
		if (SpoolPending(dbid))
			continue;
		/* linger a moment: a burst of refusals is served by one worker */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 RV_AUDIT_DRAIN_LINGER_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (SpoolPending(dbid))
			continue;
		DrainLockRelease(dbid);
		if (!SpoolPending(dbid) || !DrainLockTry(dbid))
			proc_exit(0);
	}
	/* files that do not go away (unlink failing?): leave them to the next event */
	ereport(LOG,
			(errmsg("ruvector: audit spool of database %u still not empty after %d rounds",
					dbid, RV_AUDIT_DRAIN_ROUNDS)));
	proc_exit(0);
}
