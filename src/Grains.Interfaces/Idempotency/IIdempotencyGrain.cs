namespace ApiPlatform.Grains.Idempotency;

/// <summary>A response kept for replay: status, the headers that matter, and the body text.</summary>
[GenerateSerializer, Immutable, Alias("stored-response.v1")]
public sealed record StoredResponse(
    [property: Id(0)] int Status,
    [property: Id(1)] IReadOnlyDictionary<string, string> Headers,
    [property: Id(2)] string Body);

/// <summary>What to do with a request carrying an Idempotency-Key.</summary>
[GenerateSerializer]
public enum IdempotencyDecision
{
    /// <summary>First use of the key: do the work, then <see cref="IIdempotencyGrain.CompleteAsync"/>.</summary>
    Proceed,
    /// <summary>Seen with the same request: answer with the stored response.</summary>
    Replay,
    /// <summary>The key was used for a different request.</summary>
    Mismatch,
    /// <summary>The first request with this key is still running (and did not finish while this one waited).</summary>
    InProgress,
}

/// <summary>Outcome of <see cref="IIdempotencyGrain.BeginAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("idempotency-begin.v1")]
public sealed record IdempotencyBegin(
    [property: Id(0)] IdempotencyDecision Decision,
    [property: Id(1)] StoredResponse? Response);

/// <summary>
/// One Idempotency-Key of one owner (key: <c>{owner id}:{idempotency key}</c>). The single activation serializes
/// retries: a retry that arrives while the first request runs waits for its response instead of redoing the work.
/// </summary>
[Alias("IIdempotencyGrain")]
public interface IIdempotencyGrain : IGrainWithStringKey
{
    [Alias("BeginAsync")]
    Task<IdempotencyBegin> BeginAsync(string requestHash);

    /// <summary>Stores the response of the request that proceeded, for 24 hours.</summary>
    [Alias("CompleteAsync")]
    Task CompleteAsync(string requestHash, StoredResponse response);

    /// <summary>The request that proceeded failed without a response worth replaying: the key is free again.</summary>
    [Alias("AbandonAsync")]
    Task AbandonAsync(string requestHash);
}
