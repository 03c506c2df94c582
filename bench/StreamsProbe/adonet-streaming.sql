-- The tables and stored queries Microsoft.Orleans.Streaming.AdoNet 10.4.2-alpha.1 expects on PostgreSQL, written for
-- this trial from the contract that package binds (query keys QueueStreamMessageKey, GetStreamMessagesKey,
-- ConfirmStreamMessagesKey, FailStreamMessageKey, EvictStreamMessagesKey, EvictStreamDeadLettersKey and their
-- parameters). Each queue is a set of rows; a read leases a batch (visibility timeout), a confirmation deletes it,
-- and a failure makes it visible again or moves it to the dead letters. Every read also runs the queue's eviction
-- when it is due, so the receiver's poll is the one thing that drives the provider: an idle cluster still polls.
CREATE SEQUENCE IF NOT EXISTS OrleansStreamMessageSequence AS bigint;

CREATE TABLE IF NOT EXISTS OrleansStreamMessage
(
    ServiceId  varchar(150) NOT NULL,
    ProviderId varchar(150) NOT NULL,
    QueueId    varchar(150) NOT NULL,
    MessageId  bigint       NOT NULL,
    Dequeued   int          NOT NULL,
    VisibleOn  timestamp(6) NOT NULL,
    ExpiresOn  timestamp(6) NOT NULL,
    CreatedOn  timestamp(6) NOT NULL,
    ModifiedOn timestamp(6) NOT NULL,
    Payload    bytea        NOT NULL,
    PRIMARY KEY (ServiceId, ProviderId, QueueId, MessageId)
);

CREATE TABLE IF NOT EXISTS OrleansStreamDeadLetter
(
    ServiceId  varchar(150) NOT NULL,
    ProviderId varchar(150) NOT NULL,
    QueueId    varchar(150) NOT NULL,
    MessageId  bigint       NOT NULL,
    Dequeued   int          NOT NULL,
    VisibleOn  timestamp(6) NOT NULL,
    ExpiresOn  timestamp(6) NOT NULL,
    CreatedOn  timestamp(6) NOT NULL,
    ModifiedOn timestamp(6) NOT NULL,
    DeadOn     timestamp(6) NOT NULL,
    RemoveOn   timestamp(6) NOT NULL,
    Payload    bytea,
    PRIMARY KEY (ServiceId, ProviderId, QueueId, MessageId)
);

CREATE TABLE IF NOT EXISTS OrleansStreamControl
(
    ServiceId  varchar(150) NOT NULL,
    ProviderId varchar(150) NOT NULL,
    QueueId    varchar(150) NOT NULL,
    EvictOn    timestamp(6) NOT NULL,
    PRIMARY KEY (ServiceId, ProviderId, QueueId)
);

CREATE OR REPLACE FUNCTION QueueStreamMessage(_ServiceId varchar, _ProviderId varchar, _QueueId varchar, _Payload bytea, _ExpiryTimeout int)
RETURNS TABLE (ServiceId varchar, ProviderId varchar, QueueId varchar, MessageId bigint)
LANGUAGE sql AS $$
    INSERT INTO OrleansStreamMessage AS m (ServiceId, ProviderId, QueueId, MessageId, Dequeued, VisibleOn, ExpiresOn, CreatedOn, ModifiedOn, Payload)
    SELECT _ServiceId, _ProviderId, _QueueId, nextval('OrleansStreamMessageSequence'), 0, n, n + make_interval(secs => _ExpiryTimeout), n, n, _Payload
    FROM (SELECT (now() AT TIME ZONE 'UTC')::timestamp(6) AS n) t
    RETURNING m.ServiceId, m.ProviderId, m.QueueId, m.MessageId;
$$;

