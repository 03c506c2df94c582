using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace ApiPlatform.Grains.Idempotency;

/// <inheritdoc cref="IIdempotencyGrain"/>
/// <remarks>
/// Reentrant so that a waiting retry does not block <see cref="CompleteAsync"/> of the request it waits for; every
/// state change happens between awaits, so interleaving is safe.
/// <para>
/// A first use writes a pending row (the request's fingerprint and a fresh seed) before the work starts. The running
/// mark itself lives in memory, so it cannot outlive what it guards: when the activation goes away with its silo, or
/// the request that holds it has been running longer than <see cref="IdempotencyOptions.WaitForFirst"/> (its gateway
/// died), a retry of the same request proceeds with the same seed and the ids derived from it find what the first
/// attempt made. A retry with another body meets the pending row and gets 409, crash or not. Once the retention has
/// passed the row counts as gone: a reused key gets a new seed and makes new things.
/// </para>
/// </remarks>
[Reentrant]
public sealed class IdempotencyGrain(IdempotencyStore store, IOptions<IdempotencyOptions> options, ApiClock clock) : Grain, IIdempotencyGrain
{
    private IdempotencyRecord? _record;
    private Running? _running;
    private string _ownerId = "";
    private string _key = "";

    private sealed record Running(string Hash, DateTimeOffset StartedAt, TaskCompletionSource Done);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var id = this.GetPrimaryKeyString();
        var separator = id.IndexOf(':', StringComparison.Ordinal);
        (_ownerId, _key) = (id[..separator], id[(separator + 1)..]);
        _record = await store.LoadAsync(_ownerId, _key);
    }

    public async Task<IdempotencyOutcome> BeginAsync(string requestHash)
    {
        var deadline = clock.UtcNow + options.Value.WaitForFirst;
        while (true)
        {
            if (_record is not null && clock.UtcNow - _record.CreatedAt >= options.Value.Retention)
            {
                _record = null;
            }

            if (_record is { Response: { } response })
            {
                return _record.RequestHash == requestHash
                    ? new IdempotencyOutcome(IdempotencyStatus.Replay, response)
                    : new IdempotencyOutcome(IdempotencyStatus.Mismatch, null);
            }

            if (_record is { } pending && pending.RequestHash != requestHash)
            {
                return new IdempotencyOutcome(IdempotencyStatus.Mismatch, null);
            }

            if (_running is null || clock.UtcNow - _running.StartedAt >= options.Value.WaitForFirst)
            {
                // Nobody runs this use of the key (or whoever did is presumed dead): this request does.
                return await StartAsync(requestHash);
            }

            var running = _running;
            var wait = deadline - clock.UtcNow;
            if (wait <= TimeSpan.Zero)
            {
                return new IdempotencyOutcome(IdempotencyStatus.InProgress, null);
            }

            // Wait for the first request to complete (replay) or give up (then one waiter proceeds).
            try
            {
                await running.Done.Task.WaitAsync(wait);
            }
            catch (TimeoutException)
            {
                return new IdempotencyOutcome(IdempotencyStatus.InProgress, null);
            }
        }
    }

    /// <summary>Marks this request as the one running, recording its fingerprint first when this is a new use.</summary>
    private async Task<IdempotencyOutcome> StartAsync(string requestHash)
    {
        var previous = _running;
        var running = new Running(requestHash, clock.UtcNow, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _running = running;
        previous?.Done.TrySetResult();
        if (_record is { } pending)
        {
            return new IdempotencyOutcome(IdempotencyStatus.Proceed, null, pending.Seed, Resumed: true);
        }

        var record = new IdempotencyRecord(requestHash, null, clock.UtcNow, Ids.RandomToken(22));
        try
        {
            await store.SaveAsync(_ownerId, _key, record);
        }
        catch
        {
            Release(running);
            throw;
        }

        _record = record;
        return new IdempotencyOutcome(IdempotencyStatus.Proceed, null, record.Seed);
    }

    public async Task CompleteAsync(string requestHash, StoredResponse response)
    {
        if (_record is not { Response: null } pending || pending.RequestHash != requestHash)
        {
            return;
        }

        var record = pending with { Response = response };
        try
        {
            await store.SaveAsync(_ownerId, _key, record);
            _record = record;
        }
        finally
        {
            // Saved or not, this attempt is over: a retry must not wait for a response that will never be stored.
            Release(requestHash);
        }
    }

    public async Task AbandonAsync(string requestHash)
    {
        if (_record is { Response: null } pending && pending.RequestHash == requestHash)
        {
            try
            {
                await store.DeleteAsync(_ownerId, _key, requestHash);
                _record = null;
            }
            finally
            {
                Release(requestHash);
            }
        }
    }

    public Task InterruptAsync(string requestHash)
    {
        Release(requestHash);
        return Task.CompletedTask;
    }

    private void Release(string requestHash)
    {
        if (_running is { } running && running.Hash == requestHash)
        {
            Release(running);
        }
    }

    private void Release(Running running)
    {
        if (ReferenceEquals(_running, running))
        {
            _running = null;
        }

        running.Done.TrySetResult();
    }
}
