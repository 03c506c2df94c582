namespace ApiPlatform.Grains.Events;

/// <summary>
/// The open event streams (SSE connections) of one credential (key: <c>key:…</c> or <c>user:…</c>), counted across the
/// cluster against the plan's cap. A slot is a lease its holder renews while the connection lives, so a process that
/// dies frees its slots when they lapse. Memory only: a crash of this grain's silo forgets the count (erring towards
/// admitting, like the rate limits).
/// </summary>
[Alias("IEventStreamSlotsGrain")]
public interface IEventStreamSlotsGrain : IGrainWithStringKey
{
    /// <summary>Takes a slot for <paramref name="connectionId"/> unless <paramref name="max"/> are held; false when full.</summary>
    [Alias("TryAcquireAsync")]
    Task<bool> TryAcquireAsync(string connectionId, int max);

    /// <summary>Extends the leases of these connections.</summary>
    [Alias("RenewAsync")]
    Task RenewAsync(IReadOnlyList<string> connectionIds);

    [Alias("ReleaseAsync")]
    Task ReleaseAsync(string connectionId);
}
