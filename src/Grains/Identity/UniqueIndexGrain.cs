using Orleans.Storage;

namespace ApiPlatform.Grains.Identity;

/// <summary>Persisted state of <see cref="UniqueIndexGrain"/>.</summary>
[GenerateSerializer]
public sealed class UniqueIndexState
{
    [Id(0)] public string? OwnerId { get; set; }
    [Id(1)] public bool Confirmed { get; set; }
    [Id(2)] public DateTimeOffset ClaimedAt { get; set; }
}

/// <inheritdoc cref="IUniqueIndexGrain"/>
/// <remarks>
/// A claim stays pending until the owner confirms it. If the claimant died between claiming and creating the
/// owner, the pending claim would block the value forever, so an unconfirmed claim older than
/// <see cref="PendingClaimLifetime"/> may be taken over by a new claimant.
/// <para>
/// While a cluster forms or a silo dies, Orleans may briefly run two activations of one key. Their writes are
/// guarded by the storage's ETag, so at most one claim lands; every change made by the other activation re-reads
/// storage and decides again instead of failing. A pending claim is also re-read before it is reported as "no owner":
/// an activation that saw the claim may not have seen the confirmation another activation wrote.
/// </para>
/// <para>
/// Behind the grain, the database holds the last word: every claim is first written to <c>unique_claims</c> by one
/// conditional statement keyed by the value (<see cref="UniqueClaimStore"/>), so even two activations that both
/// believe the value free cannot both take it, and a value claimed by some other path is refused.
/// </para>
/// </remarks>
public sealed class UniqueIndexGrain(
    [PersistentState("unique", GrainStorage.Main)] IPersistentState<UniqueIndexState> state,
    UniqueClaimStore claims,
    ApiClock clock) : Grain, IUniqueIndexGrain
{
    public static readonly TimeSpan PendingClaimLifetime = TimeSpan.FromMinutes(2);

    /// <summary>Claims made before the table existed are written to it the first time their grain wakes.</summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken) =>
        state.State.OwnerId is { } owner
            ? claims.BackfillAsync(this.GetPrimaryKeyString(), owner, state.State.Confirmed, state.State.ClaimedAt)
            : Task.CompletedTask;

    public Task<bool> TryClaimAsync(string ownerId) => DecideAsync(() => ClaimAsync(ownerId));

    /// <summary>
    /// Runs a change decided on the state in memory; when another activation wrote first (ETag conflict), reads what
    /// storage holds now and decides once more.
    /// </summary>
    private async Task<T> DecideAsync<T>(Func<Task<T>> decide)
    {
        try
        {
            return await decide();
        }
        catch (InconsistentStateException)
        {
            await state.ReadStateAsync();
            return await decide();
        }
    }

    private async Task<bool> ClaimAsync(string ownerId)
    {
        var s = state.State;
        if (s.OwnerId == ownerId)
        {
            return true;
        }

        var now = clock.UtcNow;
        if (s.OwnerId is not null && (s.Confirmed || now - s.ClaimedAt < PendingClaimLifetime))
        {
            return false;
        }

        // The database decides first: another owner's row there (written by another activation, or by a path that
        // bypassed this grain) wins over this activation's view.
        if (!await claims.ClaimAsync(this.GetPrimaryKeyString(), ownerId, now, now - PendingClaimLifetime))
        {
            return false;
        }

        state.State = new UniqueIndexState { OwnerId = ownerId, Confirmed = false, ClaimedAt = now };
        await state.WriteStateAsync();
        return true;
    }

    public Task ConfirmAsync(string ownerId) => DecideAsync(() => ConfirmClaimAsync(ownerId));

    private async Task<bool> ConfirmClaimAsync(string ownerId)
    {
        if (state.State.OwnerId != ownerId || state.State.Confirmed)
        {
            return false;
        }

        await claims.ConfirmAsync(this.GetPrimaryKeyString(), ownerId);
        state.State = new UniqueIndexState { OwnerId = ownerId, Confirmed = true, ClaimedAt = state.State.ClaimedAt };
        await state.WriteStateAsync();
        return true;
    }

    public Task ReleaseAsync(string ownerId) => DecideAsync(() => ReleaseClaimAsync(ownerId));

    private async Task<bool> ReleaseClaimAsync(string ownerId)
    {
        if (state.State.OwnerId != ownerId)
        {
            return false;
        }

        await claims.ReleaseAsync(this.GetPrimaryKeyString(), ownerId);
        await state.ClearStateAsync();
        state.State = new UniqueIndexState();
        return true;
    }

    public async Task<string?> GetOwnerAsync()
    {
        if (state.State is { OwnerId: not null, Confirmed: false })
        {
            await state.ReadStateAsync();
        }

        return state.State.Confirmed ? state.State.OwnerId : null;
    }
}
