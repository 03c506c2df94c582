namespace ApiPlatform.Grains.Idempotency;

/// <summary>A response kept for replay: status, the headers that matter, and the body text.</summary>
[GenerateSerializer, Immutable, Alias("stored-response.v1")]
public sealed record StoredResponse(
    [property: Id(0)] int Status,
    [property: Id(1)] IReadOnlyDictionary<string, string> Headers,
    [property: Id(2)] string Body);

/// <summary>What to do with a request carrying an Idempotency-Key.</summary>
[GenerateSerializer]
public enum IdempotencyStatus
{
    /// <summary>Do the work, then <see cref="IIdempotencyGrain.CompleteAsync"/> (or abandon or interrupt it).</summary>
    Proceed,
    /// <summary>Seen with the same request: answer with the stored response.</summary>
    Replay,
    /// <summary>The key was used for a different request.</summary>
    Mismatch,
    /// <summary>The first request with this key is still running (and did not finish while this one waited).</summary>
    InProgress,
}

/// <summary>
/// Outcome of <see cref="IIdempotencyGrain.BeginAsync"/>. With <see cref="IdempotencyStatus.Proceed"/>,
/// <see cref="Seed"/> is what ids created by the work derive from: the same for every attempt of this use of the key
/// (so a redo after a crash finds what the first attempt made), new once the key's retention has passed (so a reused
/// key makes new things). <see cref="Resumed"/> says an earlier attempt began this use and never finished.
/// </summary>
[GenerateSerializer, Immutable, Alias("idempotency-begin.v1")]
public sealed record IdempotencyOutcome(
    [property: Id(0)] IdempotencyStatus Status,
    [property: Id(1)] StoredResponse? Response,
    [property: Id(2)] string? Seed = null,
    [property: Id(3)] bool Resumed = false);

/// <summary>
/// One Idempotency-Key of one owner (key: <c>{owner id}:{idempotency key}</c>). The single activation serializes
/// retries: a retry that arrives while the first request runs waits for its response instead of redoing the work.
/// The first request's fingerprint is stored before the work starts, so a crash cannot make a retry with another
/// body look like a first use.
/// </summary>
[Alias("IIdempotencyGrain")]
public interface IIdempotencyGrain : IGrainWithStringKey
{
    [Alias("BeginAsync")]
    Task<IdempotencyOutcome> BeginAsync(string requestHash);

    /// <summary>Stores the response of the request that proceeded, for the retention period.</summary>
    [Alias("CompleteAsync")]
    Task CompleteAsync(string requestHash, StoredResponse response);

    /// <summary>The request that proceeded was refused without doing anything: the key is free again.</summary>
    [Alias("AbandonAsync")]
    Task AbandonAsync(string requestHash);

    /// <summary>
    /// The request that proceeded failed in a way that may have left its work done (a fault, a timeout): the key stays
    /// bound to this request and its seed, and the next retry of the same request proceeds at once.
    /// </summary>
    [Alias("InterruptAsync")]
    Task InterruptAsync(string requestHash);
}
