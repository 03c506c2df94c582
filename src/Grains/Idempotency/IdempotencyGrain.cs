using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace ApiPlatform.Grains.Idempotency;

/// <inheritdoc cref="IIdempotencyGrain"/>
/// <remarks>
/// Reentrant so that a waiting retry does not block <see cref="CompleteAsync"/> of the request it waits for; every
/// state change happens between awaits, so interleaving is safe. The in-progress mark lives in memory only: if the
/// silo dies mid-request, a retry proceeds, and the resource id derived from the key makes the redo find the
/// resource the first attempt created instead of making a second one.
/// </remarks>
[Reentrant]
public sealed class IdempotencyGrain(IdempotencyStore store, IOptions<IdempotencyOptions> options, ApiClock clock) : Grain, IIdempotencyGrain
{
    private IdempotencyRecord? _completed;
    private (string Hash, TaskCompletionSource Done)? _running;
    private string _ownerId = "";
    private string _key = "";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var id = this.GetPrimaryKeyString();
        var separator = id.IndexOf(':', StringComparison.Ordinal);
        (_ownerId, _key) = (id[..separator], id[(separator + 1)..]);
        _completed = await store.LoadAsync(_ownerId, _key);
    }

    public async Task<IdempotencyBegin> BeginAsync(string requestHash)
    {
        var deadline = clock.UtcNow + options.Value.WaitForFirst;
        while (true)
        {
            if (_completed is not null && clock.UtcNow - _completed.CreatedAt >= options.Value.Retention)
            {
                _completed = null;
            }

            if (_completed is not null)
            {
                return _completed.RequestHash == requestHash
                    ? new IdempotencyBegin(IdempotencyDecision.Replay, _completed.Response)
                    : new IdempotencyBegin(IdempotencyDecision.Mismatch, null);
            }

            if (_running is not { } running)
            {
                _running = (requestHash, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                return new IdempotencyBegin(IdempotencyDecision.Proceed, null);
            }

            if (running.Hash != requestHash)
            {
                return new IdempotencyBegin(IdempotencyDecision.Mismatch, null);
            }

            var wait = deadline - clock.UtcNow;
            if (wait <= TimeSpan.Zero)
            {
                return new IdempotencyBegin(IdempotencyDecision.InProgress, null);
            }

            // Wait for the first request to complete (replay) or give up (then one waiter proceeds).
            try
            {
                await running.Done.Task.WaitAsync(wait);
            }
            catch (TimeoutException)
            {
                return new IdempotencyBegin(IdempotencyDecision.InProgress, null);
            }
        }
    }

    public async Task CompleteAsync(string requestHash, StoredResponse response)
    {
        var record = new IdempotencyRecord(requestHash, response, clock.UtcNow);
        await store.SaveAsync(_ownerId, _key, record);
        _completed = record;
        Release(requestHash);
    }

    public Task AbandonAsync(string requestHash)
    {
        Release(requestHash);
        return Task.CompletedTask;
    }

    private void Release(string requestHash)
    {
        if (_running is { } running && running.Hash == requestHash)
        {
            _running = null;
            running.Done.TrySetResult();
        }
    }
}