CREATE OR REPLACE PROCEDURE EvictStreamMessages(_ServiceId varchar, _ProviderId varchar, _QueueId varchar, _BatchSize int, _MaxAttempts int, _RemovalTimeout int)
LANGUAGE sql AS $$
    WITH victims AS (
        DELETE FROM OrleansStreamMessage m
        WHERE (m.ServiceId, m.ProviderId, m.QueueId, m.MessageId) IN (
            SELECT ServiceId, ProviderId, QueueId, MessageId FROM OrleansStreamMessage
            WHERE ServiceId = _ServiceId AND ProviderId = _ProviderId AND QueueId = _QueueId
              AND VisibleOn <= (now() AT TIME ZONE 'UTC') AND (Dequeued >= _MaxAttempts OR ExpiresOn <= (now() AT TIME ZONE 'UTC'))
            ORDER BY MessageId LIMIT _BatchSize FOR UPDATE)
        RETURNING m.*)
    INSERT INTO OrleansStreamDeadLetter
    SELECT ServiceId, ProviderId, QueueId, MessageId, Dequeued, VisibleOn, ExpiresOn, CreatedOn, ModifiedOn,
           now() AT TIME ZONE 'UTC', (now() AT TIME ZONE 'UTC') + make_interval(secs => _RemovalTimeout), Payload
    FROM victims;
$$;

CREATE OR REPLACE PROCEDURE EvictStreamDeadLetters(_ServiceId varchar, _ProviderId varchar, _QueueId varchar, _BatchSize int)
LANGUAGE sql AS $$
    DELETE FROM OrleansStreamDeadLetter
    WHERE (ServiceId, ProviderId, QueueId, MessageId) IN (
        SELECT ServiceId, ProviderId, QueueId, MessageId FROM OrleansStreamDeadLetter
        WHERE ServiceId = _ServiceId AND ProviderId = _ProviderId AND QueueId = _QueueId AND RemoveOn <= (now() AT TIME ZONE 'UTC')
        ORDER BY MessageId LIMIT _BatchSize FOR UPDATE);
$$;

CREATE OR REPLACE FUNCTION GetStreamMessages(_ServiceId varchar, _ProviderId varchar, _QueueId varchar, _MaxCount int, _MaxAttempts int,
    _VisibilityTimeout int, _RemovalTimeout int, _EvictionInterval int, _EvictionBatchSize int)
