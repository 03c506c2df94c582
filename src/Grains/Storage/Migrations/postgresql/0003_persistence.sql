-- Grain state storage for Microsoft.Orleans.Persistence.AdoNet.
--
-- Contract, as bound by the 10.4.x provider (Orleans.Storage.AdoNetGrainStorage):
--   WriteToStorageKey, ReadFromStorageKey, ClearStorageKey (required),
--   DeleteStorageKey (optional; required only with DeleteStateOnClear = true).
-- Parameters: @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
-- @GrainIdExtensionString, @ServiceId, and for write/clear/delete also @GrainStateVersion;
-- write also @PayloadBinary. 10.x serialises every state to bytes (the configured
-- IGrainStorageSerializer), so there are no JSON / XML payload columns or parameters.
-- Results read by name: PayloadBinary + Version (read), NewGrainStateVersion (write); clear and
-- delete read the first column. The ETag is the integer Version: returning the caller's own
-- version (or nothing) tells Orleans the write lost an optimistic-concurrency race.

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    -- Orleans hashes the grain id and type into two ints for a narrow index; the clear-text
    -- columns resolve the rare hash collisions.
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,
    -- Informational only.
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer      NULL
);

CREATE INDEX IF NOT EXISTS IX_OrleansStorage ON OrleansStorage (GrainIdHash, GrainTypeHash);

-- Insert-or-update with optimistic concurrency; returns the new version, or the caller's
-- version / NULL when the caller is out of date.
CREATE OR REPLACE FUNCTION orleans_write_to_storage(
    p_grain_id_hash       integer,
    p_grain_id_n0         bigint,
    p_grain_id_n1         bigint,
    p_grain_type_hash     integer,
    p_grain_type_string   text,
    p_grain_id_extension  text,
    p_service_id          text,
    p_grain_state_version integer,
    p_payload_binary      bytea)
RETURNS TABLE (NewGrainStateVersion integer)
LANGUAGE plpgsql
AS $$
DECLARE
    affected integer;
BEGIN
    IF p_grain_state_version IS NOT NULL THEN
        -- The grain read (or wrote) version N before: only move N -> N + 1.
        UPDATE OrleansStorage
        SET PayloadBinary = p_payload_binary,
            ModifiedOn = now(),
            Version = Version + 1
        WHERE GrainIdHash = p_grain_id_hash
          AND GrainTypeHash = p_grain_type_hash
          AND GrainIdN0 = p_grain_id_n0
          AND GrainIdN1 = p_grain_id_n1
          AND GrainTypeString = p_grain_type_string
          AND GrainIdExtensionString IS NOT DISTINCT FROM p_grain_id_extension
          AND ServiceId = p_service_id
          AND Version = p_grain_state_version;
        GET DIAGNOSTICS affected = ROW_COUNT;
        RETURN QUERY SELECT CASE WHEN affected > 0 THEN p_grain_state_version + 1 ELSE p_grain_state_version END;
        RETURN;
    END IF;

    -- First write of this grain. Two activations of the same grain (e.g. during a membership
    -- split) could both pass a plain NOT EXISTS check under READ COMMITTED and insert twice;
    -- a transaction-scoped advisory lock on the hash pair makes the check-and-insert atomic.
    -- (Two-int advisory keys never collide with the single bigint key of the migrator.)
    PERFORM pg_advisory_xact_lock(p_grain_id_hash, p_grain_type_hash);

    INSERT INTO OrleansStorage
        (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
         ServiceId, PayloadBinary, ModifiedOn, Version)
    SELECT p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type_hash, p_grain_type_string,
           p_grain_id_extension, p_service_id, p_payload_binary, now(), 1
    WHERE NOT EXISTS (
        SELECT 1
        FROM OrleansStorage
        WHERE GrainIdHash = p_grain_id_hash
          AND GrainTypeHash = p_grain_type_hash
          AND GrainIdN0 = p_grain_id_n0
          AND GrainIdN1 = p_grain_id_n1
          AND GrainTypeString = p_grain_type_string
          AND GrainIdExtensionString IS NOT DISTINCT FROM p_grain_id_extension
          AND ServiceId = p_service_id);
    GET DIAGNOSTICS affected = ROW_COUNT;
    -- NULL makes Orleans raise InconsistentStateException: someone else created the row first.
    RETURN QUERY SELECT CASE WHEN affected > 0 THEN 1 ELSE NULL::integer END;
END
$$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', $q$
    SELECT NewGrainStateVersion
    FROM orleans_write_to_storage(
        @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
        @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary);
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- A row whose payload is NULL (cleared) still returns its Version, so the next write
-- continues the version sequence instead of colliding with the existing row.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', $q$
    SELECT PayloadBinary, Version
    FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId = @ServiceId;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Clear keeps the row (payload NULL, version bumped) so versions stay monotonic.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', $q$
    UPDATE OrleansStorage
    SET PayloadBinary = NULL,
        ModifiedOn = now(),
        Version = Version + 1
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId = @ServiceId
      AND Version = @GrainStateVersion
    RETURNING Version AS NewGrainStateVersion;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Used instead of ClearStorageKey when DeleteStateOnClear = true. Any value different from the
-- caller's version signals success; Orleans then forgets the ETag and the next write inserts.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', $q$
    DELETE FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId = @ServiceId
      AND Version = @GrainStateVersion
    RETURNING Version + 1 AS NewGrainStateVersion;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
