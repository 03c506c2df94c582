namespace ApiPlatform.Grains.Identity;

/// <summary>Persisted state of <see cref="SessionGrain"/>.</summary>
[GenerateSerializer]
public sealed class SessionState
{
    [Id(0)] public string? UserId { get; set; }
    [Id(1)] public string CurrentHash { get; set; } = "";
    [Id(2)] public List<string> UsedHashes { get; set; } = [];
    [Id(3)] public bool Revoked { get; set; }
    [Id(4)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(5)] public TimeSpan Lifetime { get; set; }
}

/// <inheritdoc cref="ISessionGrain"/>
/// <remarks>Expiry slides: each rotation extends the session by its lifetime.</remarks>
public sealed class SessionGrain(
    [PersistentState("session", GrainStorage.Main)] IPersistentState<SessionState> state,
    ApiClock clock) : Grain, ISessionGrain
{
    // Enough history to recognise a stolen token replayed long after; older ones are simply invalid.
    private const int UsedHashesKept = 64;

    public async Task<string> StartAsync(string userId, TimeSpan lifetime)
    {
        if (state.State.UserId is not null)
        {
            throw new InvalidOperationException("Session ids are single use.");
        }

        var token = NewToken();
        state.State = new SessionState
        {
            UserId = userId,
            CurrentHash = SecretHash.Of(token),
            Lifetime = lifetime,
            ExpiresAt = clock.UtcNow + lifetime,
        };
        await state.WriteStateAsync();
        return token;
    }

    public async Task<RefreshOutcome> RefreshAsync(string refreshToken)
    {
        var s = state.State;
        if (s.UserId is null || s.Revoked || clock.UtcNow >= s.ExpiresAt)
        {
            return new RefreshOutcome(RefreshStatus.Invalid, null, null);
        }

        if (SecretHash.Matches(refreshToken, s.CurrentHash))
        {
            var next = NewToken();
            s.UsedHashes.Add(s.CurrentHash);
            if (s.UsedHashes.Count > UsedHashesKept)
            {
                s.UsedHashes.RemoveAt(0);
            }

            s.CurrentHash = SecretHash.Of(next);
            s.ExpiresAt = clock.UtcNow + s.Lifetime;
            await state.WriteStateAsync();
            return new RefreshOutcome(RefreshStatus.Rotated, s.UserId, next);
        }

        if (s.UsedHashes.Any(h => SecretHash.Matches(refreshToken, h)))
        {
            // A used token came back: either the client or a thief holds a copy. End the session for both.
            s.Revoked = true;
            await state.WriteStateAsync();
            return new RefreshOutcome(RefreshStatus.Reused, s.UserId, null);
        }

        return new RefreshOutcome(RefreshStatus.Invalid, null, null);
    }

    public Task<bool> IsActiveAsync() =>
        Task.FromResult(state.State.UserId is not null && !state.State.Revoked && clock.UtcNow < state.State.ExpiresAt);

    public async Task RevokeAsync()
    {
        if (state.State.UserId is null || state.State.Revoked)
        {
            return;
        }

        state.State.Revoked = true;
        await state.WriteStateAsync();
    }

    private string NewToken() => RefreshTokens.Create(this.GetPrimaryKeyString(), Ids.RandomToken(43));
}
