using Microsoft.Extensions.Logging;
using ApiPlatform.Grains.Storage;

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
    // False for keys of older versions too: they follow their owner's plan from now on.
    [Id(12)] public bool PlanPinned { get; set; }
    [Id(13)] public string? CreatedByKey { get; set; }
}

/// <inheritdoc cref="IApiKeyGrain"/>
public sealed class ApiKeyGrain(
    [PersistentState("apikey", GrainStorage.Main)] IPersistentState<ApiKeyState> state,
    ApiClock clock,
    ApiKeyStore rows,
    LocalHolders localHolders,
    ILogger<ApiKeyGrain> logger) : Grain, IApiKeyGrain
{
    /// <summary>How long a revoke or roll waits for one holder to confirm; a silo that does not answer is gone.</summary>
    public static readonly TimeSpan ForgetTimeout = Holders<IApiKeyHolder>.ForgetTimeout;

    // Holders that were given a valid answer by this activation.
    private readonly Holders<IApiKeyHolder> _holders = new((holder, id) => holder.ForgetAsync(id));

    private readonly RowRepair _row = new(logger);

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
            CreatedByKey = request.CreatedByKey,
            Name = request.Name,
            Plan = request.Plan ?? "",
            PlanPinned = request.Plan is not null,
            Scopes = [.. request.Scopes],
            ExpiresAt = request.ExpiresAt,
            SecretHash = SecretHash.Of(secret),
            LastFour = secret[^4..],
            CreatedAt = DbTime.Truncate(clock.UtcNow),
        };
        await state.WriteStateAsync();
        await WriteRowAsync();
        return new ApiKeyWithSecret(View(), secret);
    }

    public Task<ApiKeyView?> GetAsync() => Task.FromResult(state.State.Exists ? View() : null);

    public Task<ApiKeyCheckOutcome> VerifyAsync(string secret, IApiKeyHolder? holder)
    {
        var s = state.State;
        if (!s.Exists)
        {
            // A made-up key: keep no activation (nor its empty state) for it.
            DeactivateOnIdle();
            return Task.FromResult(ApiKeyCheckOutcome.Of(ApiKeyCheckStatus.Missing));
        }

        if (!SecretHash.Matches(secret, s.SecretHash))
        {
            return Task.FromResult(ApiKeyCheckOutcome.Of(ApiKeyCheckStatus.Unknown));
        }

        switch (Status())
        {
            case ApiKeyStatus.Revoked:
                return Task.FromResult(ApiKeyCheckOutcome.Of(ApiKeyCheckStatus.Revoked));
            case ApiKeyStatus.Expired:
                return Task.FromResult(ApiKeyCheckOutcome.Of(ApiKeyCheckStatus.Expired));
        }

        _holders.Add(holder);
        return Task.FromResult(new ApiKeyCheckOutcome(ApiKeyCheckStatus.Valid, s.OwnerId, s.PlanPinned ? s.Plan : null, s.Scopes, s.ExpiresAt, s.CreatedBy));
    }

    /// <summary>
    /// The <c>api_keys</c> row is written after the grain's own state; an activation writes it again, beside its first
    /// calls (<see cref="RowRepair"/>).
    /// </summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken) =>
        _row.Start(state.State.Exists, () => rows.UpsertAsync(View()), this.GetPrimaryKeyString());

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        _row.AfterAsync(() => _holders.ForgetOnDeactivationAsync(this.GetPrimaryKeyString(), reason, localHolders, logger));

    public async Task<ApiKeyView?> RevokeAsync()
    {
        if (!state.State.Exists)
        {
            return null;
        }

        if (state.State.RevokedAt is null)
        {
            state.State.RevokedAt = DbTime.Truncate(clock.UtcNow);
            await state.WriteStateAsync();
            await WriteRowAsync();
        }

        await ForgetEverywhereAsync();
        return View();
    }

    public async Task<ApiKeyRollOutcome> RollAsync()
    {
        if (!state.State.Exists)
        {
            return new ApiKeyRollOutcome(ApiKeyRollStatus.NotFound, null);
        }

        if (state.State.RevokedAt is not null)
        {
            return new ApiKeyRollOutcome(ApiKeyRollStatus.Revoked, null);
        }

        var secret = NewSecret();
        state.State.SecretHash = SecretHash.Of(secret);
        state.State.LastFour = secret[^4..];
        state.State.RolledAt = DbTime.Truncate(clock.UtcNow);
        await state.WriteStateAsync();
        await WriteRowAsync();
        await ForgetEverywhereAsync();
        return new ApiKeyRollOutcome(ApiKeyRollStatus.Rolled, new ApiKeyWithSecret(View(), secret));
    }

    private Task WriteRowAsync() => _row.AfterAsync(() => rows.UpsertAsync(View()));

    /// <summary>Tells every holder to forget this key and waits for them.</summary>
    private Task ForgetEverywhereAsync() => _holders.ForgetEverywhereAsync(this.GetPrimaryKeyString(), logger);

    private string NewSecret() => ApiKeyTokens.Create(this.GetPrimaryKeyString(), Ids.RandomToken(ApiKeyTokens.SecretLength));

    private string Status() =>
        state.State.RevokedAt is not null ? ApiKeyStatus.Revoked
        : state.State.ExpiresAt is { } expires && clock.UtcNow >= expires ? ApiKeyStatus.Expired
        : ApiKeyStatus.Active;

    private ApiKeyView View()
    {
        var s = state.State;
        return new ApiKeyView(
            this.GetPrimaryKeyString(), s.OwnerId, s.Name, ApiKeyTokens.Prefix, s.LastFour, s.PlanPinned ? s.Plan : "", s.Scopes, s.ExpiresAt,
            Status(), s.CreatedAt, s.RolledAt, s.RevokedAt, s.CreatedBy, s.CreatedByKey);
    }
}