RETURNS TABLE (ServiceId varchar, ProviderId varchar, QueueId varchar, MessageId bigint, Dequeued int, VisibleOn timestamp(6),
    ExpiresOn timestamp(6), CreatedOn timestamp(6), ModifiedOn timestamp(6), Payload bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    _Now timestamp(6) := now() AT TIME ZONE 'UTC';
BEGIN
    INSERT INTO OrleansStreamControl (ServiceId, ProviderId, QueueId, EvictOn) VALUES (_ServiceId, _ProviderId, _QueueId, _Now)
    ON CONFLICT DO NOTHING;
    -- Whoever moves the schedule on runs the due eviction.
    UPDATE OrleansStreamControl SET EvictOn = _Now + make_interval(secs => _EvictionInterval)
    WHERE ServiceId = _ServiceId AND ProviderId = _ProviderId AND QueueId = _QueueId AND EvictOn <= _Now;
    IF FOUND THEN
        CALL EvictStreamMessages(_ServiceId, _ProviderId, _QueueId, _EvictionBatchSize, _MaxAttempts, _RemovalTimeout);
        CALL EvictStreamDeadLetters(_ServiceId, _ProviderId, _QueueId, _EvictionBatchSize);
    END IF;

    RETURN QUERY
    UPDATE OrleansStreamMessage m SET Dequeued = m.Dequeued + 1, VisibleOn = _Now + make_interval(secs => _VisibilityTimeout), ModifiedOn = _Now
    WHERE (m.ServiceId, m.ProviderId, m.QueueId, m.MessageId) IN (
        SELECT ServiceId, ProviderId, QueueId, MessageId FROM OrleansStreamMessage
        WHERE ServiceId = _ServiceId AND ProviderId = _ProviderId AND QueueId = _QueueId
          AND Dequeued < _MaxAttempts AND VisibleOn <= _Now AND ExpiresOn > _Now
        ORDER BY MessageId LIMIT _MaxCount FOR UPDATE)
    RETURNING m.ServiceId, m.ProviderId, m.QueueId, m.MessageId, m.Dequeued, m.VisibleOn, m.ExpiresOn, m.CreatedOn, m.ModifiedOn, m.Payload;
END;
$$;

-- _Items: "MessageId:Dequeued|MessageId:Dequeued|…": a confirmation only deletes the lease it names.
CREATE OR REPLACE FUNCTION ConfirmStreamMessages(_ServiceId varchar, _ProviderId varchar, _QueueId varchar, _Items text)
RETURNS TABLE (ServiceId varchar, ProviderId varchar, QueueId varchar, MessageId bigint)
LANGUAGE sql AS $$
    DELETE FROM OrleansStreamMessage m
    USING (SELECT split_part(v, ':', 1)::bigint AS id, split_part(v, ':', 2)::int AS dq FROM unnest(string_to_array(_Items, '|')) v) i
    WHERE m.ServiceId = _ServiceId AND m.ProviderId = _ProviderId AND m.QueueId = _QueueId AND m.MessageId = i.id AND m.Dequeued = i.dq
    RETURNING m.ServiceId, m.ProviderId, m.QueueId, m.MessageId;
$$;

CREATE OR REPLACE PROCEDURE FailStreamMessage(_ServiceId varchar, _ProviderId varchar, _QueueId varchar, _MessageId bigint, _MaxAttempts int, _RemovalTimeout int)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE OrleansStreamMessage SET VisibleOn = now() AT TIME ZONE 'UTC', ModifiedOn = now() AT TIME ZONE 'UTC'
    WHERE ServiceId = _ServiceId AND ProviderId = _ProviderId AND QueueId = _QueueId AND MessageId = _MessageId AND Dequeued < _MaxAttempts;
    IF NOT FOUND THEN
        WITH gone AS (
            DELETE FROM OrleansStreamMessage
            WHERE ServiceId = _ServiceId AND ProviderId = _ProviderId AND QueueId = _QueueId AND MessageId = _MessageId
            RETURNING *)
        INSERT INTO OrleansStreamDeadLetter
        SELECT ServiceId, ProviderId, QueueId, MessageId, Dequeued, VisibleOn, ExpiresOn, CreatedOn, ModifiedOn,
               now() AT TIME ZONE 'UTC', (now() AT TIME ZONE 'UTC') + make_interval(secs => _RemovalTimeout), Payload
        FROM gone;
    END IF;
END;
$$;

DELETE FROM OrleansQuery WHERE QueryKey IN ('QueueStreamMessageKey', 'GetStreamMessagesKey', 'ConfirmStreamMessagesKey', 'FailStreamMessageKey',
    'EvictStreamMessagesKey', 'EvictStreamDeadLettersKey');
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
    ('QueueStreamMessageKey', 'SELECT * FROM QueueStreamMessage(@ServiceId, @ProviderId, @QueueId, @Payload, @ExpiryTimeout)'),
    ('GetStreamMessagesKey', 'SELECT * FROM GetStreamMessages(@ServiceId, @ProviderId, @QueueId, @MaxCount, @MaxAttempts, @VisibilityTimeout, @RemovalTimeout, @EvictionInterval, @EvictionBatchSize)'),
    ('ConfirmStreamMessagesKey', 'SELECT * FROM ConfirmStreamMessages(@ServiceId, @ProviderId, @QueueId, @Items)'),
    ('FailStreamMessageKey', 'CALL FailStreamMessage(@ServiceId, @ProviderId, @QueueId, @MessageId, @MaxAttempts, @RemovalTimeout)'),
    ('EvictStreamMessagesKey', 'CALL EvictStreamMessages(@ServiceId, @ProviderId, @QueueId, @BatchSize, @MaxAttempts, @RemovalTimeout)'),
    ('EvictStreamDeadLettersKey', 'CALL EvictStreamDeadLetters(@ServiceId, @ProviderId, @QueueId, @BatchSize)');
