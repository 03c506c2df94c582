namespace ApiPlatform.Grains.ApiKeys;

/// <summary>Persisted state of <see cref="ApiKeyRegistryGrain"/>.</summary>
[GenerateSerializer]
public sealed class ApiKeyRegistryState
{
    /// <summary>Key ids, oldest first, with whether each still counts as active.</summary>
    [Id(0)] public List<ApiKeyEntry> Keys { get; set; } = [];
}

/// <summary>One key of an owner.</summary>
[GenerateSerializer]
public sealed class ApiKeyEntry
{
    [Id(0)] public string Id { get; set; } = "";
    // Default false on purpose: serializers skip default values, so a field initialised to true would come back
    // true after a reload even when it was stored false.
    [Id(1)] public bool Inactive { get; set; }
    [Id(2)] public DateTimeOffset AddedAt { get; set; }
}

/// <inheritdoc cref="IApiKeyRegistryGrain"/>
public sealed class ApiKeyRegistryGrain(
    [PersistentState("apikeys", GrainStorage.Main)] IPersistentState<ApiKeyRegistryState> state,
    IGrainFactory grains,
    ApiClock clock) : Grain, IApiKeyRegistryGrain
{
    /// <summary>How long a reserved place may wait for its key to be created before it is presumed abandoned.</summary>
    public static readonly TimeSpan PendingCreationLifetime = TimeSpan.FromMinutes(2);

    public async Task<bool> TryAddAsync(string keyId, int maxActive)
    {
        var keys = state.State.Keys;
        if (keys.Any(k => k.Id == keyId))
        {
            return true;
        }

        if (keys.Count(k => !k.Inactive) >= maxActive)
        {
            // The active flags can lag (a key expired, or a revoke crashed before telling us), so before refusing,
            // ask the keys themselves. This runs only at the cap, and the cap is small.
            foreach (var entry in keys.Where(k => !k.Inactive).ToList())
            {
                var view = await grains.GetGrain<IApiKeyGrain>(entry.Id).GetAsync();
                if (view is not null)
                {
                    entry.Inactive = view.Status != ApiKeyStatus.Active;
                }
                else if (clock.UtcNow - entry.AddedAt >= PendingCreationLifetime)
                {
                    // Reserved but never created: the creating request died. Free its place for good.
                    keys.Remove(entry);
                }
            }

            if (keys.Count(k => !k.Inactive) >= maxActive)
            {
                await state.WriteStateAsync();
                return false;
            }
        }

        keys.Add(new ApiKeyEntry { Id = keyId, AddedAt = clock.UtcNow });
        await state.WriteStateAsync();
        return true;
    }

    public async Task MarkInactiveAsync(string keyId)
    {
        var entry = state.State.Keys.Find(k => k.Id == keyId);
        if (entry is { Inactive: false })
        {
            entry.Inactive = true;
            await state.WriteStateAsync();
        }
    }

    public async Task RemoveAsync(string keyId)
    {
        if (state.State.Keys.RemoveAll(k => k.Id == keyId) > 0)
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Keys.Select(k => k.Id).Reverse().ToList());
}
