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
/// guarded by the storage's ETag, so at most one claim lands; the other activation re-reads storage instead of
/// failing. A pending claim is also re-read before it is reported as "no owner": an activation that saw the claim
/// may not have seen the confirmation another activation wrote.
/// </para>
/// </remarks>
public sealed class UniqueIndexGrain(
    [PersistentState("unique", GrainStorage.Main)] IPersistentState<UniqueIndexState> state,
    ApiClock clock) : Grain, IUniqueIndexGrain
{
    public static readonly TimeSpan PendingClaimLifetime = TimeSpan.FromMinutes(2);

    public async Task<bool> TryClaimAsync(string ownerId)
    {
        try
        {
            return await ClaimAsync(ownerId);
        }
        catch (InconsistentStateException)
        {
            // Another activation wrote first: decide again on what storage holds now.
            await state.ReadStateAsync();
            return await ClaimAsync(ownerId);
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

        state.State = new UniqueIndexState { OwnerId = ownerId, Confirmed = false, ClaimedAt = now };
        await state.WriteStateAsync();
        return true;
    }

    public async Task ConfirmAsync(string ownerId)
    {
        try
        {
            await ConfirmClaimAsync(ownerId);
        }
        catch (InconsistentStateException)
        {
            await state.ReadStateAsync();
            await ConfirmClaimAsync(ownerId);
        }
    }

    private async Task ConfirmClaimAsync(string ownerId)
    {
        if (state.State.OwnerId != ownerId || state.State.Confirmed)
        {
            return;
        }

        state.State = new UniqueIndexState { OwnerId = ownerId, Confirmed = true, ClaimedAt = state.State.ClaimedAt };
        await state.WriteStateAsync();
    }

    public async Task ReleaseAsync(string ownerId)
    {
        if (state.State.OwnerId != ownerId)
        {
            return;
        }

        await state.ClearStateAsync();
        state.State = new UniqueIndexState();
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
