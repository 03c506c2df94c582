namespace ApiPlatform.Grains.ApiKeys;

/// <summary>Persisted state of <see cref="ApiKeyGrain"/>.</summary>
[GenerateSerializer]
public sealed class ApiKeyState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string OwnerId { get; set; } = "";
    [Id(2)] public string CreatedBy { get; set; } = "";
    [Id(3)] public string Name { get; set; } = "";
    [Id(4)] public string Plan { get; set; } = "";
    [Id(5)] public List<string> Scopes { get; set; } = [];
    [Id(6)] public DateTimeOffset? ExpiresAt { get; set; }
    [Id(7)] public string SecretHash { get; set; } = "";
    [Id(8)] public string LastFour { get; set; } = "";
    [Id(9)] public DateTimeOffset CreatedAt { get; set; }
    [Id(10)] public DateTimeOffset? RolledAt { get; set; }
    [Id(11)] public DateTimeOffset? RevokedAt { get; set; }
}

/// <inheritdoc cref="IApiKeyGrain"/>
public sealed class ApiKeyGrain(
    [PersistentState("apikey", GrainStorage.Main)] IPersistentState<ApiKeyState> state,
    ApiClock clock) : Grain, IApiKeyGrain
{
    public async Task<ApiKeyWithSecret?> CreateAsync(NewApiKey request)
    {
        if (state.State.Exists)
        {
            return null;
        }

        var secret = NewSecret();
        state.State = new ApiKeyState
        {
            Exists = true,
            OwnerId = request.OwnerId,
            CreatedBy = request.CreatedBy,
            Name = request.Name,
            Plan = request.Plan,
            Scopes = [.. request.Scopes],
            ExpiresAt = request.ExpiresAt,
            SecretHash = Identity.SecretHash.Of(secret),
            LastFour = secret[^4..],
            CreatedAt = clock.UtcNow,
        };
        await state.WriteStateAsync();
        return new ApiKeyWithSecret(View(), secret);
    }

    public Task<ApiKeyView?> GetAsync() => Task.FromResult(state.State.Exists ? View() : null);

    public Task<ApiKeyCheck> VerifyAsync(string secret)
    {
        var s = state.State;
        if (!s.Exists || !Identity.SecretHash.Matches(secret, s.SecretHash))
        {
            return Task.FromResult(ApiKeyCheck.Of(ApiKeyCheckStatus.Unknown));
        }

        return Task.FromResult(Status() switch
        {
            ApiKeyStatus.Revoked => ApiKeyCheck.Of(ApiKeyCheckStatus.Revoked),
            ApiKeyStatus.Expired => ApiKeyCheck.Of(ApiKeyCheckStatus.Expired),
            _ => new ApiKeyCheck(ApiKeyCheckStatus.Valid, s.OwnerId, s.Plan, s.Scopes),
        });
    }

    public async Task<ApiKeyView?> RevokeAsync()
    {
        if (!state.State.Exists)
        {
            return null;
        }

        if (state.State.RevokedAt is null)
        {
            state.State.RevokedAt = clock.UtcNow;
            await state.WriteStateAsync();
        }

        return View();
    }

    public async Task<RollOutcome> RollAsync()
    {
        if (!state.State.Exists)
        {
            return new RollOutcome(RollStatus.NotFound, null);
        }

        if (state.State.RevokedAt is not null)
        {
            return new RollOutcome(RollStatus.Revoked, null);
        }

        var secret = NewSecret();
        state.State.SecretHash = Identity.SecretHash.Of(secret);
        state.State.LastFour = secret[^4..];
        state.State.RolledAt = clock.UtcNow;
        await state.WriteStateAsync();
        return new RollOutcome(RollStatus.Rolled, new ApiKeyWithSecret(View(), secret));
    }

    private string NewSecret() => ApiKeyTokens.Create(this.GetPrimaryKeyString(), Ids.RandomToken(ApiKeyTokens.SecretLength));

    private string Status() =>
        state.State.RevokedAt is not null ? ApiKeyStatus.Revoked
        : state.State.ExpiresAt is { } expires && clock.UtcNow >= expires ? ApiKeyStatus.Expired
        : ApiKeyStatus.Active;

    private ApiKeyView View()
    {
        var s = state.State;
        return new ApiKeyView(
            this.GetPrimaryKeyString(), s.OwnerId, s.Name, ApiKeyTokens.Prefix, s.LastFour, s.Plan, s.Scopes, s.ExpiresAt,
            Status(), s.CreatedAt, s.RolledAt, s.RevokedAt, s.CreatedBy);
    }
}
